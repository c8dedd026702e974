#include "adaptive_softmax.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "blas.h"
#include "fast_math.h"
#include "parallel.h"
#include "simd.h"

namespace urgate {
namespace {

// Rows per chunk: a chunk's logits stay near 16 MB, never [N, V] whole (as lm.cc's output layer).
constexpr size_t kChunkFloats = size_t{1} << 22;

size_t ChunkRows(size_t N, size_t width) {
  return std::min(N, std::max<size_t>(64, kChunkFloats / std::max<size_t>(width, 1)));
}

int ClusterOf(const AdaptiveSoftmaxShape& s, int32_t target) {
  int i = 0;
  while (i + 1 < s.clusters() && target >= s.cutoffs[i + 1]) ++i;
  return i;
}

// The head class a target is scored by: itself in the shortlist, else its cluster's logit.
int HeadClass(const AdaptiveSoftmaxShape& s, int32_t target) {
  return target < s.shortlist() ? target : s.shortlist() + ClusterOf(s, target);
}

double LogSumExp(const float* __restrict x, int n) {
  const float mx = RowMax(x, n);
  double sum = 0;
  for (int j = 0; j < n; ++j) sum += Exp(x[j] - mx);
  return mx + std::log(sum);
}

// x[0..n) -> scale · softmax(x), in place; returns log-sum-exp(x).
double ScaledSoftmax(float* __restrict x, int n, float scale) {
  const float mx = RowMax(x, n);
  ExpShifted(x, n, mx);
  const double sum = RowSumDouble(x, n);
  const auto k = static_cast<float>(scale / sum);
  for (int j = 0; j < n; ++j) x[j] *= k;
  return mx + std::log(sum);
}

// logits [rows, c0 + n] = x [rows, d] · [shortlist | clusters] + head_b.
void HeadLogits(const AdaptiveSoftmaxShape& s, const AdaptiveSoftmaxParams& p, const float* x, int rows,
                float* logits) {
  const int H = s.head_size(), c0 = s.shortlist(), n = s.clusters(), d = s.input;
  for (int r = 0; r < rows; ++r) std::memcpy(logits + static_cast<size_t>(r) * H, p.head_b, sizeof(float) * H);
  if (s.tied)
    Gemm(false, true, rows, c0, d, 1.0f, x, d, p.shortlist, d, 1.0f, logits, H);
  else
    Gemm(false, false, rows, c0, d, 1.0f, x, d, p.shortlist, c0, 1.0f, logits, H);
  Gemm(false, false, rows, n, d, 1.0f, x, d, p.clusters, n, 1.0f, logits + c0, H);
}

// The rows whose targets fall in each cluster, in row order.
std::vector<std::vector<size_t>> Members(const AdaptiveSoftmaxShape& s, const int32_t* targets, size_t N) {
  std::vector<std::vector<size_t>> members(s.clusters());
  for (size_t r = 0; r < N; ++r)
    if (targets[r] >= s.shortlist()) members[ClusterOf(s, targets[r])].push_back(r);
  return members;
}

void GatherRows(const float* x, int d, const size_t* rows, size_t m, float* out) {
  for (size_t k = 0; k < m; ++k)
    std::memcpy(out + k * d, x + rows[k] * d, sizeof(float) * d);
}

}  // namespace

std::vector<int> AdaptiveTailHidden(int input, int clusters, double div) {
  std::vector<int> h;
  for (int i = 0; i < clusters; ++i) h.push_back(static_cast<int>(std::floor(input / std::pow(div, i + 1))));
  return h;
}

void ValidateAdaptiveSoftmaxShape(const AdaptiveSoftmaxShape& s) {
  auto list = [&] {
    std::string out = "[";
    for (size_t i = 0; i < s.cutoffs.size(); ++i) out += (i ? ", " : "") + std::to_string(s.cutoffs[i]);
    return out + "]";
  };
  if (s.vocab < 2 || s.input < 1)
    throw std::invalid_argument("adaptiveSoftmax: expected vocabSize >= 2 and a positive input size");
  bool ok = !s.cutoffs.empty() && s.cutoffs.front() > 0 && s.cutoffs.back() < s.vocab;
  for (size_t i = 1; ok && i < s.cutoffs.size(); ++i) ok = s.cutoffs[i] > s.cutoffs[i - 1];
  if (!ok)
    throw std::invalid_argument("adaptiveSoftmax.cutoffs: expected strictly increasing cutoffs in (0, " +
                                std::to_string(s.vocab) + "), got " + list());
  if (s.tail_hidden.size() != s.cutoffs.size())
    throw std::invalid_argument("adaptiveSoftmax.tailHidden: expected one size per cluster");
  for (int i = 0; i < s.clusters(); ++i)
    if (s.tail_hidden[i] < 1)
      throw std::invalid_argument("adaptiveSoftmax.tailDiv: cluster " + std::to_string(i) +
                                  "'s projection has no units (" + std::to_string(s.input) +
                                  " divided down to 0); use a smaller tailDiv or fewer cutoffs");
}

double AdaptiveSoftmaxTrain(const AdaptiveSoftmaxShape& s, const AdaptiveSoftmaxParams& p, const float* x,
                            const int32_t* targets, size_t N, float scale, float* d_x, AdaptiveSoftmaxGrads* g) {
  const int H = s.head_size(), c0 = s.shortlist(), n = s.clusters(), d = s.input;
  const int workers = NumThreads();
  std::vector<double> loss_part(workers, 0.0);

  // Head: every row; its logits become their gradient in place.
  const size_t chunk = ChunkRows(N, H);
  std::vector<float> logits(chunk * H);
  std::vector<float> db_part(static_cast<size_t>(workers) * H, 0.0f);
  for (size_t r0 = 0; r0 < N; r0 += chunk) {
    const int rows = static_cast<int>(std::min(chunk, N - r0));
    const float* xr = x + r0 * d;
    float* dxr = d_x + r0 * d;
    HeadLogits(s, p, xr, rows, logits.data());
    ParallelFor(rows, 16, [&](size_t lo, size_t hi, int w) URGATE_VECTOR_LOOP {
      double loss = 0;
      float* __restrict db = db_part.data() + static_cast<size_t>(w) * H;
      for (size_t r = lo; r < hi; ++r) {
        float* __restrict l = logits.data() + r * H;
        const int cls = HeadClass(s, targets[r0 + r]);
        const float picked = l[cls];
        loss += ScaledSoftmax(l, H, scale) - picked;
        l[cls] -= scale;
        for (int j = 0; j < H; ++j) db[j] += l[j];
      }
      loss_part[w] += loss;
    });
    const float beta = r0 == 0 ? 0.0f : 1.0f;
    const float* dl = logits.data();
    if (s.tied) {
      Gemm(false, false, rows, d, c0, 1.0f, dl, H, p.shortlist, d, 0.0f, dxr, d);
      Gemm(true, false, c0, d, rows, 1.0f, dl, H, xr, d, beta, g->shortlist, d);
    } else {
      Gemm(false, true, rows, d, c0, 1.0f, dl, H, p.shortlist, c0, 0.0f, dxr, d);
      Gemm(true, false, d, c0, rows, 1.0f, xr, d, dl, H, beta, g->shortlist, c0);
    }
    Gemm(false, true, rows, d, n, 1.0f, dl + c0, H, p.clusters, n, 1.0f, dxr, d);
    Gemm(true, false, d, n, rows, 1.0f, xr, d, dl + c0, H, beta, g->clusters, n);
  }
  std::fill(g->head_b, g->head_b + H, 0.0f);
  for (int w = 0; w < workers; ++w)
    for (int j = 0; j < H; ++j) g->head_b[j] += db_part[static_cast<size_t>(w) * H + j];

  // Tails: only the rows whose targets fall in the cluster.
  const auto members = Members(s, targets, N);
  for (int i = 0; i < n; ++i) {
    const int h = s.tail_hidden[i], size = s.end(i) - s.begin(i), begin = s.begin(i);
    const std::vector<size_t>& rows_of = members[i];
    const size_t M = rows_of.size();
    if (M == 0) {
      std::fill(g->proj[i], g->proj[i] + static_cast<size_t>(d) * h, 0.0f);
      std::fill(g->out[i], g->out[i] + static_cast<size_t>(h) * size, 0.0f);
      continue;
    }
    const size_t tchunk = ChunkRows(M, size);
    std::vector<float> xi(tchunk * d), pi(tchunk * h), dpi(tchunk * h), tl(tchunk * size);
    for (size_t m0 = 0; m0 < M; m0 += tchunk) {
      const int m = static_cast<int>(std::min(tchunk, M - m0));
      const size_t* rows = rows_of.data() + m0;
      GatherRows(x, d, rows, m, xi.data());
      Gemm(false, false, m, h, d, 1.0f, xi.data(), d, p.proj[i], h, 0.0f, pi.data(), h);
      Gemm(false, false, m, size, h, 1.0f, pi.data(), h, p.out[i], size, 0.0f, tl.data(), size);
      ParallelFor(m, 16, [&](size_t lo, size_t hi, int w) URGATE_VECTOR_LOOP {
        double loss = 0;
        for (size_t k = lo; k < hi; ++k) {
          float* __restrict l = tl.data() + k * size;
          const int y = targets[rows[k]] - begin;
          const float picked = l[y];
          loss += ScaledSoftmax(l, size, scale) - picked;
          l[y] -= scale;
        }
        loss_part[w] += loss;
      });
      const float beta = m0 == 0 ? 0.0f : 1.0f;
      Gemm(true, false, h, size, m, 1.0f, pi.data(), h, tl.data(), size, beta, g->out[i], size);
      Gemm(false, true, m, h, size, 1.0f, tl.data(), size, p.out[i], size, 0.0f, dpi.data(), h);
      Gemm(true, false, d, h, m, 1.0f, xi.data(), d, dpi.data(), h, beta, g->proj[i], h);
      Gemm(false, true, m, d, h, 1.0f, dpi.data(), h, p.proj[i], h, 0.0f, xi.data(), d);  // d(rows), into xi
      for (int k = 0; k < m; ++k) {
        float* __restrict to = d_x + rows[k] * d;
        const float* __restrict from = xi.data() + static_cast<size_t>(k) * d;
        for (int j = 0; j < d; ++j) to[j] += from[j];
      }
    }
  }
  double loss = 0;
  for (double part : loss_part) loss += part;
  return loss;
}

void AdaptiveSoftmaxScore(const AdaptiveSoftmaxShape& s, const AdaptiveSoftmaxParams& p, const float* x,
                          const int32_t* targets, size_t N, double* nll) {
  const int H = s.head_size(), d = s.input;
  const size_t chunk = ChunkRows(N, H);
  std::vector<float> logits(chunk * H);
  for (size_t r0 = 0; r0 < N; r0 += chunk) {
    const int rows = static_cast<int>(std::min(chunk, N - r0));
    HeadLogits(s, p, x + r0 * d, rows, logits.data());
    ParallelFor(rows, 16, [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
      for (size_t r = lo; r < hi; ++r) {
        const float* l = logits.data() + r * H;
        nll[r0 + r] = LogSumExp(l, H) - l[HeadClass(s, targets[r0 + r])];
      }
    });
  }
  const auto members = Members(s, targets, N);
  for (int i = 0; i < s.clusters(); ++i) {
    const int h = s.tail_hidden[i], size = s.end(i) - s.begin(i), begin = s.begin(i);
    const size_t M = members[i].size();
    if (M == 0) continue;
    const size_t tchunk = ChunkRows(M, size);
    std::vector<float> xi(tchunk * d), pi(tchunk * h), tl(tchunk * size);
    for (size_t m0 = 0; m0 < M; m0 += tchunk) {
      const int m = static_cast<int>(std::min(tchunk, M - m0));
      const size_t* rows = members[i].data() + m0;
      GatherRows(x, d, rows, m, xi.data());
      Gemm(false, false, m, h, d, 1.0f, xi.data(), d, p.proj[i], h, 0.0f, pi.data(), h);
      Gemm(false, false, m, size, h, 1.0f, pi.data(), h, p.out[i], size, 0.0f, tl.data(), size);
      ParallelFor(m, 16, [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
        for (size_t k = lo; k < hi; ++k) {
          const float* l = tl.data() + k * size;
          nll[rows[k]] += LogSumExp(l, size) - l[targets[rows[k]] - begin];
        }
      });
    }
  }
}

void AdaptiveSoftmaxLogProb(const AdaptiveSoftmaxShape& s, const AdaptiveSoftmaxParams& p, const float* x,
                            size_t N, float* out) {
  const int H = s.head_size(), c0 = s.shortlist(), d = s.input;
  const size_t V = s.vocab;
  const size_t chunk = ChunkRows(N, V);
  int widest = 1;
  for (int h : s.tail_hidden) widest = std::max(widest, h);
  std::vector<float> head(chunk * H), proj(chunk * widest);
  for (size_t r0 = 0; r0 < N; r0 += chunk) {
    const int rows = static_cast<int>(std::min(chunk, N - r0));
    const float* xr = x + r0 * d;
    float* o = out + r0 * V;
    HeadLogits(s, p, xr, rows, head.data());
    ParallelFor(rows, 16, [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
      for (size_t r = lo; r < hi; ++r) {
        float* l = head.data() + r * H;
        const auto lse = static_cast<float>(LogSumExp(l, H));
        for (int j = 0; j < H; ++j) l[j] -= lse;
        std::memcpy(o + r * V, l, sizeof(float) * c0);
      }
    });
    for (int i = 0; i < s.clusters(); ++i) {
      const int h = s.tail_hidden[i], size = s.end(i) - s.begin(i), begin = s.begin(i);
      Gemm(false, false, rows, h, d, 1.0f, xr, d, p.proj[i], h, 0.0f, proj.data(), h);
      Gemm(false, false, rows, size, h, 1.0f, proj.data(), h, p.out[i], size, 0.0f, o + begin, V);
      ParallelFor(rows, 16, [&](size_t lo, size_t hi, int) URGATE_VECTOR_LOOP {
        for (size_t r = lo; r < hi; ++r) {
          float* l = o + r * V + begin;
          const auto shift = static_cast<float>(head[r * H + c0 + i] - LogSumExp(l, size));
          for (int j = 0; j < size; ++j) l[j] += shift;
        }
      });
    }
  }
}

}  // namespace urgate
