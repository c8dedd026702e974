export { type MpirunOptions, type MpirunResult, mpirun } from './mpirun.js';
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
