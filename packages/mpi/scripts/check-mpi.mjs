// Fails the MPI binding's build early, with one actionable line, when Open MPI's C compiler
// wrapper (whose --showme flags binding.gyp reads) is not installed.
import { spawnSync } from 'node:child_process';

const r = spawnSync('mpicc', ['--showme:compile'], { encoding: 'utf8' });
if (r.error || r.status !== 0) {
  console.error(
    "@urgate/mpi: Open MPI's mpicc not found — install it with: sudo apt-get install openmpi-bin libopenmpi-dev (tools/setup.sh does)",
  );
  process.exit(1);
}
