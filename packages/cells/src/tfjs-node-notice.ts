import * as tf from '@tensorflow/tfjs';

// tfjs's cpu backend prints "install our node backend (tfjs-node)" on the first tensor it stores
// in Node.js. urgate runs its hot paths on its own native kernels (@urgate/kernels), so the
// notice is noise in every command's output; marking the backend as used skips only it.
// (engine().backend initialises the backend tfjs will use; findBackend would make a copy that
// the engine later replaces.)
const backend = tf.engine().backend as unknown as { firstUse?: boolean };
if (tf.getBackend() === 'cpu' && 'firstUse' in backend) backend.firstUse = false;
