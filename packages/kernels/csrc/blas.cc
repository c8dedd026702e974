#include "blas.h"

#include <cblas.h>

#include <cstdlib>

namespace urgate {
namespace {

int InitialThreads() {
  const char* env = std::getenv("URGATE_NUM_THREADS");
  const int n = env ? std::atoi(env) : 0;
  return n > 0 ? n : 1;  // measured fastest on a loaded 2-core machine (README "Threads")
}

int g_threads = 0;

}  // namespace

void Gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  NumThreads();  // applies the thread setting before the first call
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
              B, ldb, beta, C, ldc);
}

int NumThreads() {
  if (g_threads == 0) SetNumThreads(InitialThreads());
  return g_threads;
}

void SetNumThreads(int n) {
  g_threads = n > 0 ? n : 1;
  openblas_set_num_threads(g_threads);
}

}  // namespace urgate
