// A whole recurrent language model step in one call: embedding gather ->
// dropout -> stacked gated layers (rnn.h) -> dropout -> optional layer norm
// -> output layer (tied to the embedding or its own W) + bias -> softmax
// cross-entropy, and the backward pass of all of it. No [T·B, V] tensor is
// ever materialised whole or transposed: the output layer runs in row chunks,
// each chunk's logits become its gradient in place, and every matmul gradient
// is a GEMM with transpose flags.
//
// Shapes (row-major float32, rows r = t·B + b, time-major like the layers):
// embedding [V, E], layer l: W [in_l + d, cols], b [cols] (in_0 = E, else d),
// gamma, beta [d], output W [d, V] (untied only), output b [V]; or, with
// cutoffs, the adaptive softmax's tensors (adaptive_softmax.h) instead of
// output W and b, its shortlist tied to the embedding rows [0, c0) when tied;
// inputs, targets [T·B] int32 in [0, V) (checked by the caller); reset [T, B].
#pragma once

#include <cstdint>
#include <vector>

#include "adaptive_softmax.h"
#include "layout.h"
#include "rnn.h"

namespace urgate {

struct LmShape {
  Core core = Core::kLstm;
  GateFamily family = GateFamily::kPlain;
  int layers = 1;
  int vocab = 0;      // V
  int embedding = 0;  // E
  int hidden = 0;     // d
  int downsize = 1;
  bool layer_norm = false;
  bool tied = true;  // logits = h E^T (E = d) instead of h W_out
  int batch = 0;     // B
  int steps = 0;     // T
  std::vector<int> cutoffs;  // adaptive softmax (empty: full softmax)
  double tail_div = 4;       // its projections: d / tail_div^(i+1)
};

// The adaptive softmax of an LM with cutoffs.
AdaptiveSoftmaxShape AdaptiveOf(const LmShape& shape);

// Throws std::invalid_argument naming the bad field.
void ValidateLmShape(const LmShape& shape);

struct LmParams {
  const float* embedding = nullptr;
  std::vector<const float*> W, b;  // one per layer
  const float* gamma = nullptr;    // layer norm only
  const float* beta = nullptr;
  const float* out_w = nullptr;  // untied only
  const float* out_b = nullptr;  // full softmax only
  AdaptiveSoftmaxParams adaptive;  // with cutoffs (tied: no shortlist, the embedding's rows are)
};

// Gradient buffers, same shapes as LmParams; every one is overwritten.
struct LmGrads {
  float* embedding = nullptr;
  std::vector<float*> W, b;
  float* gamma = nullptr;
  float* beta = nullptr;
  float* out_w = nullptr;
  float* out_b = nullptr;
  AdaptiveSoftmaxGrads adaptive;
};

// Inverted dropout on the embeddings and on the last layer's output, masks
// drawn natively from the same mulberry32 stream as @urgate/cells'
// SeededRandom (element k is dropped when the k-th draw of next() < rate).
struct LmDropout {
  double rate = 0;  // 0: none
  double embedding_seed = 0;
  double output_seed = 0;
  // The window is rows [row_offset, row_offset + batch) of a batch of rows_total rows (one
  // rank's share in data-parallel training): its masks are those rows of the whole batch's.
  // 0: the window is the whole batch.
  int rows_total = 0;
  int row_offset = 0;
};

struct LmBatch {
  const int32_t* inputs = nullptr;
  const int32_t* targets = nullptr;
  const float* reset = nullptr;    // [T, B] or null
  std::vector<const float*> h0;    // [B, d] per layer
  std::vector<const float*> c0;    // [B, d] per layer (LSTM)
  std::vector<float*> h_final;     // [B, d] per layer, written
  std::vector<float*> c_final;     // [B, d] per layer (LSTM), written
};

// What a training step keeps between its forward and backward passes, and its scratch. The
// caller owns it (LmModel keeps one across steps), so once the shapes repeat a step allocates
// nothing: no page is faulted in and zeroed again, and the heap does not fragment.
struct LmWorkspace {
  std::vector<std::vector<float>> acts;  // acts[0]: embedded (dropped) inputs [N, E]; acts[l + 1]: layer l outputs
  std::vector<Tape> tapes;
  std::vector<uint8_t> kept_e, kept_o;   // dropout: 1 where an element is kept (empty without dropout)
  std::vector<float> xhat, rstd, z;      // layer norm: normalised rows [N, d], 1 / sqrt(var + eps) [N], output
  std::vector<float> d_head, d_in, logits;
  const float* head = nullptr;           // output layer input: z or acts[L]
};

// Mean cross-entropy over the T·B rows; fills grads. Returns the loss.
double LmTrainStep(const LmShape& shape, const LmParams& params, const LmBatch& batch, const LmDropout& dropout,
                   LmGrads* grads, LmWorkspace* workspace);

// Forward only, no dropout: nll[r] = -log softmax(logits_r)[targets[r]]
// (log-sum-exp accumulated in double; with cutoffs the adaptive softmax's exact nll). Keeps no
// tape: the window runs through the whole model a few steps at a time, carrying only the state,
// so its memory is a few [steps·B, max(4d, V)] blocks however long the window.
void LmScore(const LmShape& shape, const LmParams& params, const LmBatch& batch, double* nll);

// out[k] = hit if the k-th draw of SeededRandom(seed).next() is < rate, else miss.
// Dropout multipliers: hit 0, miss float(1 / (1 - rate)); zoneout masks: hit 1, miss 0.
void BernoulliMask(double rate, double seed, size_t n, float hit, float miss, float* out);

// BernoulliMask's draws for the [steps, batch, width] slice at rows [offset, offset + batch) of a
// [steps, total, width] array: out holds exactly those elements of the whole array's mask.
void BernoulliMaskRows(double rate, double seed, size_t steps, size_t batch, size_t width, size_t total,
                       size_t offset, float hit, float miss, float* out);

}  // namespace urgate
