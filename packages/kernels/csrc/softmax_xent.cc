#include "softmax_xent.h"

#include <cmath>
#include <vector>

#include "fast_math.h"
#include "parallel.h"
#include "simd.h"

namespace urgate {

double SoftmaxCrossEntropy(const float* logits, const int32_t* targets, int N, int V, float* d_logits) {
  std::vector<double> partial(NumThreads(), 0.0);
  const float inv_n = 1.0f / static_cast<float>(N);
  ParallelFor(N, 16, [&](size_t lo, size_t hi, int worker) URGATE_VECTOR_LOOP {
    double loss = 0;
    for (size_t r = lo; r < hi; ++r) {
      const float* __restrict x = logits + r * V;
      float* __restrict g = d_logits + r * V;
      const float mx = RowMax(x, V);
      for (int j = 0; j < V; ++j) g[j] = Exp(x[j] - mx);
      const float sum = RowSum(g, V);
      const float scale = inv_n / sum;
      for (int j = 0; j < V; ++j) g[j] *= scale;
      const int y = targets[r];
      g[y] -= inv_n;
      loss += std::log(static_cast<double>(sum)) + mx - x[y];
    }
    partial[worker] = loss;
  });
  double total = 0;
  for (double p : partial) total += p;
  return total / N;
}

}  // namespace urgate
