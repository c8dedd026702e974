#include "dense.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "blas.h"
#include "simd.h"

namespace urgate {

URGATE_VECTOR_LOOP void DenseForward(const float* x, const float* W, const float* b, int M, int K, int N, bool relu, float* y) {
  for (int r = 0; r < M; ++r) std::memcpy(y + static_cast<size_t>(r) * N, b, sizeof(float) * N);
  Gemm(false, false, M, N, K, 1.0f, x, K, W, N, 1.0f, y, N);
  if (relu)
    for (size_t k = 0; k < static_cast<size_t>(M) * N; ++k) y[k] = y[k] > 0 ? y[k] : 0.0f;
}

URGATE_VECTOR_LOOP void DenseBackward(const float* x, const float* W, const float* y, const float* dy_in, int M, int K, int N,
                   bool relu, float* dx, float* dW, float* db) {
  const size_t size = static_cast<size_t>(M) * N;
  std::vector<float> masked(relu ? size : 0);
  for (size_t k = 0; k < masked.size(); ++k) masked[k] = y[k] > 0 ? dy_in[k] : 0.0f;
  const float* dy = relu ? masked.data() : dy_in;
  std::fill(db, db + N, 0.0f);
  for (int r = 0; r < M; ++r) {
    const float* __restrict row = dy + static_cast<size_t>(r) * N;
    for (int j = 0; j < N; ++j) db[j] += row[j];
  }
  Gemm(false, true, M, K, N, 1.0f, dy, N, W, N, 0.0f, dx, K);
  Gemm(true, false, K, N, M, 1.0f, x, K, dy, N, 0.0f, dW, N);
}

}  // namespace urgate
