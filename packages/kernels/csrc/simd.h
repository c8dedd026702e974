// Which vector instructions the hot loops use, chosen when the addon loads.
//
// The addon is compiled for its architecture's baseline (x86-64: SSE2; arm64:
// NEON, which every arm64 CPU has), so it loads on every CPU of that
// architecture. On x86-64 Linux each loop marked URGATE_VECTOR_LOOP is compiled
// twice, for the baseline and for x86-64-v3 (AVX2 + FMA + F16C + BMI2: every
// x86 server core since 2013), and the dynamic loader picks the clone the CPU
// can run (GCC/Clang target_clones: an ifunc resolved once, at load). The mark
// goes on the functions and the ParallelFor lambdas that hold the pointwise
// loops: a lambda does not inherit its enclosing function's target.
//
// noinline either way: the restrict-qualified parameters that let the compiler
// vectorise a loop only count while the function stays a function.
// -DURGATE_BASELINE_ONLY builds the baseline alone (scripts/portable-build.sh baseline),
// which is the code a CPU without AVX2 runs.
#pragma once

#if defined(__x86_64__) && defined(__linux__) && !defined(URGATE_BASELINE_ONLY)
#define URGATE_VECTOR_LOOP __attribute__((noinline, target_clones("arch=x86-64-v3", "default")))
#else
#define URGATE_VECTOR_LOOP __attribute__((noinline))
#endif

namespace urgate {

// The instruction set the URGATE_VECTOR_LOOP functions run with on this CPU.
inline const char* VectorPath() {
#if defined(__x86_64__) && defined(__linux__) && !defined(URGATE_BASELINE_ONLY)
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v3 ? "x86-64-v3 (avx2, fma)" : "x86-64 baseline (sse2)";
#elif defined(__x86_64__)
  return "x86-64 baseline (sse2)";
#elif defined(__aarch64__)
  return "arm64 (neon)";
#else
  return "portable";
#endif
}

}  // namespace urgate
