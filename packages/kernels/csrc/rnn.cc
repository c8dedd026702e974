#include "rnn.h"

#include <algorithm>
#include <cstring>

#include "blas.h"
#include "fast_math.h"
#include "gates.h"
#include "packed_gemm.h"
#include "simd.h"

namespace urgate {

// Where a forward pass puts each step's h_{t-1}, c_{t-1}, tanh(c) (LSTM) or s * h_{t-1} (GRU):
// the tape's [T, B, d] arrays (stride B·d, kept for the backward pass), or one [B, d] block
// reused by every step (stride 0: inference, nothing kept).
struct StepStore {
  float* h_prev = nullptr;
  float* c_prev = nullptr;
  float* tanh_c = nullptr;
  float* sh = nullptr;
  size_t stride = 0;
  // A forward pass's inputs beside the pre-activations: [T, B] reset and [T, B, d] zoneout masks.
  const float* reset = nullptr;
  const float* zoneout_c = nullptr;
  const float* zoneout_h = nullptr;
};

namespace {

size_t Count(int a, int b, int c = 1) { return static_cast<size_t>(a) * b * c; }

// dst = src * (1 - reset_b) row by row: the state a step reads (LAYOUT.md, extra 1).
URGATE_VECTOR_LOOP void ApplyReset(const float* src, const float* reset_t, int B, int d, float* dst) {
  for (int b = 0; b < B; ++b) {
    const float keep = reset_t ? 1.0f - reset_t[b] : 1.0f;
    const float* __restrict s = src + Count(b, d);
    float* __restrict o = dst + Count(b, d);
    for (int j = 0; j < d; ++j) o[j] = s[j] * keep;
  }
}

URGATE_VECTOR_LOOP void ScaleRowsByKeep(float* x, const float* reset_t, int B, int d) {
  if (!reset_t) return;
  for (int b = 0; b < B; ++b) {
    const float keep = 1.0f - reset_t[b];
    float* __restrict r = x + Count(b, d);
    for (int j = 0; j < d; ++j) r[j] *= keep;
  }
}

void CopyOrClear(std::vector<float>* dst, const float* src, size_t n) {
  if (src) dst->assign(src, src + n);
  else dst->clear();
}

const float* OrNull(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

// Row b of step t of a [T, B, d] mask, or a row of zeros ("never keep") when
// the mask is absent: the pointwise loops then need no branch and vectorise.
const float* MaskRow(const float* mask, const std::vector<float>& zeros, int t, int b, int B, int d) {
  return mask ? mask + Count(t, B, d) + Count(b, d) : zeros.data();
}

// The pointwise loops of the cores, as functions whose restrict-qualified
// parameters let the compiler vectorise them (u and o are disjoint blocks of
// one row).
URGATE_VECTOR_LOOP void LstmCellForward(int d, const float* __restrict F, const float* __restrict I, float* __restrict u,
                     float* __restrict o, const float* __restrict hp, const float* __restrict cp,
                     const float* __restrict zc, const float* __restrict zh, float* __restrict tc,
                     float* __restrict h, float* __restrict c) {
  for (int j = 0; j < d; ++j) {
    u[j] = Tanh(u[j]);
    o[j] = Sigmoid(o[j]);
    const float cand = F[j] * cp[j] + I[j] * u[j];
    tc[j] = Tanh(cand);
    const float hcand = o[j] * tc[j];
    c[j] = zc[j] * cp[j] + (1.0f - zc[j]) * cand;
    h[j] = zh[j] * hp[j] + (1.0f - zh[j]) * hcand;
  }
}

// dh_in, dc: dL/dh_t, dL/dc_t (dc is replaced by dL/dc_{t-1} before the
// recurrent product and the reset); dhp gets the direct part of dL/dh_{t-1}.
// u and o are overwritten by dL/da_u, dL/da_o.
URGATE_VECTOR_LOOP void LstmCellBackward(int d, const float* __restrict F, const float* __restrict I, float* __restrict u,
                      float* __restrict o, const float* __restrict tc, const float* __restrict dout,
                      const float* __restrict dh_in, const float* __restrict cp, const float* __restrict zc,
                      const float* __restrict zh, float* __restrict dc, float* __restrict dhp,
                      float* __restrict dF, float* __restrict dI) {
  for (int j = 0; j < d; ++j) {
    const float dht = dout[j] + dh_in[j];
    const float dct = dc[j];
    const float dh_cand = (1.0f - zh[j]) * dht;
    const float dc_cand = (1.0f - zc[j]) * dct + dh_cand * o[j] * (1.0f - tc[j] * tc[j]);
    const float dout_gate = dh_cand * tc[j];
    dF[j] = dc_cand * cp[j];
    dI[j] = dc_cand * u[j];
    const float du = dc_cand * I[j];
    dhp[j] = zh[j] * dht;
    dc[j] = zc[j] * dct + dc_cand * F[j];
    o[j] = dout_gate * o[j] * (1.0f - o[j]);
    u[j] = du * (1.0f - u[j] * u[j]);
  }
}

URGATE_VECTOR_LOOP void GruResetGateForward(int d, float* __restrict s, const float* __restrict hp, float* __restrict sh) {
  for (int j = 0; j < d; ++j) {
    s[j] = Sigmoid(s[j]);
    sh[j] = s[j] * hp[j];
  }
}

URGATE_VECTOR_LOOP void GruCellForward(int d, const float* __restrict F, const float* __restrict I, float* __restrict u,
                    const float* __restrict hp, const float* __restrict zh, float* __restrict h) {
  for (int j = 0; j < d; ++j) {
    u[j] = Tanh(u[j]);
    const float hcand = F[j] * hp[j] + I[j] * u[j];
    h[j] = zh[j] * hp[j] + (1.0f - zh[j]) * hcand;
  }
}

URGATE_VECTOR_LOOP void GruCellBackward(int d, const float* __restrict F, const float* __restrict I, float* __restrict u,
                     const float* __restrict dout, const float* __restrict dh_in, const float* __restrict hp,
                     const float* __restrict zh, float* __restrict dhp, float* __restrict dF,
                     float* __restrict dI) {
  for (int j = 0; j < d; ++j) {
    const float dht = dout[j] + dh_in[j];
    const float dh_cand = (1.0f - zh[j]) * dht;
    dF[j] = dh_cand * hp[j];
    dI[j] = dh_cand * u[j];
    dhp[j] = zh[j] * dht + dh_cand * F[j];
    u[j] = dh_cand * I[j] * (1.0f - u[j] * u[j]);
  }
}

// s * h fed the u block: dL/ds_pre = d_sh * h * s (1 - s), and d_sh * s goes to h.
URGATE_VECTOR_LOOP void GruResetGateBackward(int d, float* __restrict s, const float* __restrict hp, const float* __restrict d_sh,
                          float* __restrict dhp) {
  for (int j = 0; j < d; ++j) {
    dhp[j] += d_sh[j] * s[j];
    s[j] = d_sh[j] * hp[j] * s[j] * (1.0f - s[j]);
  }
}

// The per-row buffers of a layer's step loop: the effective forget and input gates F and I (and,
// backward, their gradients dF and dI), the gate math's scratch gs, and a row of zeros for an
// absent zoneout mask.
struct RowScratch {
  RowScratch(const Layout& l, int d, bool backward)
      : buf((backward ? 4 : 2) * d + GateScratchSize(l, d)),
        zeros(d, 0.0f),
        F(buf.data()),
        I(F + d),
        dF(backward ? I + d : nullptr),
        dI(backward ? I + 2 * d : nullptr),
        gs(I + (backward ? 3 : 1) * d) {}
  std::vector<float> buf;
  const std::vector<float> zeros;
  float* const F;
  float* const I;
  float* const dF;
  float* const dI;
  float* const gs;
};

// Pre-activations of all steps: gates[t, b, :] = b + xs[t, b, :] Wx in one sgemm.
void InputProjection(const LayerShape& s, const Layout& l, const float* W, const float* bias, const float* xs,
                     float* gates) {
  const int rows = s.steps * s.batch;
  for (int r = 0; r < rows; ++r) std::memcpy(gates + Count(r, l.cols), bias, sizeof(float) * l.cols);
  Gemm(false, false, rows, l.cols, s.input, 1.0f, xs, s.input, W, l.cols, 1.0f, gates, l.cols);
}

void LstmForward(const LayerShape& s, const Layout& l, const float* W, const float* h0, const float* c0,
                 float* gates, float* outputs, float* h_final, float* c_final, const StepStore& k) {
  const int B = s.batch, d = s.hidden, cols = l.cols, T = s.steps;
  const PackedWeight Wh(false, d, cols, W + Count(s.input, cols), cols);
  const float* reset = k.reset;
  const float* zc = k.zoneout_c;
  const float* zh = k.zoneout_h;
  std::vector<float> c(c0, c0 + Count(B, d));
  RowScratch row_scratch(l, d, false);
  float *F = row_scratch.F, *I = row_scratch.I, *gs = row_scratch.gs;
  const std::vector<float>& zeros = row_scratch.zeros;
  for (int t = 0; t < T; ++t) {
    const float* reset_t = reset ? reset + Count(t, B) : nullptr;
    float* hp = k.h_prev + k.stride * t;
    float* cp = k.c_prev + k.stride * t;
    float* tc = k.tanh_c + k.stride * t;
    ApplyReset(t == 0 ? h0 : outputs + Count(t - 1, B, d), reset_t, B, d, hp);
    ApplyReset(c.data(), reset_t, B, d, cp);
    float* g = gates + Count(t, B, cols);
    Wh.MultiplyAdd(B, hp, d, g, cols);
    for (int b = 0; b < B; ++b) {
      float* row = g + Count(b, cols);
      ActivateGates(s.core, s.family, l, d, row);
      EffectiveGates(s.core, s.family, l, d, s.downsize, row, F, I, gs);
      const size_t at = Count(t, B, d) + Count(b, d);
      LstmCellForward(d, F, I, row + l.u, row + l.o, hp + Count(b, d), cp + Count(b, d), MaskRow(zc, zeros, t, b, B, d),
                      MaskRow(zh, zeros, t, b, B, d), tc + Count(b, d), outputs + at, c.data() + Count(b, d));
    }
  }
  std::memcpy(h_final, outputs + Count(T - 1, B, d), sizeof(float) * Count(B, d));
  std::memcpy(c_final, c.data(), sizeof(float) * Count(B, d));
}

void GruForward(const LayerShape& s, const Layout& l, const float* W, const float* h0, float* gates, float* outputs,
                float* h_final, const StepStore& k) {
  const int B = s.batch, d = s.hidden, cols = l.cols, T = s.steps;
  const float* Wh = W + Count(s.input, cols);
  const float* reset = k.reset;
  const float* zh = k.zoneout_h;
  const int tail = cols - (l.u + d);  // master blocks after u
  const PackedWeight before_u(false, d, l.u, Wh, cols), u_block(false, d, d, Wh + l.u, cols),
      after_u(false, d, tail, Wh + l.u + d, cols);
  RowScratch row_scratch(l, d, false);
  float *F = row_scratch.F, *I = row_scratch.I, *gs = row_scratch.gs;
  const std::vector<float>& zeros = row_scratch.zeros;
  for (int t = 0; t < T; ++t) {
    const float* reset_t = reset ? reset + Count(t, B) : nullptr;
    float* hp = k.h_prev + k.stride * t;
    float* sh = k.sh + k.stride * t;
    ApplyReset(t == 0 ? h0 : outputs + Count(t - 1, B, d), reset_t, B, d, hp);
    float* g = gates + Count(t, B, cols);
    // Blocks before u read h_{t-1}; u reads s * h_{t-1}, so it gets its own gemm.
    before_u.MultiplyAdd(B, hp, d, g, cols);
    if (tail > 0) after_u.MultiplyAdd(B, hp, d, g + l.u + d, cols);
    for (int b = 0; b < B; ++b) GruResetGateForward(d, g + Count(b, cols) + l.s, hp + Count(b, d), sh + Count(b, d));
    u_block.MultiplyAdd(B, sh, d, g + l.u, cols);
    for (int b = 0; b < B; ++b) {
      float* row = g + Count(b, cols);
      ActivateGates(s.core, s.family, l, d, row);
      EffectiveGates(s.core, s.family, l, d, s.downsize, row, F, I, gs);
      GruCellForward(d, F, I, row + l.u, hp + Count(b, d), MaskRow(zh, zeros, t, b, B, d),
                     outputs + Count(t, B, d) + Count(b, d));
    }
  }
  std::memcpy(h_final, outputs + Count(T - 1, B, d), sizeof(float) * Count(B, d));
}

void LstmBackward(Tape* tape, const float* W, const float* d_out, float* dh, float* dc) {
  const LayerShape& s = tape->shape;
  const Layout& l = tape->layout;
  const int B = s.batch, d = s.hidden, cols = l.cols, T = s.steps;
  const PackedWeight WhT(true, cols, d, W + Count(s.input, cols), cols);
  const float* reset = OrNull(tape->reset);
  const float* zc = OrNull(tape->zoneout_c);
  const float* zh = OrNull(tape->zoneout_h);
  RowScratch row_scratch(l, d, true);
  float *F = row_scratch.F, *I = row_scratch.I, *dF = row_scratch.dF, *dI = row_scratch.dI, *gs = row_scratch.gs;
  const std::vector<float>& zeros = row_scratch.zeros;
  std::vector<float> dh_prev(Count(B, d));
  // dh, dc hold dL/dh_t, dL/dc_t arriving from later steps.
  for (int t = T - 1; t >= 0; --t) {
    float* g = tape->gates.data() + Count(t, B, cols);
    const float* cp = tape->c_prev.data() + Count(t, B, d);
    for (int b = 0; b < B; ++b) {
      float* row = g + Count(b, cols);
      EffectiveGates(s.core, s.family, l, d, s.downsize, row, F, I, gs);
      const size_t at = Count(t, B, d) + Count(b, d);
      LstmCellBackward(d, F, I, row + l.u, row + l.o, tape->tanh_c.data() + at, d_out + at, dh + Count(b, d),
                       cp + Count(b, d), MaskRow(zc, zeros, t, b, B, d), MaskRow(zh, zeros, t, b, B, d),
                       dc + Count(b, d), dh_prev.data() + Count(b, d), dF, dI);
      GatesBackward(s.core, s.family, l, d, s.downsize, row, dF, dI, gs);
    }
    WhT.MultiplyAdd(B, g, cols, dh_prev.data(), d);
    const float* reset_t = reset ? reset + Count(t, B) : nullptr;
    ScaleRowsByKeep(dh_prev.data(), reset_t, B, d);
    ScaleRowsByKeep(dc, reset_t, B, d);
    std::memcpy(dh, dh_prev.data(), sizeof(float) * Count(B, d));
  }
}

void GruBackward(Tape* tape, const float* W, const float* d_out, float* dh) {
  const LayerShape& s = tape->shape;
  const Layout& l = tape->layout;
  const int B = s.batch, d = s.hidden, cols = l.cols, T = s.steps;
  const float* Wh = W + Count(s.input, cols);
  const float* reset = OrNull(tape->reset);
  const float* zh = OrNull(tape->zoneout_h);
  const int tail = cols - (l.u + d);
  const PackedWeight before_uT(true, l.u, d, Wh, cols), u_blockT(true, d, d, Wh + l.u, cols),
      after_uT(true, tail, d, Wh + l.u + d, cols);
  RowScratch row_scratch(l, d, true);
  float *F = row_scratch.F, *I = row_scratch.I, *dF = row_scratch.dF, *dI = row_scratch.dI, *gs = row_scratch.gs;
  const std::vector<float>& zeros = row_scratch.zeros;
  std::vector<float> dh_prev(Count(B, d)), d_sh(Count(B, d));
  for (int t = T - 1; t >= 0; --t) {
    float* g = tape->gates.data() + Count(t, B, cols);
    const float* hp = tape->h_prev.data() + Count(t, B, d);
    for (int b = 0; b < B; ++b) {
      float* row = g + Count(b, cols);
      EffectiveGates(s.core, s.family, l, d, s.downsize, row, F, I, gs);
      const size_t at = Count(t, B, d) + Count(b, d);
      GruCellBackward(d, F, I, row + l.u, d_out + at, dh + Count(b, d), hp + Count(b, d), MaskRow(zh, zeros, t, b, B, d),
                      dh_prev.data() + Count(b, d), dF, dI);
      GatesBackward(s.core, s.family, l, d, s.downsize, row, dF, dI, gs);
    }
    // a_u = ... + (s * h) Wh_u: back to s and h.
    std::fill(d_sh.begin(), d_sh.end(), 0.0f);
    u_blockT.MultiplyAdd(B, g + l.u, cols, d_sh.data(), d);
    for (int b = 0; b < B; ++b)
      GruResetGateBackward(d, g + Count(b, cols) + l.s, hp + Count(b, d), d_sh.data() + Count(b, d),
                           dh_prev.data() + Count(b, d));
    before_uT.MultiplyAdd(B, g, cols, dh_prev.data(), d);
    if (tail > 0) after_uT.MultiplyAdd(B, g + l.u + d, cols, dh_prev.data(), d);
    ScaleRowsByKeep(dh_prev.data(), reset ? reset + Count(t, B) : nullptr, B, d);
    std::memcpy(dh, dh_prev.data(), sizeof(float) * Count(B, d));
  }
}

}  // namespace

size_t Tape::Bytes() const {
  return sizeof(float) * (gates.size() + h_prev.size() + c_prev.size() + tanh_c.size() + sh.size() + reset.size() +
                          zoneout_c.size() + zoneout_h.size());
}

ForwardPass::ForwardPass(const LayerShape& shape) : shape_(shape) {
  ValidateShape(shape);
  layout_ = MakeLayout(shape.core, shape.family, shape.hidden, shape.downsize);
}

void ForwardPass::Run(const float* W, const float* b, const float* xs, const float* h0, const float* c0,
                      const SequenceExtras& extras, float* outputs, float* h_final, float* c_final,
                      Tape* tape) const {
  const LayerShape& s = shape_;
  const int T = s.steps, B = s.batch, d = s.hidden;
  const bool lstm = s.core == Core::kLstm;
  tape->shape = s;
  tape->layout = layout_;
  tape->gates.resize(Count(T, B, layout_.cols));
  tape->h_prev.resize(Count(T, B, d));
  tape->c_prev.resize(lstm ? Count(T, B, d) : 0);
  tape->tanh_c.resize(lstm ? Count(T, B, d) : 0);
  tape->sh.resize(lstm ? 0 : Count(T, B, d));
  CopyOrClear(&tape->reset, extras.reset, Count(T, B));
  CopyOrClear(&tape->zoneout_c, lstm ? extras.zoneout_c : nullptr, Count(T, B, d));
  CopyOrClear(&tape->zoneout_h, extras.zoneout_h, Count(T, B, d));
  StepStore keep;
  keep.h_prev = tape->h_prev.data();
  keep.c_prev = tape->c_prev.data();
  keep.tanh_c = tape->tanh_c.data();
  keep.sh = tape->sh.data();
  keep.stride = Count(B, d);
  keep.reset = OrNull(tape->reset);
  keep.zoneout_c = OrNull(tape->zoneout_c);
  keep.zoneout_h = OrNull(tape->zoneout_h);
  Forward(W, b, xs, h0, c0, tape->gates.data(), outputs, h_final, c_final, keep);
}

void ForwardPass::Forward(const float* W, const float* b, const float* xs, const float* h0, const float* c0,
                          float* gates, float* outputs, float* h_final, float* c_final, const StepStore& store) const {
  InputProjection(shape_, layout_, W, b, xs, gates);
  if (shape_.core == Core::kLstm) LstmForward(shape_, layout_, W, h0, c0, gates, outputs, h_final, c_final, store);
  else GruForward(shape_, layout_, W, h0, gates, outputs, h_final, store);
}

void ForwardPass::Infer(const float* W, const float* b, const float* xs, const float* h0, const float* c0,
                        const SequenceExtras& extras, float* gates, float* outputs, float* h_final,
                        float* c_final) const {
  const size_t block = Count(shape_.batch, shape_.hidden);
  std::vector<float> scratch(3 * block);
  StepStore reuse;  // stride 0: every step overwrites the same [B, d] blocks
  reuse.h_prev = scratch.data();
  reuse.c_prev = reuse.sh = scratch.data() + block;
  reuse.tanh_c = scratch.data() + 2 * block;
  reuse.reset = extras.reset;
  reuse.zoneout_c = extras.zoneout_c;
  reuse.zoneout_h = extras.zoneout_h;
  Forward(W, b, xs, h0, c0, gates, outputs, h_final, c_final, reuse);
}

void BackwardPass::Run(Tape* tape, const float* W, const float* xs, const float* d_outputs, const float* d_h_final,
                       const float* d_c_final, float* dxs, float* dh0, float* dc0, float* dW, float* db) const {
  const LayerShape& s = tape->shape;
  const Layout& l = tape->layout;
  const int B = s.batch, d = s.hidden, n = s.input, cols = l.cols, rows = s.steps * s.batch;
  const bool lstm = s.core == Core::kLstm;
  // dh0 / dc0 double as the running dL/dh_t, dL/dc_t.
  if (d_h_final) std::memcpy(dh0, d_h_final, sizeof(float) * Count(B, d));
  else std::fill(dh0, dh0 + Count(B, d), 0.0f);
  if (lstm) {
    if (d_c_final) std::memcpy(dc0, d_c_final, sizeof(float) * Count(B, d));
    else std::fill(dc0, dc0 + Count(B, d), 0.0f);
    LstmBackward(tape, W, d_outputs, dh0, dc0);
  } else {
    GruBackward(tape, W, d_outputs, dh0);
  }
  const float* dA = tape->gates.data();
  // Weight gradients over all steps at once.
  Gemm(true, false, n, cols, rows, 1.0f, xs, n, dA, cols, 0.0f, dW, cols);
  float* dWh = dW + Count(n, cols);
  if (lstm) {
    Gemm(true, false, d, cols, rows, 1.0f, tape->h_prev.data(), d, dA, cols, 0.0f, dWh, cols);
  } else {
    const int tail = cols - (l.u + d);
    Gemm(true, false, d, l.u, rows, 1.0f, tape->h_prev.data(), d, dA, cols, 0.0f, dWh, cols);
    Gemm(true, false, d, d, rows, 1.0f, tape->sh.data(), d, dA + l.u, cols, 0.0f, dWh + l.u, cols);
    if (tail > 0)
      Gemm(true, false, d, tail, rows, 1.0f, tape->h_prev.data(), d, dA + l.u + d, cols, 0.0f, dWh + l.u + d, cols);
  }
  std::fill(db, db + cols, 0.0f);
  for (int r = 0; r < rows; ++r) {
    const float* __restrict a = dA + Count(r, cols);
    float* __restrict out = db;
    for (int c = 0; c < cols; ++c) out[c] += a[c];
  }
  Gemm(false, true, rows, n, cols, 1.0f, dA, cols, W, cols, 0.0f, dxs, n);
}

}  // namespace urgate
