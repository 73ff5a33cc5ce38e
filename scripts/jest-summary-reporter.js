// Appends each Jest run's totals to $JEST_SUMMARY_FILE so `npm test` can print one line for
// the whole monorepo ("N passed, N failed") after turbo has run every workspace.
const { appendFileSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.JEST_SUMMARY_FILE;
    if (!file) return;
    const line = {
      cwd: process.cwd(),
      passed: results.numPassedTests,
      failed: results.numFailedTests,
      skipped: results.numPendingTests + results.numTodoTests,
      suitesFailed: results.numFailedTestSuites + (results.numRuntimeErrorTestSuites ?? 0),
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  }
}
module.exports = SummaryReporter;
