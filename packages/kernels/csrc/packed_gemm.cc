#include "packed_gemm.h"

#include <algorithm>
#include <cstring>

#include "blas.h"
#include "parallel.h"
#include "simd.h"

namespace urgate {
namespace {
#if URGATE_HAS_AVX512_LOOP  // the kernel exists only where its AVX-512 clone can be built

// Smaller weights (under 256 KB, e.g. H < 128) stay on OpenBLAS: packing them every step costs
// little, and small models keep OpenBLAS's arithmetic bit for bit (test fixtures written before
// the packed products resume exactly).
constexpr size_t kMinPacked = size_t{1} << 16;

// A tile is 8 rows of C by one panel of 48 columns: 24 accumulators of 16 floats (AVX-512 has 32
// registers), three panel loads and eight broadcasts for 24 fused multiply-adds per k.
constexpr int kRows = 8;
constexpr int kPanel = 48;
constexpr int kDepth = 256;  // k per pass: the panel's slice (48 KB) and A's rows stay in L1/L2

using Floats16 = float __attribute__((vector_size(64)));

// c[rows x cols] += a[8 x kc] · p[kc x 48] (p: a panel's k-slice; rows of a past `rows` are zeros).
__attribute__((always_inline)) inline void Tile(int kc, const float* __restrict a, int lda,
                                                const float* __restrict p, float* __restrict c, int ldc, int rows,
                                                int cols) {
  Floats16 acc[kRows][3] = {};
  for (int k = 0; k < kc; ++k) {
    Floats16 b0, b1, b2;
    __builtin_memcpy(&b0, p + k * kPanel, sizeof b0);
    __builtin_memcpy(&b1, p + k * kPanel + 16, sizeof b1);
    __builtin_memcpy(&b2, p + k * kPanel + 32, sizeof b2);
#pragma GCC unroll 8
    for (int m = 0; m < kRows; ++m) {
      const float am = a[m * lda + k];
      acc[m][0] += am * b0;
      acc[m][1] += am * b1;
      acc[m][2] += am * b2;
    }
  }
  for (int m = 0; m < rows; ++m) {
    float* row = c + static_cast<size_t>(m) * ldc;
    for (int v = 0; v < 3; ++v) {
      float* at = row + 16 * v;
      const int n = std::min(16, cols - 16 * v);
      if (n == 16) {
        Floats16 x;
        __builtin_memcpy(&x, at, sizeof x);
        x += acc[m][v];
        __builtin_memcpy(at, &x, sizeof x);
      } else {
        for (int j = 0; j < n; ++j) at[j] += acc[m][v][j];
      }
    }
  }
}

// C[M x N] += A · op(B) over the panels [g0, g1). Only the AVX-512 clone runs (AvxFiveTwelve()).
URGATE_AVX512_LOOP void PanelProducts(int M, int K, int N, const float* A, int lda, const float* panels, int g0,
                                      int g1, float* C, int ldc) {
  float pad[kRows * kDepth];  // the last rows of A when M is not a multiple of 8, zero-padded
  for (int k0 = 0; k0 < K; k0 += kDepth) {
    const int kc = std::min(kDepth, K - k0);
    const int tail = M % kRows;
    if (tail) {
      std::fill(pad, pad + kRows * kDepth, 0.0f);
      for (int m = 0; m < tail; ++m)
        std::memcpy(pad + m * kDepth, A + static_cast<size_t>(M - tail + m) * lda + k0, sizeof(float) * kc);
    }
    for (int g = g0; g < g1; ++g) {
      const float* p = panels + (static_cast<size_t>(g) * K + k0) * kPanel;
      const int cols = std::min(kPanel, N - g * kPanel);
      for (int m0 = 0; m0 < M; m0 += kRows) {
        const int rows = std::min(kRows, M - m0);
        float* c = C + static_cast<size_t>(m0) * ldc + g * kPanel;
        if (rows == kRows) Tile(kc, A + static_cast<size_t>(m0) * lda + k0, lda, p, c, ldc, rows, cols);
        else Tile(kc, pad, kDepth, p, c, ldc, rows, cols);
      }
    }
  }
}

#endif  // URGATE_HAS_AVX512_LOOP

}  // namespace

PackedWeight::PackedWeight(bool trans, int K, int N, const float* B, int ldb)
    : trans_(trans), K_(K), N_(N), B_(B), ldb_(ldb) {
#if URGATE_HAS_AVX512_LOOP
  if (!AvxFiveTwelve() || static_cast<size_t>(K) * N < kMinPacked) return;
  const int groups = (N + kPanel - 1) / kPanel;
  panels_.assign(static_cast<size_t>(groups) * K * kPanel, 0.0f);
  ParallelFor(groups, 8, [&](size_t lo, size_t hi, int) {
    for (size_t g = lo; g < hi; ++g) {
      float* p = panels_.data() + g * K * kPanel;
      const int n0 = static_cast<int>(g) * kPanel, cols = std::min(kPanel, N - n0);
      if (trans)  // op(B)[k][n] = B[n][k]: row n of B is column n of the panel
        for (int c = 0; c < cols; ++c) {
          const float* from = B + static_cast<size_t>(n0 + c) * ldb;
          for (int k = 0; k < K; ++k) p[static_cast<size_t>(k) * kPanel + c] = from[k];
        }
      else
        for (int k = 0; k < K; ++k)
          std::memcpy(p + static_cast<size_t>(k) * kPanel, B + static_cast<size_t>(k) * ldb + n0, sizeof(float) * cols);
    }
  });
#endif
}

void PackedWeight::MultiplyAdd(int M, const float* A, int lda, float* C, int ldc) const {
  if (M == 0 || N_ == 0) return;
#if URGATE_HAS_AVX512_LOOP
  if (!panels_.empty()) {
    // Panels split over the threads; each element of C is one thread's, summed in the same order
    // on any number of threads. A thread gets at least ~2 MFLOP (waking one costs microseconds).
    const int groups = (N_ + kPanel - 1) / kPanel;
    const double group_flops = 2.0 * M * K_ * kPanel;
    const auto min_groups = static_cast<size_t>(std::max(1.0, 2e6 / group_flops));
    ParallelFor(groups, min_groups, [&](size_t lo, size_t hi, int) {
      PanelProducts(M, K_, N_, A, lda, panels_.data(), static_cast<int>(lo), static_cast<int>(hi), C, ldc);
    });
    return;
  }
#endif
  Gemm(false, trans_, M, N_, K_, 1.0f, A, lda, B_, ldb_, 1.0f, C, ldc);
}

}  // namespace urgate
