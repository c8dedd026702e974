// A dense layer y = act(x W + b) with its backward pass, for the task models'
// heads: GEMMs with transpose flags and the bias reduction in one pass.
#pragma once

namespace urgate {

// x [M, K], W [K, N], b [N] -> y [M, N]; relu: y = max(0, .).
void DenseForward(const float* x, const float* W, const float* b, int M, int K, int N, bool relu, float* y);

// dy [M, N] -> dx [M, K], dW [K, N], db [N].
void DenseBackward(const float* x, const float* W, const float* y, const float* dy, int M, int K, int N, bool relu,
                   float* dx, float* dW, float* db);

}  // namespace urgate
