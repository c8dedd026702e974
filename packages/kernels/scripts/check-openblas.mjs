// Fails the native build early, with one actionable line, when OpenBLAS (its
// cblas.h and libopenblas) cannot be compiled against.
import { spawnSync } from 'node:child_process';

const probe = '#include <cblas.h>\nint main() { openblas_set_num_threads(1); return 0; }\n';
const cxx = process.env.CXX || 'c++';
const r = spawnSync(cxx, ['-x', 'c++', '-', '-lopenblas', '-o', '/dev/null'], {
  input: probe,
  encoding: 'utf8',
});
if (r.error || r.status !== 0) {
  console.error(
    '@urgate/kernels: OpenBLAS headers/library not found — install them with: sudo apt-get install libopenblas-dev',
  );
  process.exit(1);
}
