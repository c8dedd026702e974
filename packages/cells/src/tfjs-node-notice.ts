import * as tf from '@tensorflow/tfjs';

// tfjs's cpu backend prints "install our node backend (tfjs-node)" on the first tensor it stores
// in Node.js. urgate runs its hot paths on its own native kernels (@urgate/kernels), so the
// notice is noise in every command's output. Production mode (public API) silences tfjs's
// console warnings, this notice among them; urgate reports its own errors.
tf.enableProdMode();
