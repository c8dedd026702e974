#include "adam.h"

#include <cmath>
#include <vector>

#include "parallel.h"
#include "simd.h"

namespace urgate {

double AdamStep(const ParamBuffer* buffers, size_t count, const AdamOptions& opt) {
  double sq = 0;
  for (size_t k = 0; k < count; ++k) {
    const ParamBuffer& p = buffers[k];
    std::vector<double> partial(NumThreads(), 0.0);
    ParallelFor(p.size, 1 << 16, [&](size_t lo, size_t hi, int worker) URGATE_VECTOR_LOOP {
      double s = 0;
      for (size_t j = lo; j < hi; ++j) s += static_cast<double>(p.grad[j]) * p.grad[j];
      partial[worker] = s;
    });
    for (double s : partial) sq += s;
  }
  const double norm = std::sqrt(sq);
  const float scale = (opt.clip_norm > 0 && norm > opt.clip_norm) ? static_cast<float>(opt.clip_norm / norm) : 1.0f;
  const float b1 = opt.beta1, b2 = opt.beta2;
  const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b1), opt.step)));
  const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b2), opt.step)));
  const float lr = opt.lr, eps = opt.eps;
  for (size_t k = 0; k < count; ++k) {
    const ParamBuffer& p = buffers[k];
    ParallelFor(p.size, 1 << 16, [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
      float* __restrict w = p.param;
      const float* __restrict g = p.grad;
      float* __restrict m = p.m;
      float* __restrict v = p.v;
      for (size_t j = lo; j < hi; ++j) {
        const float gj = g[j] * scale;
        m[j] = b1 * m[j] + (1.0f - b1) * gj;
        v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
        w[j] -= lr * (m[j] * c1) / (std::sqrt(v[j] * c2) + eps);
      }
    });
  }
  return norm;
}

}  // namespace urgate
