#include "lm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "blas.h"
#include "fast_math.h"
#include "parallel.h"
#include "rnn.h"
#include "simd.h"

namespace urgate {
namespace {

constexpr float kLnEpsilon = 1e-5f;
// Rows of the output layer per chunk: a chunk's logits stay near 16 MB (in
// cache-friendly reach, and never the whole [T·B, V]) while the weight
// gradient GEMM still has a long enough inner dimension.
constexpr size_t kChunkFloats = size_t{1} << 22;

size_t Count(size_t a, size_t b, size_t c = 1) { return a * b * c; }

LayerShape LayerAt(const LmShape& s, int l) {
  LayerShape ls;
  ls.core = s.core;
  ls.family = s.family;
  ls.input = l == 0 ? s.embedding : s.hidden;
  ls.hidden = s.hidden;
  ls.downsize = s.downsize;
  ls.batch = s.batch;
  ls.steps = s.steps;
  return ls;
}

int ChunkRows(const LmShape& s) {
  const size_t rows = std::max<size_t>(256, kChunkFloats / static_cast<size_t>(s.vocab));
  return static_cast<int>(std::min<size_t>(rows, Count(s.steps, s.batch)));
}

// mulberry32 as in @urgate/cells' SeededRandom: the state advances by a
// constant per draw, so draw k is a pure function of (seed, k) and the mask
// needs no sequential pass.
constexpr uint32_t kGolden = 0x6d2b79f5u;

uint32_t InitialState(double seed) {
  const auto low = static_cast<uint32_t>(static_cast<int64_t>(seed));
  const auto high = static_cast<uint32_t>(static_cast<int64_t>(std::floor(seed / 4294967296.0)));
  return low ^ (high * 0x9e3779b9u) ^ kGolden;
}

inline uint32_t Mulberry(uint32_t state) {
  uint32_t t = state;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

// The k-th draw of SeededRandom(seed) (seed given as InitialState(seed)), in [0, 1).
inline double Draw(uint32_t init, size_t k) {
  const uint32_t s1 = init + static_cast<uint32_t>(2 * k + 1) * kGolden;
  const uint32_t hi27 = Mulberry(s1) >> 5;
  const uint32_t lo26 = Mulberry(s1 + kGolden) >> 6;
  return (hi27 * 67108864.0 + lo26) / 9007199254740992.0;
}

// BernoulliMask and BernoulliMaskRows for any element type (float multipliers, byte flags).
template <typename T>
void FillMask(double rate, double seed, size_t n, T hit, T miss, T* out) {
  const uint32_t init = InitialState(seed);
  ParallelFor(n, 1 << 16, [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
    for (size_t k = lo; k < hi; ++k) out[k] = Draw(init, k) < rate ? hit : miss;
  });
}

template <typename T>
void FillMaskRows(double rate, double seed, size_t steps, size_t batch, size_t width, size_t total, size_t offset,
                  T hit, T miss, T* out) {
  const uint32_t init = InitialState(seed);
  ParallelFor(steps * batch, std::max<size_t>(1, (1 << 16) / std::max<size_t>(1, width)),
              [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
                for (size_t r = lo; r < hi; ++r) {
                  const size_t global = ((r / batch) * total + offset + r % batch) * width;
                  for (size_t e = 0; e < width; ++e) out[r * width + e] = Draw(init, global + e) < rate ? hit : miss;
                }
              });
}

// Which elements of a [steps, batch, width] activation inverted dropout keeps (1) and drops (0):
// bytes, a quarter of the multipliers' floats (the window's rows of the whole batch's masks when
// the window is one rank's share).
void DropoutKept(const LmShape& s, const LmDropout& dropout, double seed, int width, std::vector<uint8_t>* kept) {
  const size_t n = Count(Count(s.steps, s.batch), width);
  kept->resize(n);
  if (dropout.rows_total == 0)
    FillMask<uint8_t>(dropout.rate, seed, n, 0, 1, kept->data());
  else
    FillMaskRows<uint8_t>(dropout.rate, seed, s.steps, s.batch, width, dropout.rows_total, dropout.row_offset, 0, 1,
                          kept->data());
}

// Inverted dropout's multiplier of a kept element, 1 / (1 - rate): the forward pass and the
// backward pass must scale by the same float.
inline float DropoutKeep(const LmDropout& dropout) { return static_cast<float>(1.0 / (1.0 - dropout.rate)); }

// x[k] *= kept[k] ? keep : 0 (the multiplier BernoulliMask gives, so the product is the same).
URGATE_VECTOR_LOOP void ApplyKept(const uint8_t* __restrict kept, float keep, size_t n, float* __restrict x) {
  for (size_t k = 0; k < n; ++k) x[k] *= kept[k] ? keep : 0.0f;
}

// z = γ x̂ + β with x̂ the rows of h normalised; x̂ and 1/σ are kept when asked (training).
void LayerNormForward(size_t N, int d, const float* h_rows, const float* gamma, const float* beta, float* xhat_rows,
                      float* rstd_rows, float* z_rows) {
  ParallelFor(N, 64, [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
    for (size_t r = lo; r < hi; ++r) {
      const float* __restrict h = h_rows + Count(r, d);
      float* __restrict z = z_rows + Count(r, d);
      double sum = 0;
      for (int j = 0; j < d; ++j) sum += h[j];
      const float mean = static_cast<float>(sum / d);
      double sq = 0;
      for (int j = 0; j < d; ++j) sq += static_cast<double>(h[j] - mean) * (h[j] - mean);
      const float rstd = static_cast<float>(1.0 / std::sqrt(sq / d + kLnEpsilon));
      if (rstd_rows) rstd_rows[r] = rstd;
      for (int j = 0; j < d; ++j) {
        const float xh = (h[j] - mean) * rstd;
        if (xhat_rows) xhat_rows[Count(r, d) + j] = xh;
        z[j] = xh * gamma[j] + beta[j];
      }
    }
  });
}

void RunForward(const LmShape& s, const LmParams& p, const LmBatch& batch, const LmDropout& dropout,
                LmWorkspace* a) {
  const int L = s.layers, E = s.embedding, d = s.hidden;
  const size_t N = Count(s.steps, s.batch);
  const bool lstm = s.core == Core::kLstm;
  const float keep = DropoutKeep(dropout);
  a->acts.resize(L + 1);
  a->tapes.resize(L);
  std::vector<float>& x = a->acts[0];
  x.resize(Count(N, E));
  for (size_t r = 0; r < N; ++r)
    std::memcpy(x.data() + Count(r, E), p.embedding + Count(batch.inputs[r], E), sizeof(float) * E);
  a->kept_e.clear();
  a->kept_o.clear();
  if (dropout.rate > 0) {
    DropoutKept(s, dropout, dropout.embedding_seed, E, &a->kept_e);
    ApplyKept(a->kept_e.data(), keep, x.size(), x.data());
  }
  SequenceExtras extras;
  extras.reset = batch.reset;
  for (int l = 0; l < L; ++l) {
    a->acts[l + 1].resize(Count(N, d));
    ForwardPass(LayerAt(s, l))
        .Run(p.W[l], p.b[l], a->acts[l].data(), batch.h0[l], lstm ? batch.c0[l] : nullptr, extras,
             a->acts[l + 1].data(), batch.h_final[l], lstm ? batch.c_final[l] : nullptr, &a->tapes[l]);
  }
  // No layer reads the top outputs again, so dropout applies in place.
  std::vector<float>& top = a->acts[L];
  if (dropout.rate > 0) {
    DropoutKept(s, dropout, dropout.output_seed, d, &a->kept_o);
    ApplyKept(a->kept_o.data(), keep, top.size(), top.data());
  }
  a->head = top.data();
  if (!s.layer_norm) return;
  a->xhat.resize(top.size());
  a->rstd.resize(N);
  a->z.resize(top.size());
  LayerNormForward(N, d, top.data(), p.gamma, p.beta, a->xhat.data(), a->rstd.data(), a->z.data());
  a->head = a->z.data();
}

// logits[rows, V] = head[r0 .. r0 + rows) op(W), without the bias: the row pass that reads the
// logits next adds it (AddRowMax), which saves writing the bias under every row and the GEMM
// reading it back (4% of the demo step's samples in perf).
void LogitsWithoutBias(const LmShape& s, const LmParams& p, const float* head, size_t r0, int rows, float* logits) {
  const int V = s.vocab, d = s.hidden;
  if (s.tied)
    Gemm(false, true, rows, V, d, 1.0f, head + Count(r0, d), d, p.embedding, d, 0.0f, logits, V);
  else
    Gemm(false, false, rows, V, d, 1.0f, head + Count(r0, d), d, p.out_w, V, 0.0f, logits, V);
}

// Full softmax output layer + cross-entropy, forward and backward, chunk by chunk. Returns the summed nll.
double FullSoftmaxTrain(const LmShape& s, const LmParams& p, const float* head_rows, const int32_t* targets,
                        float* d_head, std::vector<float>* logits_buffer, LmGrads* g) {
  const int V = s.vocab, d = s.hidden;
  const size_t N = Count(s.steps, s.batch);
  const int chunk = ChunkRows(s);
  const int workers = NumThreads();
  std::vector<float>& logits = *logits_buffer;
  logits.resize(Count(chunk, V));
  std::vector<double> loss_part(workers, 0.0);
  std::vector<float> db_part(Count(workers, V), 0.0f);
  const float inv_n = 1.0f / static_cast<float>(N);
  float* d_out_w = s.tied ? g->embedding : g->out_w;
  for (size_t r0 = 0; r0 < N; r0 += chunk) {
    const int rows = static_cast<int>(std::min<size_t>(chunk, N - r0));
    LogitsWithoutBias(s, p, head_rows, r0, rows, logits.data());
    ParallelFor(rows, 16, [&](size_t lo, size_t hi, int w) URGATE_VECTOR_LOOP {
      double loss = 0;
      float* __restrict db = db_part.data() + Count(w, V);
      for (size_t r = lo; r < hi; ++r) {
        float* __restrict x = logits.data() + Count(r, V);
        const int y = targets[r0 + r];
        const float mx = AddRowMax(x, p.out_b, V);
        const float xy = x[y];
        ExpShifted(x, V, mx);
        const float sum = RowSum(x, V);
        const float scale = inv_n / sum;
        for (int j = 0; j < V; ++j) {
          x[j] *= scale;
          db[j] += x[j];
        }
        x[y] -= inv_n;
        db[y] -= inv_n;
        loss += std::log(static_cast<double>(sum)) + mx - xy;
      }
      loss_part[w] += loss;
    });
    const float beta = r0 == 0 ? 0.0f : 1.0f;
    const float* head = head_rows + Count(r0, d);
    if (s.tied) {
      Gemm(false, false, rows, d, V, 1.0f, logits.data(), V, p.embedding, d, 0.0f, d_head + Count(r0, d), d);
      Gemm(true, false, V, d, rows, 1.0f, logits.data(), V, head, d, beta, d_out_w, d);
    } else {
      Gemm(false, true, rows, d, V, 1.0f, logits.data(), V, p.out_w, V, 0.0f, d_head + Count(r0, d), d);
      Gemm(true, false, d, V, rows, 1.0f, head, d, logits.data(), V, beta, d_out_w, V);
    }
  }
  double loss = 0;
  for (double part : loss_part) loss += part;
  std::fill(g->out_b, g->out_b + V, 0.0f);
  for (int w = 0; w < workers; ++w)
    for (int j = 0; j < V; ++j) g->out_b[j] += db_part[Count(w, V) + j];

  return loss;
}

// The adaptive softmax (adaptive_softmax.h) in the output layer's place; tied, its shortlist is
// the embedding's rows [0, c0), whose gradient it writes; the other rows' start at zero.
double AdaptiveTrain(const LmShape& s, const LmParams& p, const float* head_rows, const int32_t* targets,
                     float* d_head, LmGrads* g) {
  const AdaptiveSoftmaxShape as = AdaptiveOf(s);
  AdaptiveSoftmaxParams ap = p.adaptive;
  AdaptiveSoftmaxGrads ag = g->adaptive;
  if (s.tied) {
    ap.shortlist = p.embedding;
    ag.shortlist = g->embedding;
  }
  const size_t N = Count(s.steps, s.batch);
  const double loss =
      AdaptiveSoftmaxTrain(as, ap, head_rows, targets, N, 1.0f / static_cast<float>(N), d_head, &ag);
  if (s.tied)
    std::fill(g->embedding + Count(as.shortlist(), s.embedding), g->embedding + Count(s.vocab, s.embedding), 0.0f);
  return loss;
}

}  // namespace


void BernoulliMask(double rate, double seed, size_t n, float hit, float miss, float* out) {
  FillMask(rate, seed, n, hit, miss, out);
}

void BernoulliMaskRows(double rate, double seed, size_t steps, size_t batch, size_t width, size_t total,
                       size_t offset, float hit, float miss, float* out) {
  FillMaskRows(rate, seed, steps, batch, width, total, offset, hit, miss, out);
}

void ValidateLmShape(const LmShape& s) {
  const std::pair<const char*, int> positive[] = {{"numLayers", s.layers},     {"vocabSize", s.vocab},
                                                  {"embeddingSize", s.embedding}, {"hiddenSize", s.hidden},
                                                  {"batch", s.batch},          {"steps", s.steps}};
  for (const auto& [name, v] : positive)
    if (v < 1) throw std::invalid_argument(std::string(name) + ": expected a positive integer, got " + std::to_string(v));
  if (s.tied && s.embedding != s.hidden)
    throw std::invalid_argument("embeddingSize: tied embeddings need embeddingSize = hiddenSize (" +
                                std::to_string(s.hidden) + "), got " + std::to_string(s.embedding));
  for (int l = 0; l < s.layers; ++l) ValidateShape(LayerAt(s, l));
  if (!s.cutoffs.empty()) ValidateAdaptiveSoftmaxShape(AdaptiveOf(s));
}

AdaptiveSoftmaxShape AdaptiveOf(const LmShape& s) {
  AdaptiveSoftmaxShape as;
  as.vocab = s.vocab;
  as.input = s.hidden;
  as.cutoffs = s.cutoffs;
  as.tail_hidden = AdaptiveTailHidden(s.hidden, static_cast<int>(s.cutoffs.size()), s.tail_div);
  as.tied = s.tied;
  return as;
}

double LmTrainStep(const LmShape& s, const LmParams& p, const LmBatch& batch, const LmDropout& dropout,
                   LmGrads* g, LmWorkspace* ws) {
  ValidateLmShape(s);
  const int L = s.layers, V = s.vocab, E = s.embedding, d = s.hidden;
  const size_t N = Count(s.steps, s.batch);
  const bool lstm = s.core == Core::kLstm;
  LmWorkspace& a = *ws;
  RunForward(s, p, batch, dropout, &a);

  // Output layer and its loss, forward and backward: d_head [N, d] is the loss's gradient at the head.
  const int workers = NumThreads();
  std::vector<float>& d_head = a.d_head;
  d_head.resize(Count(N, d));  // every row is written by the output layer's backward
  const double loss = s.cutoffs.empty()
                          ? FullSoftmaxTrain(s, p, a.head, batch.targets, d_head.data(), &a.logits, g)
                          : AdaptiveTrain(s, p, a.head, batch.targets, d_head.data(), g);

  // Layer norm backward, in place on d_head: dh = rstd (dz·γ - mean(dz·γ) - x̂ mean(dz·γ·x̂)).
  if (s.layer_norm) {
    std::vector<float> dgb_part(Count(workers, 2 * d), 0.0f);
    ParallelFor(N, 64, [&](size_t lo, size_t hi, int w) URGATE_VECTOR_LOOP {
      float* __restrict dgamma = dgb_part.data() + Count(w, 2 * d);
      float* __restrict dbeta = dgamma + d;
      for (size_t r = lo; r < hi; ++r) {
        float* __restrict dz = d_head.data() + Count(r, d);
        const float* __restrict xh = a.xhat.data() + Count(r, d);
        double mg = 0, mgx = 0;
        for (int j = 0; j < d; ++j) {
          dgamma[j] += dz[j] * xh[j];
          dbeta[j] += dz[j];
          const float gj = dz[j] * p.gamma[j];
          mg += gj;
          mgx += static_cast<double>(gj) * xh[j];
        }
        const auto mean_g = static_cast<float>(mg / d), mean_gx = static_cast<float>(mgx / d);
        const float rstd = a.rstd[r];
        for (int j = 0; j < d; ++j) dz[j] = rstd * (dz[j] * p.gamma[j] - mean_g - xh[j] * mean_gx);
      }
    });
    std::fill(g->gamma, g->gamma + d, 0.0f);
    std::fill(g->beta, g->beta + d, 0.0f);
    for (int w = 0; w < workers; ++w)
      for (int j = 0; j < d; ++j) {
        g->gamma[j] += dgb_part[Count(w, 2 * d) + j];
        g->beta[j] += dgb_part[Count(w, 2 * d) + d + j];
      }
  }
  const float keep = DropoutKeep(dropout);
  if (!a.kept_o.empty()) ApplyKept(a.kept_o.data(), keep, d_head.size(), d_head.data());

  // The stack, top layer first; each layer's input gradient is the next one down's output gradient.
  std::vector<float>& d_in = a.d_in;
  d_in.resize(Count(N, std::max(E, d)));  // written by each layer's backward
  std::vector<float> dh0(Count(s.batch, d)), dc0(lstm ? Count(s.batch, d) : 0);
  for (int l = L - 1; l >= 0; --l) {
    BackwardPass().Run(&a.tapes[l], p.W[l], a.acts[l].data(), d_head.data(), nullptr, nullptr, d_in.data(),
                       dh0.data(), lstm ? dc0.data() : nullptr, g->W[l], g->b[l]);
    if (l > 0) std::copy(d_in.begin(), d_in.begin() + Count(N, d), d_head.begin());
  }

  // Embedding: dropout backward, then scatter-add the rows' gradients.
  float* __restrict dx = d_in.data();
  if (!a.kept_e.empty()) ApplyKept(a.kept_e.data(), keep, Count(N, E), dx);
  if (!s.tied) std::fill(g->embedding, g->embedding + Count(V, E), 0.0f);
  for (size_t r = 0; r < N; ++r) {
    float* __restrict to = g->embedding + Count(batch.inputs[r], E);
    const float* __restrict from = dx + Count(r, E);
    for (int k = 0; k < E; ++k) to[k] += from[k];
  }
  return loss / static_cast<double>(N);
}

void LmScore(const LmShape& s, const LmParams& p, const LmBatch& batch, double* nll) {
  ValidateLmShape(s);
  const int L = s.layers, V = s.vocab, E = s.embedding, d = s.hidden, B = s.batch, T = s.steps;
  const bool lstm = s.core == Core::kLstm;
  // Whole steps of the output layer's chunk of rows at a time, through every layer and the loss.
  const int block = std::max(1, std::min(T, ChunkRows(s) / B));
  const size_t rows_max = Count(block, B), width = std::max(E, d);
  std::vector<float> in(Count(rows_max, width)), out(Count(rows_max, width));
  std::vector<float> gates(Count(rows_max, ForwardPass(LayerAt(s, 0)).cols()));
  std::vector<float> z(s.layer_norm ? Count(rows_max, d) : 0);
  std::vector<float> logits(s.cutoffs.empty() ? Count(rows_max, V) : 0);
  AdaptiveSoftmaxParams ap = p.adaptive;
  if (s.tied) ap.shortlist = p.embedding;
  // The state is carried in the final-state buffers.
  for (int l = 0; l < L; ++l) {
    std::memcpy(batch.h_final[l], batch.h0[l], sizeof(float) * Count(B, d));
    if (lstm) std::memcpy(batch.c_final[l], batch.c0[l], sizeof(float) * Count(B, d));
  }
  for (int t0 = 0; t0 < T; t0 += block) {
    LmShape bs = s;
    bs.steps = std::min(block, T - t0);
    const size_t r0 = Count(t0, B), rows = Count(bs.steps, B);
    for (size_t r = 0; r < rows; ++r)
      std::memcpy(in.data() + Count(r, E), p.embedding + Count(batch.inputs[r0 + r], E), sizeof(float) * E);
    SequenceExtras extras;
    extras.reset = batch.reset ? batch.reset + r0 : nullptr;
    for (int l = 0; l < L; ++l) {
      float* c = lstm ? batch.c_final[l] : nullptr;
      ForwardPass(LayerAt(bs, l))
          .Infer(p.W[l], p.b[l], in.data(), batch.h_final[l], c, extras, gates.data(), out.data(), batch.h_final[l], c);
      std::swap(in, out);
    }
    const float* head = in.data();
    if (s.layer_norm) {
      LayerNormForward(rows, d, head, p.gamma, p.beta, nullptr, nullptr, z.data());
      head = z.data();
    }
    if (!s.cutoffs.empty()) {
      AdaptiveSoftmaxScore(AdaptiveOf(s), ap, head, batch.targets + r0, rows, nll + r0);
      continue;
    }
    LogitsWithoutBias(s, p, head, 0, static_cast<int>(rows), logits.data());
    ParallelFor(rows, 16, [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
      for (size_t r = lo; r < hi; ++r) {
        float* __restrict x = logits.data() + Count(r, V);
        const float mx = AddRowMax(x, p.out_b, V);
        const float xy = x[batch.targets[r0 + r]];
        ExpShifted(x, V, mx);  // the row is not needed after its sum
        nll[r0 + r] = std::log(static_cast<double>(RowSum(x, V))) + mx - xy;
      }
    });
  }
}

}  // namespace urgate
