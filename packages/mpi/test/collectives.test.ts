// The MPI binding under Open MPI's mpirun with 2 and 3 ranks (oversubscribed) against sums
// computed here, and the world of one without a launcher (MPI never loaded).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fromSource } from '@urgate/source-hooks';
import { describe, expect, it } from 'vitest';
import { joinWorld, mpirun, SOLO, world } from '../src/index.js';

const worker = fileURLToPath(new URL('./collectives-worker.ts', import.meta.url));
const node = [process.execPath, ...fromSource];

describe('a world of one (no launcher)', () => {
  it('is rank 0 of 1, and MPI is never loaded', () => {
    expect(world()).toBe(SOLO);
    const script = `import('${new URL('../src/index.ts', import.meta.url).href}').then((m) => {
      const w = m.world();
      const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
      console.log(JSON.stringify({ rank: w.rank, size: w.size, libmpi: maps.includes('libmpi') }));
    })`;
    const env = { ...process.env };
    for (const name of ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'PMIX_RANK']) delete env[name];
    const r = spawnSync(process.execPath, [...node.slice(1), '-e', script], {
      encoding: 'utf8',
      env,
    });
    expect(JSON.parse(r.stdout)).toEqual({ rank: 0, size: 1, libmpi: false });
  });

  it('started by a launcher without the binding: one line saying how to build it', () => {
    expect(() => joinWorld({ PMI_SIZE: '2' }, '/nonexistent/urgate_mpi.node')).toThrow(
      /^started by an MPI launcher \(PMI_SIZE is set\) but the MPI binding cannot be loaded: \/nonexistent\/urgate_mpi\.node .*npm run build:native -w @urgate\/mpi/,
    );
  });
});

describe('collectives under mpirun', () => {
  it.each([2, 3])(
    'on %i ranks: allreduce, broadcast, allgather, row-sparse reduce, agreement',
    async (np) => {
      const r = await mpirun({ np, command: [...node, worker], deadlineMs: 60_000 });
      expect(r.timedOut).toBe(false);
      expect(r.code, r.err).toBe(0);
      const lines = r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .sort((a, b) => a.rank - b.rank);
      expect(lines.map((l) => l.rank)).toEqual([...Array(np).keys()]);
      const sum = (f: (r: number) => number) =>
        Array.from({ length: np }, (_, r) => f(r)).reduce((a, b) => a + b);
      const n = 2 ** 24 + 5;
      for (const line of lines) {
        expect(line.size).toBe(np);
        expect(line.collectives).toEqual({
          big: [0, 6, 2 ** 24 - 1, 2 ** 24, n - 1].map((k) => sum((r) => r + (k % 7))),
          f64: [sum((r) => 0.1 * (r + 1)), sum((r) => -r)],
          max: [(np - 1) * 10, 0],
          min: [0, -(np - 1)],
          bytes: [0, 1, 2, 3, 4].map((k) => (np - 1) * 16 + k),
          gathered: Array.from({ length: np }, (_, r) => Array(r + 1).fill(r)).flat(),
          counts: Array.from({ length: np }, (_, r) => r + 1),
        });
        // The embedding-gradient reduce: gathered rows when fewer bytes, else dense; either way
        // the sum in rank order, bit for bit (MPI's dense sum of 3 terms may associate them
        // differently; 2 terms commute exactly).
        expect(line.fewRows).toMatchObject({ sparse: true, equalsRankOrder: true });
        if (np === 2) expect(line.fewRows.equalsDense).toBe(true);
        expect(line.allRows).toMatchObject({
          sparse: false,
          equalsRankOrder: true,
          equalsDense: true,
        });
        expect(line.agree).toBe(
          `the test settings differ between ranks: rank ${np - 1} of ${np} disagrees with rank 0 (every rank needs the same settings and the same prepared files)`,
        );
      }
    },
  );
});
