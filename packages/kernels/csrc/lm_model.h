// The language model as one object, the way llm.c keeps its model: one
// allocation holding four float32 arenas of equal layout (parameters,
// gradients, Adam's first and second moments), each tensor at the offset the
// spec's table gives it (@urgate/contract lmTensorShapes: the tensors in their one
// fixed order, each at the sum of the sizes before it). The compute is lm.h's:
// LmParams and LmGrads are views into the arenas.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "adam.h"
#include "lm.h"

namespace urgate {

// One row of the spec's table: a tensor's checkpoint name and element count.
struct ArenaTensor {
  std::string name;
  size_t size = 0;
  size_t offset = 0;  // filled by LmModel: the running sum of the sizes before it
};

class LmModel {
 public:
  // `shape`'s batch and steps are ignored (each call brings its own). Throws
  // std::invalid_argument naming the tensor when the table does not hold
  // exactly the tensors `shape` needs, with their sizes.
  LmModel(const LmShape& shape, std::vector<ArenaTensor> tensors);

  const std::vector<ArenaTensor>& tensors() const { return tensors_; }
  size_t size() const { return size_; }  // floats per arena
  // The four arenas, one after another in one allocation (shared so that
  // views handed out, e.g. to JavaScript, keep it alive).
  const std::shared_ptr<std::vector<float>>& memory() const { return memory_; }
  float* params() { return memory_->data(); }
  float* grads() { return memory_->data() + size_; }
  float* m() { return memory_->data() + 2 * size_; }
  float* v() { return memory_->data() + 3 * size_; }

  // Loss of one [steps, batch] window; every gradient of the arena is overwritten.
  double TrainStep(int batch, int steps, const LmBatch& window, const LmDropout& dropout);
  // Per-row NLL of one window, no dropout; keeps no activations (LmScore).
  void Score(int batch, int steps, const LmBatch& window, double* nll);
  // Adam with global-norm clipping over the whole arena, tensor by tensor in
  // the table's order (so the norm sums as the per-tensor optimizer did).
  // Counts the step itself; returns the gradient norm before clipping.
  double AdamUpdate(AdamOptions options);
  int adam_steps() const { return adam_steps_; }
  void set_adam_steps(int steps) { adam_steps_ = steps; }

  LmShape ShapeFor(int batch, int steps) const;

 private:
  LmShape shape_;
  std::vector<ArenaTensor> tensors_;
  size_t size_ = 0;
  std::shared_ptr<std::vector<float>> memory_;
  LmParams param_views_;
  LmGrads grad_views_;
  LmWorkspace workspace_;  // the training step's activations, reused by every step
  int adam_steps_ = 0;
};

}  // namespace urgate
