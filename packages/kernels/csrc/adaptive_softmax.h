// The adaptive softmax of Grave et al. 2017, as PyTorch's
// nn.AdaptiveLogSoftmaxWithLoss defines it, over hidden rows x [N, d]:
// a head over the shortlist [0, c0) plus one logit per cluster, and per
// cluster i a tail x -> x P_i [h_i] -> (x P_i) O_i [size_i] over the words
// [c_i, c_{i+1}) (c_n = V). log p(w) = log_softmax(head)[w] for a shortlist
// word, log_softmax(head)[c0 + i] + log_softmax(tail_i)[w - c_i] in cluster i.
//
// Training runs the head GEMM for every row and each tail's two GEMMs only on
// the rows whose target falls in its cluster (that is the saving); scoring is
// exact (the target's log-probability, not an estimate); LogProb gives the
// whole distribution. Log-sum-exps are accumulated in double.
//
// Parameters (row-major float32, x W convention like the rest of the kernels):
// shortlist [d, c0] (or, tied, the rows [0, c0) of the input embedding
// [V, d], read transposed), clusters [d, n], head_b [c0 + n], proj_i [d, h_i],
// out_i [h_i, size_i]. PyTorch's head.weight is concat(shortlist, clusters)^T,
// tail[i][0].weight = proj_i^T, tail[i][1].weight = out_i^T.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace urgate {

struct AdaptiveSoftmaxShape {
  int vocab = 0;              // V
  int input = 0;              // d
  std::vector<int> cutoffs;   // c0 < ... < c_{n-1}, each in (0, V)
  std::vector<int> tail_hidden;  // h_i per cluster
  bool tied = false;          // shortlist = embedding rows [0, c0), [c0, d]

  int clusters() const { return static_cast<int>(cutoffs.size()); }
  int shortlist() const { return cutoffs.front(); }
  int head_size() const { return shortlist() + clusters(); }
  int begin(int i) const { return cutoffs[i]; }
  int end(int i) const { return i + 1 < clusters() ? cutoffs[i + 1] : vocab; }
};

// h_i = floor(d / div^(i+1)), as PyTorch's in_features // div_value ** (i + 1).
std::vector<int> AdaptiveTailHidden(int input, int clusters, double div);

// Throws std::invalid_argument naming the bad field ("adaptiveSoftmax.cutoffs: ...").
void ValidateAdaptiveSoftmaxShape(const AdaptiveSoftmaxShape& shape);

struct AdaptiveSoftmaxParams {
  const float* shortlist = nullptr;
  const float* clusters = nullptr;
  const float* head_b = nullptr;
  std::vector<const float*> proj, out;
};

// Same shapes as the parameters; every one is overwritten (tied: only the
// shortlist rows [0, c0) of the embedding gradient).
struct AdaptiveSoftmaxGrads {
  float* shortlist = nullptr;
  float* clusters = nullptr;
  float* head_b = nullptr;
  std::vector<float*> proj, out;
};

// Sum over the N rows of -log p(targets[r] | x_r); d_x [N, d] and the grads
// are the gradient of scale times that sum (scale = 1/N: the mean).
// targets in [0, V) (checked by the caller).
double AdaptiveSoftmaxTrain(const AdaptiveSoftmaxShape& shape, const AdaptiveSoftmaxParams& params, const float* x,
                            const int32_t* targets, size_t N, float scale, float* d_x, AdaptiveSoftmaxGrads* grads);

// nll[r] = -log p(targets[r] | x_r), exact.
void AdaptiveSoftmaxScore(const AdaptiveSoftmaxShape& shape, const AdaptiveSoftmaxParams& params, const float* x,
                          const int32_t* targets, size_t N, double* nll);

// out [N, V]: the full log-distribution of every row (PyTorch's log_prob).
void AdaptiveSoftmaxLogProb(const AdaptiveSoftmaxShape& shape, const AdaptiveSoftmaxParams& params, const float* x,
                            size_t N, float* out);

}  // namespace urgate
