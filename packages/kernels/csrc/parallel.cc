#include "parallel.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace urgate {
namespace {

// How long a thread polls for the next call, or the caller for the workers' end, before it
// sleeps on a condition variable: the recurrent products call RunOnWorkers twice per time step,
// tens of microseconds apart, and waking a sleeping thread costs about as much (a futex call and,
// in a virtual machine, an interrupt to the other core). OpenBLAS's threads poll the same way.
constexpr int kPolls = 1 << 14;

inline void Pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Threads 1.. of RunOnWorkers, started on first use and kept for the life of the process (never
// destroyed: the addon may be unloaded only with the process, and joining at exit would wait on
// threads that a worker-thread environment may already have torn down).
class WorkerPool {
 public:
  void Run(int workers, const std::function<void(int)>& task) {
    std::lock_guard<std::mutex> one_call(call_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (static_cast<int>(threads_.size()) < workers - 1) {
        const int id = static_cast<int>(threads_.size()) + 1;
        threads_.emplace_back([this, id] { Loop(id); });
      }
      task_ = &task;
      active_ = workers;
      pending_.store(workers - 1, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);  // under mutex_: no waiter misses it
    }
    start_.notify_all();
    RunTask(task, 0);
    for (int i = 0; i < kPolls && pending_.load(std::memory_order_acquire) != 0; ++i) Pause();
    if (pending_.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
  }

  static thread_local bool t_inside;

 private:
  static void RunTask(const std::function<void(int)>& task, int w) {
    t_inside = true;
    task(w);
    t_inside = false;
  }

  void Loop(int id) {
    unsigned long seen = 0;
    for (;;) {
      for (int i = 0; i < kPolls && generation_.load(std::memory_order_acquire) == seen; ++i) Pause();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        start_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_relaxed);
        if (id >= active_) continue;
      }
      RunTask(*task_, id);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);  // the caller may be between its check and its wait
        done_.notify_one();
      }
    }
  }

  std::mutex call_;   // one Run at a time
  std::mutex mutex_;  // guards task_, active_ and threads_; orders the sleeps and wake-ups
  std::condition_variable start_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* task_ = nullptr;
  std::atomic<unsigned long> generation_{0};
  std::atomic<int> pending_{0};
  int active_ = 0;
};

thread_local bool WorkerPool::t_inside = false;

}  // namespace

void RunOnWorkers(int workers, const std::function<void(int)>& task) {
  if (workers <= 1 || WorkerPool::t_inside) {  // nested: the chunks in order on this thread
    for (int w = 0; w < workers; ++w) task(w);
    return;
  }
  static WorkerPool* pool = new WorkerPool();  // see WorkerPool: deliberately never destroyed
  pool->Run(workers, task);
}

}  // namespace urgate
