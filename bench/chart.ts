/** Redraws the chart of a result file: `npx tsx bench/chart.ts bench/results/latest.json [out.svg]`. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { catalogChart } from './lib/chart';

const [input = path.join(__dirname, 'results', 'latest.json'), output = path.join(__dirname, 'results', 'chart.svg')] = process.argv.slice(2);
writeFileSync(output, catalogChart(JSON.parse(readFileSync(input, 'utf8'))));
process.stdout.write(`${output}\n`);
