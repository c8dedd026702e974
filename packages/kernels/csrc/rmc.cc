#include "rmc.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "blas.h"
#include "fast_math.h"
#include "gates.h"
#include "parallel.h"
#include "simd.h"

namespace urgate {
namespace {

constexpr float kLayerNormEpsilon = 1e-5f;  // @urgate/rmc's LAYER_NORM_EPSILON

// Pointwise loops are split over the threads only where each thread gets at
// least this many elements of work: a thread's start (and, on a loaded
// machine, its wait for a core) then stays small against the work. At the
// benchmark's shapes every per-step loop runs inline.
constexpr size_t kMinWorkPerThread = size_t{1} << 20;

size_t MinRows(size_t work_per_row) { return std::max<size_t>(1, kMinWorkPerThread / std::max<size_t>(1, work_per_row)); }

size_t Count(size_t a, size_t b, size_t c = 1) { return a * b * c; }

// Rows of a [rows, width] matrix set to one vector (a bias the gemm then adds to).
void FillRows(float* x, size_t rows, int width, const float* v) {
  for (size_t r = 0; r < rows; ++r) std::memcpy(x + r * width, v, sizeof(float) * width);
}

// out[c] = sum over rows of x[r, c].
URGATE_VECTOR_LOOP void ColumnSums(const float* x, size_t rows, int width, float* __restrict out) {
  std::fill(out, out + width, 0.0f);
  for (size_t r = 0; r < rows; ++r) {
    const float* __restrict row = x + r * width;
    for (int c = 0; c < width; ++c) out[c] += row[c];
  }
}

// Eight partial sums, so that g++ vectorises the reduction without -ffast-math.
inline float Dot(const float* __restrict a, const float* __restrict b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[j + l] * b[j + l];
  float s = 0;
  for (; j < n; ++j) s += a[j] * b[j];
  return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

inline float Sum(const float* __restrict a, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[j + l];
  float s = 0;
  for (; j < n; ++j) s += a[j];
  return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

inline void Axpy(float alpha, const float* __restrict x, float* __restrict y, int n) {
  for (int j = 0; j < n; ++j) y[j] += alpha * x[j];
}

// Layer normalisation of each row (population variance, as Sonnet): hat and
// rstd are kept for the backward pass; y may be the input itself.
URGATE_VECTOR_LOOP void LayerNormRows(size_t rows, int width, const float* x, const float* __restrict gamma,
                                             const float* __restrict beta, float* __restrict hat,
                                             float* __restrict rstd, float* y) {
  ParallelFor(rows, MinRows(width), [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
    for (size_t r = lo; r < hi; ++r) {
      const float* xr = x + r * width;
      const float mean = Sum(xr, width) / width;
      float* __restrict h = hat + r * width;
      for (int j = 0; j < width; ++j) h[j] = xr[j] - mean;
      const float var = Dot(h, h, width) / width;
      const float rs = 1.0f / std::sqrt(var + kLayerNormEpsilon);
      rstd[r] = rs;
      float* yr = y + r * width;
      for (int j = 0; j < width; ++j) {
        h[j] *= rs;
        yr[j] = h[j] * gamma[j] + beta[j];
      }
    }
  });
}

// Backward of LayerNormRows given dL/dy: writes dL/dx to dx (which may be hat
// itself) and adds to dgamma, dbeta. dx = rstd (dhat - mean(dhat) - hat mean(dhat hat)).
// Rows are split over the threads, each summing its own dgamma, dbeta.
URGATE_VECTOR_LOOP void LayerNormBackwardRows(size_t rows, int width, const float* dy, const float* hat,
                                                     const float* __restrict rstd, const float* __restrict gamma,
                                                     float* dx, float* __restrict dgamma, float* __restrict dbeta) {
  const size_t workers = static_cast<size_t>(NumThreads());
  std::vector<float> work(Count(workers, 3, width), 0.0f);  // per worker: dgamma, dbeta, dhat
  ParallelFor(rows, MinRows(width), [&](size_t lo, size_t hi, int worker) URGATE_VECTOR_LOOP {
    float* __restrict dg = work.data() + Count(worker, 3, width);
    float* __restrict db = dg + width;
    float* __restrict dhat = db + width;
    for (size_t r = lo; r < hi; ++r) {
      const float* dyr = dy + r * width;
      const float* hr = hat + r * width;
      for (int j = 0; j < width; ++j) {
        dg[j] += dyr[j] * hr[j];
        db[j] += dyr[j];
        dhat[j] = dyr[j] * gamma[j];
      }
      const float m1 = Sum(dhat, width) / width;
      const float m2 = Dot(dhat, hr, width) / width;
      const float rs = rstd[r];
      float* dxr = dx + r * width;
      for (int j = 0; j < width; ++j) dxr[j] = rs * (dhat[j] - m1 - hr[j] * m2);
    }
  });
  for (size_t k = 0; k < workers; ++k) {
    const float* __restrict dg = work.data() + Count(k, 3, width);
    for (int j = 0; j < width; ++j) {
      dgamma[j] += dg[j];
      dbeta[j] += dg[width + j];
    }
  }
}

// Multi-head attention of each of the S rows of a batch element over all S,
// from the normalised qkv features Y [B*S, F] (per head q, k, v): stores the
// weights w [B, H, S, S] and writes the heads side by side into out [B*S, D].
URGATE_VECTOR_LOOP void AttentionForward(const RmcShape& s, const float* Y, float* w, float* out) {
  const int S = s.Rows(), H = s.num_heads, kd = s.key_size, hd = s.head_size, F = s.QkvCols(), D = s.Mem();
  const float scale = 1.0f / std::sqrt(static_cast<float>(kd));
  ParallelFor(Count(s.batch, H), MinRows(Count(S, S, 2 * (kd + hd))), [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
    for (size_t bh = lo; bh < hi; ++bh) {
      const size_t b = bh / H, head = bh % H;
      const float* base = Y + Count(b, S, F) + head * (2 * kd + hd);
      float* wb = w + Count(bh, S, S);
      for (int i = 0; i < S; ++i) {
        float* wi = wb + Count(i, S);
        const float* q = base + Count(i, F);
        float mx = -INFINITY;
        for (int j = 0; j < S; ++j) {
          wi[j] = scale * Dot(q, base + Count(j, F) + kd, kd);
          mx = wi[j] > mx ? wi[j] : mx;
        }
        float sum = 0;
        for (int j = 0; j < S; ++j) sum += wi[j] = std::exp(wi[j] - mx);
        const float inv = 1.0f / sum;
        for (int j = 0; j < S; ++j) wi[j] *= inv;
        float* o = out + Count(b * S + i, D) + head * hd;
        std::fill(o, o + hd, 0.0f);
        for (int j = 0; j < S; ++j) Axpy(wi[j], base + Count(j, F) + 2 * kd, o, hd);
      }
    }
  });
}

// Backward of AttentionForward: dL/d(attention output) dout [B*S, D] to
// dL/dY [B*S, F] (overwritten).
URGATE_VECTOR_LOOP void AttentionBackward(const RmcShape& s, const float* Y, const float* w, const float* dout,
                                                 float* dY) {
  const int S = s.Rows(), H = s.num_heads, kd = s.key_size, hd = s.head_size, F = s.QkvCols(), D = s.Mem();
  const float scale = 1.0f / std::sqrt(static_cast<float>(kd));
  ParallelFor(Count(s.batch, H), MinRows(Count(S, S, 2 * (kd + hd))), [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
    std::vector<float> dw(S);
    for (size_t bh = lo; bh < hi; ++bh) {
      const size_t b = bh / H, head = bh % H;
      const size_t at = Count(b, S, F) + head * (2 * kd + hd);
      const float* base = Y + at;
      float* dbase = dY + at;
      for (int i = 0; i < S; ++i) std::fill(dbase + Count(i, F), dbase + Count(i, F) + 2 * kd + hd, 0.0f);
      const float* wb = w + Count(bh, S, S);
      for (int i = 0; i < S; ++i) {
        const float* wi = wb + Count(i, S);
        const float* da = dout + Count(b * S + i, D) + head * hd;
        float dot = 0;
        for (int j = 0; j < S; ++j) {
          dw[j] = Dot(da, base + Count(j, F) + 2 * kd, hd);
          Axpy(wi[j], da, dbase + Count(j, F) + 2 * kd, hd);  // dv_j
          dot += wi[j] * dw[j];
        }
        const float* q = base + Count(i, F);
        float* dq = dbase + Count(i, F);
        for (int j = 0; j < S; ++j) {
          const float dl = scale * wi[j] * (dw[j] - dot);  // through softmax and the scale
          Axpy(dl, base + Count(j, F) + kd, dq, kd);
          Axpy(dl, q, dbase + Count(j, F) + kd, kd);  // dk_j
        }
      }
    }
  });
}

URGATE_VECTOR_LOOP void ReluInPlace(float* __restrict x, size_t n) {
  for (size_t j = 0; j < n; ++j) x[j] = x[j] > 0.0f ? x[j] : 0.0f;
}

// dx where the ReLU's output a was positive, else 0.
URGATE_VECTOR_LOOP void ReluBackward(float* __restrict dx, const float* __restrict a, size_t n) {
  for (size_t j = 0; j < n; ++j) dx[j] = a[j] > 0.0f ? dx[j] : 0.0f;
}

URGATE_VECTOR_LOOP void TanhRows(const float* __restrict x, float* __restrict y, int n) {
  for (int j = 0; j < n; ++j) y[j] = Tanh(x[j]);
}

// M_new = I * tanh(att) + F * M_prev for one slot; gates per unit or (width 1) per slot.
URGATE_VECTOR_LOOP void GatedUpdate(int D, bool per_unit, const float* __restrict F, const float* __restrict I,
                                           const float* __restrict att, float* __restrict ta,
                                           const float* __restrict mp, float* __restrict mn) {
  for (int j = 0; j < D; ++j) ta[j] = Tanh(att[j]);
  if (per_unit) {
    for (int j = 0; j < D; ++j) mn[j] = I[j] * ta[j] + F[j] * mp[j];
  } else {
    const float f = F[0], i = I[0];
    for (int j = 0; j < D; ++j) mn[j] = i * ta[j] + f * mp[j];
  }
}

// Backward of GatedUpdate given dL/dM_new dm: dL/d(att) to datt, dL/dF and
// dL/dI to dF, dI, and the direct part of dL/dM_prev to dmp.
URGATE_VECTOR_LOOP void GatedUpdateBackward(int D, bool per_unit, const float* __restrict F,
                                                   const float* __restrict I, const float* __restrict ta,
                                                   const float* __restrict mp, const float* __restrict dm,
                                                   float* __restrict datt, float* __restrict dF,
                                                   float* __restrict dI, float* __restrict dmp) {
  if (per_unit) {
    for (int j = 0; j < D; ++j) {
      datt[j] = dm[j] * I[j] * (1.0f - ta[j] * ta[j]);
      dI[j] = dm[j] * ta[j];
      dF[j] = dm[j] * mp[j];
      dmp[j] = dm[j] * F[j];
    }
  } else {
    const float f = F[0], i = I[0];
    for (int j = 0; j < D; ++j) {
      datt[j] = dm[j] * i * (1.0f - ta[j] * ta[j]);
      dmp[j] = dm[j] * f;
    }
    dI[0] = Dot(dm, ta, D);
    dF[0] = Dot(dm, mp, D);
  }
}

// Offsets into the tape's block-major arrays.
struct TapeIndex {
  size_t T, K, R, D, F, attn;
  size_t Block(size_t k, size_t t) const { return (k * T + t) * R * D; }
  size_t Qkv(size_t k, size_t t) const { return (k * T + t) * R * F; }
  size_t Attn(size_t k, size_t t) const { return (k * T + t) * attn; }
  size_t Mlp(size_t l, size_t k, size_t t) const { return ((l * K + k) * T + t) * R * D; }
  size_t Rstd(size_t which, size_t k, size_t t) const { return ((which * K + k) * T + t) * R; }
};

TapeIndex Index(const RmcShape& s) {
  return {static_cast<size_t>(s.steps), static_cast<size_t>(s.blocks),
          Count(s.batch, s.Rows()), static_cast<size_t>(s.Mem()), static_cast<size_t>(s.QkvCols()),
          Count(s.batch, s.num_heads, Count(s.Rows(), s.Rows()))};
}

}  // namespace

int RmcShape::GateSize() const {
  return gate_style == RmcGateStyle::kUnit ? Mem() : gate_style == RmcGateStyle::kMemory ? 1 : 0;
}

GateFamily ParseRmcMechanism(const std::string& m) {
  if (m == "-" || m == "C-" || m == "U-") return GateFamily::kPlain;
  if (m == "UR-") return GateFamily::kRefine;
  if (m == "OM-") return GateFamily::kCumaxMaster;
  throw std::invalid_argument("mechanism: the RMC kernel covers '-', 'C-', 'OM-', 'U-', 'UR-', got '" + m + "'");
}

void ValidateRmcShape(const RmcShape& s) {
  auto positive = [](int v, const char* name) {
    if (v <= 0) throw std::invalid_argument(std::string(name) + ": expected a positive integer, got " + std::to_string(v));
  };
  positive(s.input, "inputSize");
  positive(s.slots, "memSlots");
  positive(s.head_size, "headSize");
  positive(s.num_heads, "numHeads");
  positive(s.key_size, "keySize");
  positive(s.blocks, "numBlocks");
  positive(s.mlp_layers, "mlpLayers");
  positive(s.batch, "batch");
  positive(s.steps, "steps");
  if (s.family != GateFamily::kPlain && s.family != GateFamily::kRefine && s.family != GateFamily::kCumaxMaster)
    throw std::invalid_argument("mechanism: the RMC kernel covers '-', 'C-', 'OM-', 'U-', 'UR-'");
  if (s.gate_style == RmcGateStyle::kNone && s.family != GateFamily::kPlain)
    throw std::invalid_argument("gateStyle: 'none' has no gates for a mechanism to apply to");
  if (s.family == GateFamily::kCumaxMaster) {
    positive(s.downsize, "downsize");
    if (s.GateSize() % s.downsize != 0)
      throw std::invalid_argument("downsize: must divide the gate size " + std::to_string(s.GateSize()) + ", got " +
                                  std::to_string(s.downsize));
  }
  // OpenBLAS takes 32-bit dimensions and JavaScript typed arrays are bounded:
  // the widest per-step array over all steps must stay below 2^31 elements.
  const long long rows = static_cast<long long>(s.steps) * s.batch * s.Rows();
  const long long width = std::max({static_cast<long long>(s.QkvCols()), 3LL * s.Mem() + 2, 1LL * s.input});
  if (rows * width * std::max(s.blocks, s.mlp_layers) >= (1LL << 31))
    throw std::invalid_argument(
        "steps: steps * batch * (memSlots + 1) * max(qkv features, 3 * memSize) * max(numBlocks, mlpLayers) must stay "
        "below 2^31 elements");
}

Layout RmcGateLayout(const RmcShape& s) {
  Layout l;
  const int g = s.GateSize();
  if (g == 0) return l;
  (s.family == GateFamily::kRefine ? l.r : l.i) = 0;
  l.f = g;
  l.cols = 2 * g;
  if (s.family == GateFamily::kCumaxMaster) {
    l.masters = g / s.downsize;
    l.mf = l.cols;
    l.mi = l.cols + l.masters;
    l.cols += 2 * l.masters;
  }
  return l;
}

std::vector<size_t> RmcParamSizes(const RmcShape& s) {
  const size_t n = s.input, D = s.Mem(), F = s.QkvCols(), G = RmcGateLayout(s).cols;
  std::vector<size_t> sizes = {n * D, D};
  for (int k = 0; k < s.blocks; ++k) sizes.insert(sizes.end(), {D * F, F, F, F, D, D, D, D});
  for (int l = 0; l < s.mlp_layers; ++l) sizes.insert(sizes.end(), {D * D, D});
  if (s.gate_style != RmcGateStyle::kNone) sizes.insert(sizes.end(), {D * G, D * G, G});
  return sizes;
}

template <typename P>
RmcParamSet<P> RmcParamsFromFlat(const RmcShape& s, const std::vector<P>& flat) {
  if (flat.size() != RmcParamSizes(s).size()) throw std::invalid_argument("params: wrong number of parameter arrays");
  RmcParamSet<P> p;
  size_t at = 0;
  p.input_W = flat[at++];
  p.input_b = flat[at++];
  for (int k = 0; k < s.blocks; ++k) {
    RmcBlockParams<P> b;
    for (P* field : {&b.qkv_W, &b.qkv_b, &b.qkv_gamma, &b.qkv_beta, &b.attention_gamma, &b.attention_beta,
                     &b.mlp_gamma, &b.mlp_beta})
      *field = flat[at++];
    p.blocks.push_back(b);
  }
  for (int l = 0; l < s.mlp_layers; ++l) {
    p.mlp_W.push_back(flat[at++]);
    p.mlp_b.push_back(flat[at++]);
  }
  if (s.gate_style != RmcGateStyle::kNone) {
    p.gate_memory_W = flat[at++];
    p.gate_input_W = flat[at++];
    p.gate_bias = flat[at++];
  }
  return p;
}

template RmcParamSet<const float*> RmcParamsFromFlat(const RmcShape&, const std::vector<const float*>&);
template RmcParamSet<float*> RmcParamsFromFlat(const RmcShape&, const std::vector<float*>&);

size_t RmcTape::Bytes() const {
  return sizeof(float) * (xhat.size() + block_in.size() + qkv_hat.size() + attn.size() + att_hat.size() +
                          mlp_in.size() + mlp_hat.size() + rstd.size() + tanh_m.size() + gates.size() +
                          tanh_att.size() + gate_in.size() + d_mlp.size() + d_xhat.size() + d_gate_in.size());
}

RmcForwardPass::RmcForwardPass(const RmcShape& shape) : shape_(shape) { ValidateRmcShape(shape); }

void RmcForwardPass::Run(const RmcWeights& w, const float* xs, const float* memory0, float* outputs,
                         RmcTape* tape) const {
  const RmcShape& s = shape_;
  const int T = s.steps, B = s.batch, n = s.input, N = s.slots, S = s.Rows(), D = s.Mem(), F = s.QkvCols();
  const int K = s.blocks, L = s.mlp_layers;
  const size_t R = Count(B, S), Rn = Count(B, N);
  const bool gated = s.gate_style != RmcGateStyle::kNone;
  const Layout gl = RmcGateLayout(s);
  const int G = gl.cols, g = s.GateSize();
  const TapeIndex at = Index(s);
  tape->shape = s;
  tape->gate_layout = gl;
  tape->xhat.resize(Count(T, B, D));
  tape->block_in.resize(Count(K, T, R * D));
  tape->qkv_hat.resize(Count(K, T, R * F));
  tape->attn.resize(Count(K, T, at.attn));
  tape->att_hat.resize(Count(K, T, R * D));
  tape->mlp_in.resize(Count(L, K, Count(T, R, D)));
  tape->mlp_hat.resize(Count(K, T, R * D));
  tape->rstd.resize(Count(3, K, Count(T, R)));
  tape->tanh_m.resize(gated ? Count(T, Rn, D) : 0);
  tape->gates.resize(gated ? Count(T, Rn, G) : 0);
  tape->tanh_att.resize(gated ? Count(T, Rn, D) : 0);

  // Input projections of all steps, and their gate terms, in one gemm each.
  float* xhat = tape->xhat.data();
  FillRows(xhat, Count(T, B), D, w.input_b);
  Gemm(false, false, T * B, D, n, 1.0f, xs, n, w.input_W, D, 1.0f, xhat, D);
  tape->gate_in.resize(gated ? Count(T, B, G) : 0);
  const float* gate_in = tape->gate_in.data();
  if (gated) {
    FillRows(tape->gate_in.data(), Count(T, B), G, w.gate_bias);
    Gemm(false, false, T * B, G, D, 1.0f, xhat, D, w.gate_input_W, G, 1.0f, tape->gate_in.data(), G);
  }

  std::vector<float> qkv(R * F), att(R * D), sum(R * D), out(R * D);
  // per thread: F, I and the gate functions' scratch
  const size_t gate_floats = 2 * g + GateScratchSize(gl, g);
  std::vector<float> gate_scratch(NumThreads() * gate_floats);
  const float* mprev = memory0;
  for (int t = 0; t < T; ++t) {
    // [M; x̂] for each batch element.
    float* x0 = tape->block_in.data() + at.Block(0, t);
    for (int b = 0; b < B; ++b) {
      std::memcpy(x0 + Count(b, S, D), mprev + Count(b, N, D), sizeof(float) * Count(N, D));
      std::memcpy(x0 + Count(b * S + N, D), xhat + Count(t * B + b, D), sizeof(float) * D);
    }
    const float* x = x0;
    for (int k = 0; k < K; ++k) {
      const RmcBlockParams<const float*>& bw = w.blocks[k];
      FillRows(qkv.data(), R, F, bw.qkv_b);
      Gemm(false, false, R, F, D, 1.0f, x, D, bw.qkv_W, F, 1.0f, qkv.data(), F);
      LayerNormRows(R, F, qkv.data(), bw.qkv_gamma, bw.qkv_beta, tape->qkv_hat.data() + at.Qkv(k, t),
                    tape->rstd.data() + at.Rstd(0, k, t), qkv.data());
      AttentionForward(s, qkv.data(), tape->attn.data() + at.Attn(k, t), att.data());
      for (size_t j = 0; j < R * D; ++j) sum[j] = x[j] + att[j];
      float* m1 = tape->mlp_in.data() + at.Mlp(0, k, t);
      LayerNormRows(R, D, sum.data(), bw.attention_gamma, bw.attention_beta, tape->att_hat.data() + at.Block(k, t),
                    tape->rstd.data() + at.Rstd(1, k, t), m1);
      for (int l = 0; l < L; ++l) {
        const float* a = tape->mlp_in.data() + at.Mlp(l, k, t);
        float* z = l + 1 < L ? tape->mlp_in.data() + at.Mlp(l + 1, k, t) : sum.data();
        FillRows(z, R, D, w.mlp_b[l]);
        Gemm(false, false, R, D, D, 1.0f, a, D, w.mlp_W[l], D, 1.0f, z, D);
        if (l + 1 < L) ReluInPlace(z, R * D);
      }
      for (size_t j = 0; j < R * D; ++j) sum[j] += m1[j];
      float* next = k + 1 < K ? tape->block_in.data() + at.Block(k + 1, t) : out.data();
      LayerNormRows(R, D, sum.data(), bw.mlp_gamma, bw.mlp_beta, tape->mlp_hat.data() + at.Block(k, t),
                    tape->rstd.data() + at.Rstd(2, k, t), next);
      x = next;
    }
    // out rows 0..N-1 of each batch element are the attended memory.
    float* mnew = outputs + Count(t, Rn, D);
    if (!gated) {
      for (int b = 0; b < B; ++b)
        std::memcpy(mnew + Count(b, N, D), out.data() + Count(b, S, D), sizeof(float) * Count(N, D));
    } else {
      float* tm = tape->tanh_m.data() + Count(t, Rn, D);
      for (size_t r = 0; r < Rn; ++r) TanhRows(mprev + r * D, tm + r * D, D);
      float* pre = tape->gates.data() + Count(t, Rn, G);
      for (int b = 0; b < B; ++b) FillRows(pre + Count(b, N, G), N, G, gate_in + Count(t * B + b, G));
      Gemm(false, false, Rn, G, D, 1.0f, tm, D, w.gate_memory_W, G, 1.0f, pre, G);
      ParallelFor(Rn, MinRows(G + 3 * D), [&](size_t lo, size_t hi, int worker) URGATE_VECTOR_LOOP {
        float* Fg = gate_scratch.data() + worker * gate_floats;
        float* Ig = Fg + g;
        float* gs = Ig + g;
        for (size_t r = lo; r < hi; ++r) {
          const size_t b = r / N, sl = r % N;
          float* row = pre + r * G;
          ActivateGates(Core::kLstm, s.family, gl, g, row);
          EffectiveGates(Core::kLstm, s.family, gl, g, s.downsize, row, Fg, Ig, gs);
          GatedUpdate(D, g > 1, Fg, Ig, out.data() + Count(b * S + sl, D),
                      tape->tanh_att.data() + Count(t, Rn, D) + r * D, mprev + r * D, mnew + r * D);
        }
      });
    }
    mprev = mnew;
  }
}

void RmcBackwardPass::Run(RmcTape* tape, const RmcWeights& w, const float* xs, const float* d_outputs, float* dxs,
                          float* dmemory0, const RmcGrads& grad) const {
  const RmcShape& s = tape->shape;
  const Layout& gl = tape->gate_layout;
  const int T = s.steps, B = s.batch, n = s.input, N = s.slots, S = s.Rows(), D = s.Mem(), F = s.QkvCols();
  const int K = s.blocks, L = s.mlp_layers;
  const size_t R = Count(B, S), Rn = Count(B, N);
  const bool gated = s.gate_style != RmcGateStyle::kNone;
  const int G = gl.cols, g = s.GateSize();
  const TapeIndex at = Index(s);

  for (int k = 0; k < K; ++k) {
    const RmcBlockParams<float*>& bg = grad.blocks[k];
    for (float* p : {bg.qkv_gamma, bg.qkv_beta}) std::fill(p, p + F, 0.0f);
    for (float* p : {bg.attention_gamma, bg.attention_beta, bg.mlp_gamma, bg.mlp_beta}) std::fill(p, p + D, 0.0f);
  }
  // dL/d(MLP layer l's output) of layers 0..L-2 over all blocks and steps
  // (the last layer's is written over mlp_hat): kept for the weight gemms.
  tape->d_mlp.resize(Count(L - 1, K, Count(T, R, D)));
  tape->d_xhat.resize(Count(T, B, D));
  float* dz = tape->d_mlp.data();
  float* dxhat = tape->d_xhat.data();
  std::vector<float> dM(Rn * D, 0.0f), dmn(Rn * D), dtm(gated ? Rn * D : 0);
  std::vector<float> dX(R * D), dM1(R * D), Y(R * F), dY(R * F);
  // per thread: F, I, dF, dI and the gate functions' scratch
  const size_t gate_floats = 4 * g + GateScratchSize(gl, g);
  std::vector<float> gate_scratch(NumThreads() * gate_floats);

  for (int t = T - 1; t >= 0; --t) {
    const float* dout = d_outputs + Count(t, Rn, D);
    for (size_t j = 0; j < Rn * D; ++j) dmn[j] = dout[j] + dM[j];
    const float* x0 = tape->block_in.data() + at.Block(0, t);  // M_prev rows and x̂ rows
    if (gated) {
      float* dpre = tape->gates.data() + Count(t, Rn, G);
      ParallelFor(Rn, MinRows(G + 3 * D), [&](size_t lo, size_t hi, int worker) URGATE_VECTOR_LOOP {
        float* Fg = gate_scratch.data() + worker * gate_floats;
        float* Ig = Fg + g;
        float* dF = Ig + g;
        float* dI = dF + g;
        float* gs = dI + g;
        for (size_t r = lo; r < hi; ++r) {
          const size_t b = r / N, sl = r % N;
          float* row = dpre + r * G;
          EffectiveGates(Core::kLstm, s.family, gl, g, s.downsize, row, Fg, Ig, gs);
          GatedUpdateBackward(D, g > 1, Fg, Ig, tape->tanh_att.data() + Count(t, Rn, D) + r * D,
                              x0 + Count(b * S + sl, D), dmn.data() + r * D, dX.data() + Count(b * S + sl, D), dF,
                              dI, dM.data() + r * D);
          GatesBackward(Core::kLstm, s.family, gl, g, s.downsize, row, dF, dI, gs);
        }
      });
      // pre = tanh(M_prev) W_m + ...: back to M_prev.
      Gemm(false, true, Rn, D, G, 1.0f, dpre, G, w.gate_memory_W, G, 0.0f, dtm.data(), D);
      const float* tm = tape->tanh_m.data() + Count(t, Rn, D);
      for (size_t j = 0; j < Rn * D; ++j) dM[j] += dtm[j] * (1.0f - tm[j] * tm[j]);
    } else {
      for (int b = 0; b < B; ++b)
        std::memcpy(dX.data() + Count(b, S, D), dmn.data() + Count(b, N, D), sizeof(float) * Count(N, D));
      std::fill(dM.begin(), dM.end(), 0.0f);
    }
    for (int b = 0; b < B; ++b) std::fill(dX.data() + Count(b * S + N, D), dX.data() + Count(b * S + N + 1, D), 0.0f);

    for (int k = K - 1; k >= 0; --k) {
      const RmcBlockParams<const float*>& bw = w.blocks[k];
      const RmcBlockParams<float*>& bg = grad.blocks[k];
      // dX: dL/d(block output) -> dL/d(mlp_in[0] + MLP), written over mlp_hat.
      float* dU2 = tape->mlp_hat.data() + at.Block(k, t);
      LayerNormBackwardRows(R, D, dX.data(), dU2, tape->rstd.data() + at.Rstd(2, k, t), bw.mlp_gamma, dU2,
                            bg.mlp_gamma, bg.mlp_beta);
      const float* dzl = dU2;
      for (int l = L - 1; l >= 1; --l) {
        float* da = dz + at.Mlp(l - 1, k, t);
        Gemm(false, true, R, D, D, 1.0f, dzl, D, w.mlp_W[l], D, 0.0f, da, D);
        ReluBackward(da, tape->mlp_in.data() + at.Mlp(l, k, t), R * D);
        dzl = da;
      }
      std::memcpy(dM1.data(), dU2, sizeof(float) * R * D);
      Gemm(false, true, R, D, D, 1.0f, dzl, D, w.mlp_W[0], D, 1.0f, dM1.data(), D);
      // dL/d(block input + attention), written over att_hat.
      float* dU1 = tape->att_hat.data() + at.Block(k, t);
      LayerNormBackwardRows(R, D, dM1.data(), dU1, tape->rstd.data() + at.Rstd(1, k, t), bw.attention_gamma, dU1,
                            bg.attention_gamma, bg.attention_beta);
      // The normalised qkv features again (cheaper to recompute than to keep).
      float* qhat = tape->qkv_hat.data() + at.Qkv(k, t);
      ParallelFor(R, MinRows(F), [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
        for (size_t r = lo; r < hi; ++r) {
          const float* __restrict h = qhat + r * F;
          float* __restrict y = Y.data() + r * F;
          for (int j = 0; j < F; ++j) y[j] = h[j] * bw.qkv_gamma[j] + bw.qkv_beta[j];
        }
      });
      AttentionBackward(s, Y.data(), tape->attn.data() + at.Attn(k, t), dU1, dY.data());
      LayerNormBackwardRows(R, F, dY.data(), qhat, tape->rstd.data() + at.Rstd(0, k, t), bw.qkv_gamma, qhat,
                            bg.qkv_gamma, bg.qkv_beta);
      // dL/d(block input): the residual plus the qkv linear.
      std::memcpy(dX.data(), dU1, sizeof(float) * R * D);
      Gemm(false, true, R, D, F, 1.0f, qhat, F, bw.qkv_W, F, 1.0f, dX.data(), D);
    }
    // dX is dL/d[M_prev; x̂].
    for (int b = 0; b < B; ++b) {
      float* __restrict dm = dM.data() + Count(b, N, D);
      const float* __restrict dx = dX.data() + Count(b, S, D);
      for (size_t j = 0; j < Count(N, D); ++j) dm[j] += dx[j];
      std::memcpy(dxhat + Count(t * B + b, D), dX.data() + Count(b * S + N, D), sizeof(float) * D);
    }
  }
  std::memcpy(dmemory0, dM.data(), sizeof(float) * Rn * D);

  // Weight gradients: one gemm per weight over all steps (and blocks).
  const size_t TR = Count(T, R);
  for (int k = 0; k < K; ++k) {
    const float* dP = tape->qkv_hat.data() + at.Qkv(k, 0);
    Gemm(true, false, D, F, TR, 1.0f, tape->block_in.data() + at.Block(k, 0), D, dP, F, 0.0f, grad.blocks[k].qkv_W,
         F);
    ColumnSums(dP, TR, F, grad.blocks[k].qkv_b);
  }
  for (int l = 0; l < L; ++l) {
    const float* dzl = l + 1 < L ? dz + at.Mlp(l, 0, 0) : tape->mlp_hat.data();
    Gemm(true, false, D, D, K * TR, 1.0f, tape->mlp_in.data() + at.Mlp(l, 0, 0), D, dzl, D, 0.0f, grad.mlp_W[l], D);
    ColumnSums(dzl, K * TR, D, grad.mlp_b[l]);
  }
  if (gated) {
    const float* dpre = tape->gates.data();
    Gemm(true, false, D, G, T * Rn, 1.0f, tape->tanh_m.data(), D, dpre, G, 0.0f, grad.gate_memory_W, G);
    // The input term is broadcast over the slots: its gradient sums them.
    tape->d_gate_in.resize(Count(T, B, G));
    float* dgi = tape->d_gate_in.data();
    for (size_t tb = 0; tb < Count(T, B); ++tb) {
      float* __restrict dst = dgi + tb * G;
      std::fill(dst, dst + G, 0.0f);
      for (int sl = 0; sl < N; ++sl) {
        const float* __restrict src = dpre + (tb * N + sl) * G;
        for (int c = 0; c < G; ++c) dst[c] += src[c];
      }
    }
    Gemm(true, false, D, G, T * B, 1.0f, tape->xhat.data(), D, dgi, G, 0.0f, grad.gate_input_W, G);
    ColumnSums(dgi, Count(T, B), G, grad.gate_bias);
    Gemm(false, true, T * B, D, G, 1.0f, dgi, G, w.gate_input_W, G, 1.0f, dxhat, D);
  }
  Gemm(true, false, n, D, T * B, 1.0f, xs, n, dxhat, D, 0.0f, grad.input_W, D);
  ColumnSums(dxhat, Count(T, B), D, grad.input_b);
  Gemm(false, true, T * B, n, D, 1.0f, dxhat, D, w.input_W, D, 0.0f, dxs, n);
}

}  // namespace urgate
