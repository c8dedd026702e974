// Sequence kernels of the Relational Memory Core (Santoro et al. 2018, Sonnet
// v1 RelationalMemory) exactly as @urgate/rmc defines it (packages/rmc/README.md):
// the forward pass over all T steps, storing what the backward pass needs in
// an RmcTape, and backpropagation through time in one call.
//
// Shapes (row-major float32): xs [T, B, n], memory0 [B, N, D],
// outputs [T, B, N * D] (the memory after each step; the final memory is
// outputs[T - 1]). D = headSize * numHeads, S = N + 1 rows attend (the memory
// and the projected input), F = numHeads * (2 * keySize + headSize) qkv
// features, G gate columns (RmcGateLayout).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "layout.h"
#include "rnn.h"

namespace urgate {

enum class RmcGateStyle { kNone, kUnit, kMemory };

// Everything that fixes the sizes of one sequence call.
struct RmcShape {
  int input = 0;       // n
  int slots = 0;       // N
  int head_size = 0;   // h
  int num_heads = 0;   // H
  int key_size = 0;    // k
  int blocks = 1;      // attention blocks per step
  int mlp_layers = 2;  // linear layers of the shared attention MLP
  RmcGateStyle gate_style = RmcGateStyle::kUnit;
  // kPlain ('-', 'C-', 'U-'), kRefine ('UR-') or kCumaxMaster ('OM-').
  GateFamily family = GateFamily::kPlain;
  int downsize = 1;  // C, 'OM-' only
  int batch = 0;     // B
  int steps = 0;     // T

  int Mem() const { return head_size * num_heads; }
  int Rows() const { return slots + 1; }
  int QkvCols() const { return num_heads * (2 * key_size + head_size); }
  int GateSize() const;  // D ('unit'), 1 ('memory'), 0 ('none')
};

// Parses '-', 'C-', 'U-', 'UR-', 'OM-' (the mechanisms @urgate/rmc supports);
// throws std::invalid_argument naming `mechanism` otherwise.
GateFamily ParseRmcMechanism(const std::string& mechanism);

// Throws std::invalid_argument with a message naming the bad field.
void ValidateRmcShape(const RmcShape& shape);

// Gate column blocks in @urgate/rmc's order (input gate first): i f, r f for
// 'UR-', i f mf mi for 'OM-'; each gateSize wide, masters gateSize / C.
Layout RmcGateLayout(const RmcShape& shape);

// The parameters, as pointers into caller-owned arrays. P is const float*
// for weights and float* for their gradients. gate_bias is the sum of
// @urgate/rmc's gate.memory.b, gate.input.b and gate.offset (they are added
// together, so they share one gradient).
template <typename P>
struct RmcBlockParams {
  P qkv_W, qkv_b, qkv_gamma, qkv_beta;  // [D, F], [F] x3
  P attention_gamma, attention_beta;    // [D] x2
  P mlp_gamma, mlp_beta;                // [D] x2
};

template <typename P>
struct RmcParamSet {
  P input_W = nullptr, input_b = nullptr;  // [n, D], [D]
  std::vector<RmcBlockParams<P>> blocks;   // numBlocks
  std::vector<P> mlp_W, mlp_b;             // mlpLayers x [D, D], [D]
  P gate_memory_W = nullptr, gate_input_W = nullptr, gate_bias = nullptr;  // [D, G] x2, [G]; absent for 'none'
};

using RmcWeights = RmcParamSet<const float*>;
using RmcGrads = RmcParamSet<float*>;

// Element counts of the parameters in their flat order: input_W, input_b;
// per block qkv_W, qkv_b, qkv_gamma, qkv_beta, attention_gamma,
// attention_beta, mlp_gamma, mlp_beta; per MLP layer W, b; then (gated
// styles) gate_memory_W, gate_input_W, gate_bias.
std::vector<size_t> RmcParamSizes(const RmcShape& shape);

// Builds a parameter set from pointers in that flat order.
template <typename P>
RmcParamSet<P> RmcParamsFromFlat(const RmcShape& shape, const std::vector<P>& flat);

// What the forward pass keeps for the backward pass. Per-block arrays are
// block-major ([blocks][T][...]) so that each weight gradient is one gemm
// over all steps.
struct RmcTape {
  RmcShape shape;
  Layout gate_layout;
  FloatBuffer xhat;        // [T, B, D] projected inputs
  FloatBuffer block_in;    // [K, T, B*S, D] input of each attention block (block 0: [M_prev; xhat])
  FloatBuffer qkv_hat;     // [K, T, B*S, F] normalised qkv (becomes dL/d(qkv pre-norm))
  FloatBuffer attn;        // [K, T, B, H, S, S] attention weights
  FloatBuffer att_hat;     // [K, T, B*S, D] normalised (block_in + attention)
  FloatBuffer mlp_in;      // [L, K, T, B*S, D] input of each MLP layer (layer 0: the attention norm output)
  FloatBuffer mlp_hat;     // [K, T, B*S, D] normalised (mlp_in[0] + MLP) (becomes dL/d(last MLP layer))
  FloatBuffer rstd;        // [3, K, T, B*S] 1/sqrt(var + eps) of the qkv, attention and MLP norms
  FloatBuffer tanh_m;      // [T, B*N, D] tanh(M_prev) (gated styles)
  FloatBuffer gates;       // [T, B*N, G] activated gates (becomes dL/d(pre-activation))
  FloatBuffer tanh_att;    // [T, B*N, D] tanh of the attended memory (gated styles)
  // Work arrays of the passes, kept with the tape so that a reused tape
  // (napi/rmc.cc keeps the last one) needs no new pages.
  FloatBuffer gate_in;     // forward: [T, B, G] x̂ gate.input.W + gate bias
  FloatBuffer d_mlp;       // backward: [L-1, K, T, B*S, D] dL/d(output of MLP layers 0..L-2)
  FloatBuffer d_xhat;      // backward: [T, B, D]
  FloatBuffer d_gate_in;   // backward: [T, B, G]
  size_t Bytes() const;
};

class RmcForwardPass {
 public:
  explicit RmcForwardPass(const RmcShape& shape);  // validates the shape
  void Run(const RmcWeights& w, const float* xs, const float* memory0, float* outputs, RmcTape* tape) const;

 private:
  RmcShape shape_;
};

class RmcBackwardPass {
 public:
  // d_outputs [T, B, N * D] (a gradient of the final memory belongs in its last
  // step). Writes dxs [T, B, n], dmemory0 [B, N, D] and every gradient of g
  // (overwritten, not accumulated). Consumes the tape.
  void Run(RmcTape* tape, const RmcWeights& w, const float* xs, const float* d_outputs, float* dxs, float* dmemory0,
           const RmcGrads& g) const;
};

}  // namespace urgate
