// Sequence kernels of one gated LSTM or GRU layer (LAYOUT.md): the forward
// pass over all T steps, storing what the backward pass needs in a Tape, and
// backpropagation through time in one call.
//
// Shapes (row-major float32): W [n + d, cols], b [cols], xs [T, B, n],
// h0, c0 [B, d], reset [T, B], zoneout masks [T, B, d], outputs [T, B, d].
// The bias passed here is the full bias (b + bOffset of the layout).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "layout.h"

namespace urgate {

// Optional per-step inputs; a null pointer means "absent".
struct SequenceExtras {
  const float* reset = nullptr;      // [T, B]: 1 zeroes the state row before step t
  const float* zoneout_c = nullptr;  // [T, B, d] keep masks (LSTM only)
  const float* zoneout_h = nullptr;  // [T, B, d]
};

// float storage that is not zero-filled: every element of the tape is written
// by the forward pass before it is read, and zeroing tens of MB per call
// showed in the profile.
class FloatBuffer {
 public:
  void resize(size_t n) {
    if (n != size_) {
      data_.reset(n ? new float[n] : nullptr);
      size_ = n;
    }
  }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::unique_ptr<float[]> data_;
  size_t size_ = 0;
};

// What the forward pass keeps for the backward pass.
struct Tape {
  LayerShape shape;
  Layout layout;
  FloatBuffer gates;   // [T, B, cols] activations (becomes dL/da in the backward)
  FloatBuffer h_prev;  // [T, B, d] h_{t-1} after the reset rows
  FloatBuffer c_prev;  // [T, B, d] LSTM: c_{t-1} after the reset rows
  FloatBuffer tanh_c;  // [T, B, d] LSTM: tanh of the candidate cell
  FloatBuffer sh;      // [T, B, d] GRU: s * h_{t-1}, the u block's recurrent input
  std::vector<float> reset, zoneout_c, zoneout_h;  // copies of the extras (empty when absent)
  size_t Bytes() const;
};

struct StepStore;

class ForwardPass {
 public:
  explicit ForwardPass(const LayerShape& shape);  // validates the shape
  // c0 and c_final are ignored (may be null) for the GRU.
  void Run(const float* W, const float* b, const float* xs, const float* h0, const float* c0,
           const SequenceExtras& extras, float* outputs, float* h_final, float* c_final, Tape* tape) const;
  // The same outputs and final state, keeping nothing for a backward pass: `gates` [T, B, cols]
  // is the caller's workspace, the per-step states live in three [B, d] blocks. h_final and
  // c_final may be h0 and c0 (a state carried in place).
  void Infer(const float* W, const float* b, const float* xs, const float* h0, const float* c0,
             const SequenceExtras& extras, float* gates, float* outputs, float* h_final, float* c_final) const;
  int cols() const { return layout_.cols; }

 private:
  void Forward(const float* W, const float* b, const float* xs, const float* h0, const float* c0, float* gates,
               float* outputs, float* h_final, float* c_final, const StepStore& store) const;
  LayerShape shape_;
  Layout layout_;
};

class BackwardPass {
 public:
  // d_outputs [T, B, d]; d_h_final, d_c_final [B, d] (may be null: zero).
  // Writes dxs [T, B, n], dh0, dc0 [B, d] (dc0 ignored for the GRU), dW, db.
  // Consumes the tape's gate activations (they are overwritten).
  void Run(Tape* tape, const float* W, const float* xs, const float* d_outputs, const float* d_h_final,
           const float* d_c_final, float* dxs, float* dh0, float* dc0, float* dW, float* db) const;
};

}  // namespace urgate
