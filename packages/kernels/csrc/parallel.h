// A minimal parallel-for over [0, n) on NumThreads() threads, for the row-parallel kernels
// (softmax cross-entropy, Adam, masks, layer norm). Small ranges run inline.
#pragma once

#include <algorithm>
#include <functional>

#include "blas.h"

namespace urgate {

// Runs task(w) for w in [0, workers): 0 on the calling thread, the others on threads started once
// and kept (a training step calls ParallelFor a few dozen times; starting and joining threads on
// every call cost more than the work of the small ones). One call at a time: a second caller
// (another JS thread's) waits for the first; a task that calls ParallelFor itself runs that call's
// chunks one after another on its own thread (the same chunks, so the same result).
void RunOnWorkers(int workers, const std::function<void(int)>& task);

// fn(begin, end, worker) over contiguous chunks; worker in [0, workers). The chunks depend only on
// n, min_chunk and NumThreads(), so per-worker partial sums add up the same way on every call.
template <typename Fn>
int ParallelFor(size_t n, size_t min_chunk, Fn fn) {
  const size_t max_workers = static_cast<size_t>(NumThreads());
  const size_t workers = std::max<size_t>(1, std::min(max_workers, n / std::max<size_t>(min_chunk, 1)));
  if (workers <= 1) {
    fn(size_t{0}, n, 0);
    return 1;
  }
  const size_t chunk = (n + workers - 1) / workers;
  RunOnWorkers(static_cast<int>(workers), [&](int w) {
    const size_t lo = std::min(n, w * chunk), hi = std::min(n, lo + chunk);
    fn(lo, hi, w);
  });
  return static_cast<int>(workers);
}

}  // namespace urgate
