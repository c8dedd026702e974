#include "lm_model.h"

#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace urgate {
namespace {

// Where each named tensor of the table goes in LmParams / LmGrads (the
// checkpoint names of @urgate/contract's LM_TENSORS and layerTensorName).
struct Slot {
  size_t size;
  const float** param;
  float** grad;
};

std::map<std::string, Slot> Slots(const LmShape& s, LmParams* p, LmGrads* g) {
  const size_t V = s.vocab, E = s.embedding, d = s.hidden;
  const size_t cols = MakeLayout(s.core, s.family, s.hidden, s.downsize).cols;
  std::map<std::string, Slot> slots;
  slots["embedding"] = {V * E, &p->embedding, &g->embedding};
  p->W.assign(s.layers, nullptr);
  p->b.assign(s.layers, nullptr);
  g->W.assign(s.layers, nullptr);
  g->b.assign(s.layers, nullptr);
  for (int l = 0; l < s.layers; ++l) {
    const std::string layer = "layers." + std::to_string(l) + ".";
    slots[layer + "W"] = {((l == 0 ? E : d) + d) * cols, &p->W[l], &g->W[l]};
    slots[layer + "b"] = {cols, &p->b[l], &g->b[l]};
  }
  if (s.layer_norm) {
    slots["norm.gamma"] = {d, &p->gamma, &g->gamma};
    slots["norm.beta"] = {d, &p->beta, &g->beta};
  }
  if (!s.cutoffs.empty()) {  // the adaptive softmax's tensors instead of output.W, output.b
    const AdaptiveSoftmaxShape as = AdaptiveOf(s);
    const size_t c0 = as.shortlist(), n = as.clusters();
    if (!s.tied) slots["adaptive.head.shortlist"] = {d * c0, &p->adaptive.shortlist, &g->adaptive.shortlist};
    slots["adaptive.head.clusters"] = {d * n, &p->adaptive.clusters, &g->adaptive.clusters};
    slots["adaptive.head.b"] = {c0 + n, &p->adaptive.head_b, &g->adaptive.head_b};
    p->adaptive.proj.assign(n, nullptr);
    p->adaptive.out.assign(n, nullptr);
    g->adaptive.proj.assign(n, nullptr);
    g->adaptive.out.assign(n, nullptr);
    for (size_t i = 0; i < n; ++i) {
      const std::string tail = "adaptive.tail." + std::to_string(i) + ".";
      const size_t h = as.tail_hidden[i], size = as.end(i) - as.begin(i);
      slots[tail + "proj"] = {d * h, &p->adaptive.proj[i], &g->adaptive.proj[i]};
      slots[tail + "out"] = {h * size, &p->adaptive.out[i], &g->adaptive.out[i]};
    }
    return slots;
  }
  if (!s.tied) slots["output.W"] = {d * V, &p->out_w, &g->out_w};
  slots["output.b"] = {V, &p->out_b, &g->out_b};
  return slots;
}

}  // namespace

LmModel::LmModel(const LmShape& shape, std::vector<ArenaTensor> tensors)
    : shape_(shape), tensors_(std::move(tensors)) {
  ValidateLmShape(ShapeFor(1, 1));
  std::map<std::string, Slot> slots = Slots(shape_, &param_views_, &grad_views_);
  std::set<std::string> seen;
  for (ArenaTensor& t : tensors_) {
    auto slot = slots.find(t.name);
    if (slot == slots.end()) throw std::invalid_argument("tensors: '" + t.name + "' is not a tensor of this model");
    if (!seen.insert(t.name).second) throw std::invalid_argument("tensors: '" + t.name + "' appears twice");
    if (slot->second.size != t.size)
      throw std::invalid_argument("tensors: '" + t.name + "' has " + std::to_string(t.size) +
                                  " elements, this model's has " + std::to_string(slot->second.size));
    t.offset = size_;
    size_ += t.size;
  }
  for (const auto& [name, slot] : slots)
    if (seen.count(name) == 0) throw std::invalid_argument("tensors: '" + name + "' is missing");
  memory_ = std::make_shared<std::vector<float>>(4 * size_, 0.0f);
  for (const ArenaTensor& t : tensors_) {
    const Slot& slot = slots.at(t.name);
    *slot.param = params() + t.offset;
    *slot.grad = grads() + t.offset;
  }
}

LmShape LmModel::ShapeFor(int batch, int steps) const {
  LmShape s = shape_;
  s.batch = batch;
  s.steps = steps;
  return s;
}

double LmModel::TrainStep(int batch, int steps, const LmBatch& window, const LmDropout& dropout) {
  return LmTrainStep(ShapeFor(batch, steps), param_views_, window, dropout, &grad_views_, &workspace_);
}

void LmModel::Score(int batch, int steps, const LmBatch& window, double* nll) {
  // Evaluation runs between training steps (or after the last): the training activations are
  // handed back for its duration instead of sitting beside the scoring blocks (206 MB at H=1024).
  workspace_ = LmWorkspace();
  LmScore(ShapeFor(batch, steps), param_views_, window, nll);
}

double LmModel::AdamUpdate(AdamOptions options) {
  options.step = ++adam_steps_;
  std::vector<ParamBuffer> buffers;
  buffers.reserve(tensors_.size());
  for (const ArenaTensor& t : tensors_)
    buffers.push_back({params() + t.offset, grads() + t.offset, m() + t.offset, v() + t.offset, t.size});
  return AdamStep(buffers.data(), buffers.size(), options);
}

}  // namespace urgate
