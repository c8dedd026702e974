export {
  type LaunchOptions,
  type LaunchResult,
  type MpirunOptions,
  mpirun,
  type SrunOptions,
  srun,
} from './launchers.js';
export { checkSameOnAllRanks, shareOf } from './share.js';
export { allreduceRows, type RowsReduced } from './sparse.js';
export {
  ADDON_PATH,
  type Collective,
  joinWorld,
  LAUNCHER_VARIABLES,
  launcherVariable,
  type ReducibleArray,
  SOLO,
  world,
} from './world.js';
