// The per-time-step products of a recurrence, C[M x N] += A[M x K] · op(B), where op(B) (the
// recurrent weight block, or its transpose in the backward pass) is the same at every step and M
// (the batch) is small. OpenBLAS packs op(B) into its kernel's layout on every call: at M = 32
// that copy of the whole weight costs about as much as the product (15% of the LM step at
// H = 512 and 1024 in `perf`). PackedWeight copies it once per sequence into column panels that
// a register-tiled AVX-512 kernel reads as they are. For weights under 64K elements, on CPUs
// without AVX-512 and in the baseline and arm64 builds nothing is copied and MultiplyAdd calls
// OpenBLAS.
#pragma once

#include <vector>

namespace urgate {

class PackedWeight {
 public:
  // op(B) is K x N: B itself (K x N, row stride ldb) or, with trans, B's transpose (B is N x K).
  // B must stay alive and unchanged while the PackedWeight is used.
  PackedWeight(bool trans, int K, int N, const float* B, int ldb);

  // C[M x N] += A[M x K] op(B); A and C row-major with row strides lda and ldc.
  void MultiplyAdd(int M, const float* A, int lda, float* C, int ldc) const;

 private:
  bool trans_;
  int K_, N_;
  const float* B_;
  int ldb_;
  std::vector<float> panels_;  // [ceil(N / 48)][K][48], zero-padded; empty: OpenBLAS
};

}  // namespace urgate
