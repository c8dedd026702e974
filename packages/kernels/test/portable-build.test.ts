// The addon is portable across CPUs of its architecture: built for the x86-64
// baseline, with AVX2/FMA only inside the x86-64-v3 clones and AVX-512 only inside
// the x86-64-v4 clones that the loader picks on CPUs that have them (csrc/simd.h).
// Checked on the built binary's disassembly, and against the CPU's own flags in
// /proc/cpuinfo.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch } from 'node:os';
import { describe, expect, it } from 'vitest';
import { native, nativeAvailable, nativeLoadError } from '../src/native.js';

const addon = new URL('../build/Release/urgate_kernels.node', import.meta.url).pathname;
// Set by scripts/build-baseline.sh, which builds without the clones.
const baselineOnly = process.env.URGATE_BASELINE_ONLY === '1';
const objdump = spawnSync('objdump', ['--version']).status === 0;
const x64 = arch() === 'x64';

/** Instructions that a baseline (SSE2) x86-64 CPU cannot run, by function. */
function avxUseByFunction(): Map<string, number> {
  const r = spawnSync('objdump', ['-d', '--no-show-raw-insn', addon], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  expect(r.status, r.stderr).toBe(0);
  const uses = new Map<string, number>();
  let fn = '';
  for (const line of r.stdout.split('\n')) {
    const head = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (head) fn = head[1] ?? '';
    // VEX-encoded (v-prefixed) instructions: AVX, AVX2, FMA; ymm: 256-bit registers.
    else if (/\t(v[a-z0-9]+)\s|%ymm/.test(line)) uses.set(fn, (uses.get(fn) ?? 0) + 1);
  }
  return uses;
}

describe.skipIf(!nativeAvailable || !x64 || !objdump)(
  `x86-64 portable build${nativeAvailable ? '' : ` (skipped: ${nativeLoadError})`}`,
  () => {
    it('runs AVX/FMA/AVX-512 instructions only inside the x86-64-v3 and x86-64-v4 clones', () => {
      const uses = avxUseByFunction();
      const isClone = (fn: string) =>
        fn.endsWith('.arch_x86_64_v3') || fn.endsWith('.arch_x86_64_v4');
      const outside = [...uses.keys()].filter((fn) => !isClone(fn));
      expect(outside).toEqual([]);
      const clones = [...uses.keys()].filter((fn) => fn.endsWith('.arch_x86_64_v3'));
      const avx512 = [...uses.keys()].filter((fn) => fn.endsWith('.arch_x86_64_v4'));
      if (baselineOnly) expect([...clones, ...avx512]).toEqual([]);
      else {
        // the gate activations, the cell loops, softmax cross-entropy and Adam at least
        expect(clones.length).toBeGreaterThanOrEqual(20);
        // the packed recurrent products (csrc/packed_gemm.cc)
        expect(avx512.some((fn) => fn.includes('PanelProducts'))).toBe(true);
      }
    });

    it('reports the path this CPU takes', () => {
      const flags =
        /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(' ') ?? [];
      const v3 = !baselineOnly && flags.includes('avx2') && flags.includes('fma');
      expect(native?.vectorPath).toBe(v3 ? 'x86-64-v3 (avx2, fma)' : 'x86-64 baseline (sse2)');
    });
  },
);
