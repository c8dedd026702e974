// Row-major sgemm on OpenBLAS and the thread count it uses.
#pragma once

namespace urgate {

// C = alpha * op(A) op(B) + beta * C, all row-major; op(A) is M x K, op(B) is K x N.
void Gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc);

// Threads for OpenBLAS and for the kernels' own parallel loops. Initialised
// from the environment variable URGATE_NUM_THREADS (default 1).
int NumThreads();
void SetNumThreads(int n);

}  // namespace urgate
