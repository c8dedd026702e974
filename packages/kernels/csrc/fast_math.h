// Elementwise functions written so that g++ -O3 vectorises the loops that call
// them (with AVX2 + FMA in the x86-64-v3 clones of simd.h, SSE2 or NEON
// otherwise): no libm calls (which would not vectorise without -ffast-math),
// no branches.
#pragma once

#include <cmath>
#include <cstdint>

namespace urgate {

// exp(x) by Cephes' expf scheme (range reduction to |r| <= ln2/2 and a degree-6
// polynomial): relative error about 2 ulp over the clamped range.
inline float Exp(float x) {
  // ternaries, not std::fmin/fmax: those keep NaN semantics and stay libm calls
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * __builtin_bit_cast(float, bits);  // 2^n
}

inline float Sigmoid(float x) { return 1.0f / (1.0f + Exp(-x)); }

// tanh(x) = sign(x) (1 - e^{-2|x|}) / (1 + e^{-2|x|}): never overflows.
inline float Tanh(float x) {
  const float e = Exp(-2.0f * std::fabs(x));
  return std::copysign((1.0f - e) / (1.0f + e), x);
}

}  // namespace urgate
