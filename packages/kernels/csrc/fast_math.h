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

// Row reductions of the softmax passes in explicit vector lanes (GCC/Clang vector extensions:
// AVX2 registers in the x86-64-v3 clones, pairs of SSE2 or NEON registers otherwise). A single
// running max or sum is a chain of dependent scalar operations that the compiler may not
// reassociate, so it never vectorises (the profile of the LM step at the demo shape had the
// softmax's scalar max and sum as 60% of its loop). Always inlined, so that they are compiled for
// the caller's URGATE_VECTOR_LOOP clone.
using Floats8 = float __attribute__((vector_size(32)));
using Doubles4 = double __attribute__((vector_size(32)));
using Floats4 = float __attribute__((vector_size(16)));

// v = x[0, 8) (by reference: a 32-byte vector returned by value warns of the ABI without AVX)
__attribute__((always_inline)) inline void Load8(const float* x, Floats8& v) { __builtin_memcpy(&v, x, sizeof v); }

// max of x[0, n), n >= 1 (equal to the sequential max: a maximum does not depend on the order).
__attribute__((always_inline)) inline float RowMax(const float* __restrict x, int n) {
  float m = x[0];
  int j = 0;
  if (n >= 8) {
    Floats8 lanes, v;
    Load8(x, lanes);
    for (j = 8; j + 8 <= n; j += 8) {
      Load8(x + j, v);
      lanes = v > lanes ? v : lanes;
    }
    for (int k = 0; k < 8; ++k) m = lanes[k] > m ? lanes[k] : m;
  }
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// x[0, n) += b[0, n), returning the max of the new row (the output layer's bias, added in the
// softmax's first pass over a row instead of copied under every row before the logits' GEMM).
__attribute__((always_inline)) inline float AddRowMax(float* __restrict x, const float* __restrict b, int n) {
  float m;
  int j;
  if (n >= 8) {
    Floats8 lanes, v, w;
    Load8(x, lanes);
    Load8(b, w);
    lanes += w;
    __builtin_memcpy(x, &lanes, sizeof lanes);
    for (j = 8; j + 8 <= n; j += 8) {
      Load8(x + j, v);
      Load8(b + j, w);
      v += w;
      __builtin_memcpy(x + j, &v, sizeof v);
      lanes = v > lanes ? v : lanes;
    }
    m = lanes[0];
    for (int k = 1; k < 8; ++k) m = lanes[k] > m ? lanes[k] : m;
  } else {
    x[0] += b[0];
    m = x[0];
    j = 1;
  }
  for (; j < n; ++j) {
    x[j] += b[j];
    m = x[j] > m ? x[j] : m;
  }
  return m;
}

// Σ x[0, n) in 32 float lanes (four independent vector sums hide the add latency).
__attribute__((always_inline)) inline float RowSum(const float* __restrict x, int n) {
  Floats8 a = {}, b = {}, c = {}, d = {}, v;
  int j = 0;
  for (; j + 32 <= n; j += 32) {
    Load8(x + j, v);
    a += v;
    Load8(x + j + 8, v);
    b += v;
    Load8(x + j + 16, v);
    c += v;
    Load8(x + j + 24, v);
    d += v;
  }
  const Floats8 lanes = (a + b) + (c + d);
  float sum = 0;
  for (; j < n; ++j) sum += x[j];
  for (int k = 0; k < 8; ++k) sum += lanes[k];
  return sum;
}

// Σ x[0, n) accumulated in double lanes (the adaptive softmax's sums).
__attribute__((always_inline)) inline double RowSumDouble(const float* __restrict x, int n) {
  Doubles4 a = {}, b = {};
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    Floats4 lo, hi;
    __builtin_memcpy(&lo, x + j, sizeof lo);
    __builtin_memcpy(&hi, x + j + 4, sizeof hi);
    a += __builtin_convertvector(lo, Doubles4);
    b += __builtin_convertvector(hi, Doubles4);
  }
  const Doubles4 lanes = a + b;
  double sum = 0;
  for (; j < n; ++j) sum += x[j];
  for (int k = 0; k < 4; ++k) sum += lanes[k];
  return sum;
}

// x[j] = exp(x[j] - shift) in place (a loop without a reduction: it vectorises as it is).
__attribute__((always_inline)) inline void ExpShifted(float* __restrict x, int n, float shift) {
  for (int j = 0; j < n; ++j) x[j] = Exp(x[j] - shift);
}

}  // namespace urgate
