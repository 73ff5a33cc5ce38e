import { existsSync, mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONTRACT_DIR } from '@shop/kit/testing';
import { contractDrift, MASTER_CONTRACT_DIR } from '../../scripts/sync-contract';

describe("the repository's copy of the storefront contract", () => {
  it('holds both operation files and the README, so a clone stands alone', () => {
    for (const file of ['README.md', 'storefront.graphql', 'admin.graphql'])
      expect({ file, exists: existsSync(path.join(CONTRACT_DIR, file)) }).toEqual({ file, exists: true });
  });

  it('equals the master copy beside the repository when there is one (else: npm run sync-contract)', () => {
    const drift = contractDrift();
    if (drift === null) {
      // A clone on its own: nothing to compare with, and the copy is the contract.
      expect(existsSync(MASTER_CONTRACT_DIR)).toBe(false);
      return;
    }
    expect(drift).toEqual([]);
  });

  it('reports a changed, a missing and an extra file as drift', () => {
    const master = mkdtempSync(path.join(os.tmpdir(), 'contract-master-'));
    const copy = mkdtempSync(path.join(os.tmpdir(), 'contract-copy-'));
    cpSync(CONTRACT_DIR, master, { recursive: true });
    cpSync(CONTRACT_DIR, copy, { recursive: true });
    expect(contractDrift(master, copy)).toEqual([]);
    writeFileSync(path.join(master, 'storefront.graphql'), '# changed upstream\n');
    writeFileSync(path.join(master, 'new.graphql'), 'query New { __typename }\n');
    writeFileSync(path.join(copy, 'local-only.graphql'), 'query Local { __typename }\n');
    expect(contractDrift(master, copy)).toEqual(['local-only.graphql', 'new.graphql', 'storefront.graphql']);
    expect(contractDrift(path.join(master, 'absent'), copy)).toBeNull();
  });
});
