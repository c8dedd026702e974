#include "parallel.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace urgate {
namespace {

// Threads 1.. of RunOnWorkers, started on first use and kept for the life of the process (never
// destroyed: the addon may be unloaded only with the process, and joining at exit would wait on
// threads that a worker-thread environment may already have torn down).
class WorkerPool {
 public:
  void Run(int workers, const std::function<void(int)>& task) {
    std::lock_guard<std::mutex> one_call(call_);
    std::unique_lock<std::mutex> lock(mutex_);
    while (static_cast<int>(threads_.size()) < workers - 1) {
      const int id = static_cast<int>(threads_.size()) + 1;
      threads_.emplace_back([this, id] { Loop(id); });
    }
    task_ = &task;
    active_ = workers;
    pending_ = workers - 1;
    ++generation_;
    lock.unlock();
    start_.notify_all();
    RunTask(task, 0);
    lock.lock();
    done_.wait(lock, [this] { return pending_ == 0; });
    task_ = nullptr;
  }

 private:
  static void RunTask(const std::function<void(int)>& task, int w) {
    t_inside = true;
    task(w);
    t_inside = false;
  }

  void Loop(int id) {
    unsigned long seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      start_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (id >= active_) continue;
      const std::function<void(int)>* task = task_;
      lock.unlock();
      RunTask(*task, id);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

 public:
  static thread_local bool t_inside;

 private:
  std::mutex call_;   // one Run at a time
  std::mutex mutex_;  // guards the fields below
  std::condition_variable start_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* task_ = nullptr;
  unsigned long generation_ = 0;
  int active_ = 0, pending_ = 0;
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
