import { createRequire } from 'node:module';

/** Arrays a collective moves in place. */
export type ReducibleArray = Float32Array | Float64Array | Int32Array;

/**
 * The processes of one data-parallel job (Horovod's and DDP's semantics): each knows its rank
 * and the world size, and every rank must make the same collective calls in the same order.
 */
export interface Collective {
  readonly rank: number;
  readonly size: number;
  /** Host name (MPI_Get_processor_name; os.hostname() alone). */
  readonly host: string;
  /** Which MPI ran it (e.g. "Open MPI v4.1.4"); null for a world of one without MPI. */
  readonly library: string | null;
  /** Element-wise reduction over ranks, in place on every rank. */
  allreduce(array: ReducibleArray, op?: 'sum' | 'max' | 'min'): void;
  /** Root's array on every rank, in place (the arrays must have the same length). */
  broadcast(array: ReducibleArray | Uint8Array, root?: number): void;
  /** Every rank's array end to end, rank 0's first, with each rank's length. */
  allgather<T extends Float32Array | Int32Array>(array: T): { data: T; counts: Int32Array };
  barrier(): void;
}

/** Environment variables by which MPI launchers tell a process its world size. */
export const LAUNCHER_VARIABLES = [
  'OMPI_COMM_WORLD_SIZE', // Open MPI's mpirun
  'PMI_SIZE', // MPICH's mpiexec (Hydra), Slurm's srun --mpi=pmi2
  'PMIX_RANK', // PMIx: Slurm's srun --mpi=pmix, Open MPI 5
] as const;

/** The launcher variable set in `env`, or null when no launcher started this process. */
export function launcherVariable(env: NodeJS.ProcessEnv = process.env): string | null {
  return LAUNCHER_VARIABLES.find((name) => env[name] !== undefined) ?? null;
}

/**
 * Refuses a task of a Slurm step of several tasks that srun started without a process-management
 * interface (`--mpi=none`, Slurm's default): its tasks cannot find each other, so each would
 * train the whole job alone and every one would write the same run. srun sets
 * SLURM_STEP_NUM_TASKS in each task it starts (not in a batch script itself).
 */
function checkSlurmStep(env: NodeJS.ProcessEnv): void {
  const tasks = Number(env.SLURM_STEP_NUM_TASKS ?? 1);
  if (tasks > 1)
    throw new Error(
      `srun started this process as task ${env.SLURM_PROCID ?? '?'} of a ${tasks}-task step without MPI (no PMIx or PMI variables): run \`srun --mpi=pmix …\` so the tasks join one MPI job (see \`srun --mpi=list\`)`,
    );
}

/** A world of one process: every collective is the identity. MPI is never loaded. */
export const SOLO: Collective = {
  rank: 0,
  size: 1,
  host: '',
  library: null,
  allreduce() {},
  broadcast() {},
  allgather<T extends Float32Array | Int32Array>(array: T) {
    return { data: array.slice() as T, counts: Int32Array.of(array.length) };
  },
  barrier() {},
};

interface MpiAddon {
  init(): { rank: number; size: number; host: string; library: string };
  allreduce(array: ReducibleArray, op: 'sum' | 'max' | 'min'): void;
  broadcast(array: ReducibleArray | Uint8Array, root: number): void;
  allgather(array: Float32Array | Int32Array): {
    data: Float32Array | Int32Array;
    counts: Int32Array;
  };
  barrier(): void;
  abort(code: number): void;
  finalize(): void;
}

/** Where the addon is built (src/ and dist/ both sit one level below the package root). */
export const ADDON_PATH = new URL('../build/Release/urgate_mpi.node', import.meta.url).pathname;

function loadAddon(variable: string, path: string): MpiAddon {
  try {
    return createRequire(import.meta.url)(path) as MpiAddon;
  } catch (e) {
    throw new Error(
      `started by an MPI launcher (${variable} is set) but the MPI binding cannot be loaded: ${path} (${(e as Error).message.split('\n')[0]}); build it with \`npm run build:native -w @urgate/mpi\` after installing Open MPI (tools/setup.sh)`,
    );
  }
}

function mpiWorld(addon: MpiAddon): Collective {
  const { rank, size, host, library } = addon.init();
  // A rank that ends normally finalizes; one that ends with an error aborts the whole job, so
  // no other rank waits forever in a collective for it.
  process.on('exit', (code) => {
    if (code === 0) addon.finalize();
    else addon.abort(code);
  });
  return {
    rank,
    size,
    host,
    library,
    allreduce: (array, op = 'sum') => addon.allreduce(array, op),
    broadcast: (array, root = 0) => addon.broadcast(array, root),
    allgather: <T extends Float32Array | Int32Array>(array: T) =>
      addon.allgather(array) as { data: T; counts: Int32Array },
    barrier: () => addon.barrier(),
  };
}

/**
 * The world `env` describes: under an MPI launcher (mpirun, mpiexec, srun --mpi=pmix) the
 * launched job, with MPI initialised from the binding at `addonPath`; otherwise the world of one,
 * and MPI is never loaded. A launched process without the binding gets one line saying how to
 * build it; a task of a multi-task srun step without MPI, one line saying to add --mpi=pmix.
 */
export function joinWorld(env: NodeJS.ProcessEnv, addonPath = ADDON_PATH): Collective {
  const variable = launcherVariable(env);
  if (variable !== null) return mpiWorld(loadAddon(variable, addonPath));
  checkSlurmStep(env);
  return SOLO;
}

let joined: Collective | undefined;

/** This process's world (joinWorld of its environment, once: MPI is initialised once). */
export function world(): Collective {
  joined ??= joinWorld(process.env);
  return joined;
}
