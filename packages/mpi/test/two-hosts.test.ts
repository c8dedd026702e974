// Two "hosts" in two network namespaces joined by a veth pair (tools/mpi-two-hosts.sh): one job
// with a rank in each, so the allreduce crosses TCP, checked sums and all; the namespaces are
// gone afterwards. Needs root and a built repository (the script runs the built binding).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ADDON_PATH } from '../src/index.js';

const script = fileURLToPath(new URL('../../../tools/mpi-two-hosts.sh', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const canMakeNamespaces =
  process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;

describe.skipIf(!canMakeNamespaces || !existsSync(ADDON_PATH) || !existsSync(dist))(
  'two hosts in network namespaces',
  () => {
    it('a rank on each host sums over TCP, and the hosts are removed after', () => {
      const before = namespaces();
      const r = spawnSync('bash', [script, '--probe-only'], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^2 ranks on host1, host2 \(Open MPI/m);
      // the probe throws unless every size summed right; all three sizes were reported
      for (const bytes of [4096, 4194304, 67108864])
        expect(r.stdout).toMatch(new RegExp(`^\\| ${bytes} \\| [\\d.]+ \\| [\\d.]+ \\|$`, 'm'));
      expect(namespaces()).toBe(before);
    });
  },
);
