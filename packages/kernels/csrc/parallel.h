// A minimal parallel-for over [0, n) on NumThreads() std::threads, for the
// row-parallel kernels (softmax cross-entropy, Adam). Small ranges run inline.
#pragma once

#include <algorithm>
#include <thread>
#include <vector>

#include "blas.h"

namespace urgate {

// fn(begin, end, worker) over contiguous chunks; worker in [0, workers).
template <typename Fn>
int ParallelFor(size_t n, size_t min_chunk, Fn fn) {
  const size_t max_workers = static_cast<size_t>(NumThreads());
  const size_t workers = std::max<size_t>(1, std::min(max_workers, n / std::max<size_t>(min_chunk, 1)));
  if (workers <= 1) {
    fn(size_t{0}, n, 0);
    return 1;
  }
  std::vector<std::thread> threads;
  const size_t chunk = (n + workers - 1) / workers;
  for (size_t w = 1; w < workers; ++w) {
    const size_t lo = std::min(n, w * chunk), hi = std::min(n, lo + chunk);
    threads.emplace_back([=] { fn(lo, hi, static_cast<int>(w)); });
  }
  fn(size_t{0}, std::min(n, chunk), 0);
  for (auto& t : threads) t.join();
  return static_cast<int>(workers);
}

}  // namespace urgate
