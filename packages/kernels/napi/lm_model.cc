// N-API binding of the native language model object (csrc/lm_model.h):
// `new LmModel(spec, tensors)` owns the four arenas (parameters, gradients,
// Adam m and v) in one allocation that JavaScript sees as one ArrayBuffer
// (`memory`, kept alive by its views); trainStep, score and adamUpdate run on
// them. Like addon.cc, every argument is checked (napi/args.h) before a kernel
// runs: wrong types are TypeErrors, wrong sizes or token ids out of range
// RangeErrors, each naming the argument.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../csrc/lm_model.h"
#include "../csrc/rnn.h"
#include "adam_options.h"
#include "adaptive_softmax.h"
#include "args.h"
#include "lm_model.h"

namespace {

// node::Buffer::kMaxLength on 64-bit Node 20 and 22 (2^32 bytes).
constexpr size_t kMaxExternalBytes = size_t{1} << 32;


using urgate::Core;
using urgate_napi::Absent;
using urgate_napi::Floats;
using urgate_napi::Guard;
using urgate_napi::Ids;
using urgate_napi::Int;
using urgate_napi::Number;
using urgate_napi::Range;
using urgate_napi::ReadAdamOptions;
using urgate_napi::Type;

std::vector<const float*> FloatList(const Napi::Value& v, const std::string& name, int count, size_t each) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != static_cast<uint32_t>(count))
    Type(v.Env(), name, "an Array of " + std::to_string(count) + " Float32Array", v);
  std::vector<const float*> out;
  for (int k = 0; k < count; ++k)
    out.push_back(Floats(v.As<Napi::Array>().Get(k), name + "[" + std::to_string(k) + "]", each));
  return out;
}

// spec {core, mechanism, numLayers, vocabSize, embeddingSize, hiddenSize, downsize, layerNorm, tiedEmbeddings, adaptiveSoftmax?}
urgate::LmShape ParseSpec(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) Type(env, "spec", "an object {core, mechanism, numLayers, vocabSize, ...}", v);
  Napi::Object o = v.As<Napi::Object>();
  urgate::LmShape s;
  const Napi::Value core = o.Get("core");
  const std::string c = core.IsString() ? core.As<Napi::String>().Utf8Value() : "";
  if (c == "lstm") s.core = Core::kLstm;
  else if (c == "gru") s.core = Core::kGru;
  else Range(env, "spec.core: expected 'lstm' or 'gru'");
  const Napi::Value mech = o.Get("mechanism");
  if (!mech.IsString()) Type(env, "spec.mechanism", "a mechanism name", mech);
  s.layers = Int(o, "numLayers");
  s.vocab = Int(o, "vocabSize");
  s.embedding = Int(o, "embeddingSize");
  s.hidden = Int(o, "hiddenSize");
  s.downsize = Int(o, "downsize");
  s.layer_norm = o.Get("layerNorm").ToBoolean();
  s.tied = o.Get("tiedEmbeddings").ToBoolean();
  const Napi::Value adaptive = o.Get("adaptiveSoftmax");
  if (!Absent(adaptive)) {
    urgate::AdaptiveSoftmaxShape as;
    as.input = s.hidden;
    urgate_napi::ParseAdaptiveSettings(adaptive, "spec.adaptiveSoftmax", &as);
    if (as.cutoffs.empty()) Range(env, "spec.adaptiveSoftmax.cutoffs: expected at least one cutoff");
    s.cutoffs = as.cutoffs;
    s.tail_div = adaptive.As<Napi::Object>().Get("tailDiv").As<Napi::Number>().DoubleValue();
  }
  try {
    s.family = urgate::ParseMechanism(mech.As<Napi::String>());
  } catch (const std::invalid_argument& e) {
    Range(env, std::string("spec.") + e.what());
  }
  return s;
}

// window {batch, steps, inputs, targets, reset, h0[], c0[]}; the final states go into `result` as h[], c[]?.
urgate::LmBatch ParseWindow(const urgate::LmShape& s, const Napi::Value& v, Napi::Object result) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) Type(env, "window", "an object {batch, steps, inputs, targets, reset, h0, c0}", v);
  Napi::Object o = v.As<Napi::Object>();
  const size_t N = static_cast<size_t>(s.steps) * s.batch, state = static_cast<size_t>(s.batch) * s.hidden;
  const bool lstm = s.core == Core::kLstm;
  urgate::LmBatch b;
  b.inputs = Ids(o.Get("inputs"), "window.inputs", N, s.vocab, "a token id");
  b.targets = Ids(o.Get("targets"), "window.targets", N, s.vocab, "a token id");
  b.reset = Floats(o.Get("reset"), "window.reset", N, true);
  b.h0 = FloatList(o.Get("h0"), "window.h0", s.layers, state);
  if (lstm) b.c0 = FloatList(o.Get("c0"), "window.c0", s.layers, state);
  auto h = Napi::Array::New(env, s.layers);
  auto c = Napi::Array::New(env, lstm ? s.layers : 0);
  for (int l = 0; l < s.layers; ++l) {
    auto hl = Napi::Float32Array::New(env, state);
    h.Set(l, hl);
    b.h_final.push_back(hl.Data());
    if (lstm) {
      auto cl = Napi::Float32Array::New(env, state);
      c.Set(l, cl);
      b.c_final.push_back(cl.Data());
    }
  }
  result.Set("h", h);
  if (lstm) result.Set("c", c);
  return b;
}

class LmModelWrap : public Napi::ObjectWrap<LmModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LmModel",
                       {InstanceMethod<&LmModelWrap::TrainStep>("trainStep"),
                        InstanceMethod<&LmModelWrap::Score>("score"),
                        InstanceMethod<&LmModelWrap::AdamUpdate>("adamUpdate"),
                        InstanceAccessor<&LmModelWrap::AdamSteps, &LmModelWrap::SetAdamSteps>("adamSteps")});
  }

  // new LmModel(spec, tensors: {name, size}[]): the spec's table, in order.
  explicit LmModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LmModelWrap>(info) {
    Napi::Env env = info.Env();
    const urgate::LmShape shape = ParseSpec(info[0]);
    if (!info[1].IsArray()) Type(env, "tensors", "an Array of {name, size}", info[1]);
    auto list = info[1].As<Napi::Array>();
    std::vector<urgate::ArenaTensor> tensors;
    for (uint32_t k = 0; k < list.Length(); ++k) {
      Napi::Value t = list.Get(k);
      const std::string at = "tensors[" + std::to_string(k) + "]";
      if (!t.IsObject()) Type(env, at, "an object {name, size}", t);
      Napi::Value name = t.As<Napi::Object>().Get("name"), size = t.As<Napi::Object>().Get("size");
      if (!name.IsString()) Type(env, at + ".name", "a string", name);
      if (!size.IsNumber() || size.As<Napi::Number>().DoubleValue() < 0)
        Type(env, at + ".size", "a non-negative integer", size);
      tensors.push_back({name.As<Napi::String>().Utf8Value(), static_cast<size_t>(size.As<Napi::Number>().DoubleValue()), 0});
    }
    try {
      model_ = std::make_unique<urgate::LmModel>(shape, std::move(tensors));
    } catch (const std::invalid_argument& e) {
      Range(env, e.what());
    } catch (const std::bad_alloc&) {
      Range(env, "out of memory for this model's arenas");
    }
    // One ArrayBuffer per arena, each sharing the allocation (it stays valid as
    // long as the model or any view lives). Node makes an external ArrayBuffer
    // through a Buffer, limited to 4 GiB: over it the creation frees its hint and
    // node-addon-api frees it again (a double free), so refuse before.
    const size_t arena_bytes = model_->size() * sizeof(float);
    if (arena_bytes > kMaxExternalBytes)
      Range(env, "tensors: this model has " + std::to_string(model_->size()) + " parameters (" +
                     std::to_string(arena_bytes >> 20) + " MiB per arena); one arena is limited to " +
                     std::to_string(kMaxExternalBytes >> 20) + " MiB, Node's largest external buffer");
    auto arenas = Napi::Array::New(env, 4);
    for (uint32_t k = 0; k < 4; ++k) {
      auto* keep = new std::shared_ptr<std::vector<float>>(model_->memory());
      arenas.Set(k, Napi::ArrayBuffer::New(
                        env, (*keep)->data() + k * model_->size(), arena_bytes,
                        [](Napi::Env, void*, std::shared_ptr<std::vector<float>>* hint) { delete hint; }, keep));
    }
    info.This().As<Napi::Object>().Set("arenas", arenas);
    info.This().As<Napi::Object>().Set("size", Napi::Number::New(env, static_cast<double>(model_->size())));
  }

 private:
  urgate::LmShape WindowShape(const Napi::Value& v) const {
    if (!v.IsObject()) Type(v.Env(), "window", "an object {batch, steps, inputs, targets, reset, h0, c0}", v);
    Napi::Object o = v.As<Napi::Object>();
    const urgate::LmShape s = model_->ShapeFor(Int(o, "batch"), Int(o, "steps"));
    try {
      urgate::ValidateLmShape(s);
    } catch (const std::invalid_argument& e) {
      Range(v.Env(), std::string("window.") + e.what());
    }
    return s;
  }

  // trainStep(window, dropout | null) -> {loss, h[], c[]?}; the gradient arena holds the gradients.
  Napi::Value TrainStep(const Napi::CallbackInfo& info) {
    return Guard(info, [&] {
      Napi::Env env = info.Env();
      const urgate::LmShape s = WindowShape(info[0]);
      Napi::Object result = Napi::Object::New(env);
      const urgate::LmBatch window = ParseWindow(s, info[0], result);
      urgate::LmDropout dropout;
      if (!Absent(info[1])) {
        if (!info[1].IsObject()) Type(env, "dropout", "null or {rate, embeddingSeed, outputSeed}", info[1]);
        auto o = info[1].As<Napi::Object>();
        const char* keys[] = {"rate", "embeddingSeed", "outputSeed"};
        double values[3];
        for (int k = 0; k < 3; ++k) {
          const Napi::Value x = o.Get(keys[k]);
          if (!x.IsNumber()) Type(env, std::string("dropout.") + keys[k], "a number", x);
          values[k] = x.As<Napi::Number>().DoubleValue();
        }
        if (!(values[0] >= 0 && values[0] < 1)) Range(env, "dropout.rate: expected a rate in [0, 1)");
        dropout = {values[0], values[1], values[2]};
        const Napi::Value rows = o.Get("rows");
        if (!Absent(rows)) {
          if (!rows.IsObject()) Type(env, "dropout.rows", "absent or {total, offset}", rows);
          const int total = Int(rows.As<Napi::Object>(), "total");
          const int offset = Int(rows.As<Napi::Object>(), "offset");
          if (total < s.batch || offset < 0 || offset > total - s.batch)
            Range(env, "dropout.rows: expected the window's batch rows within [0, total), got offset " +
                           std::to_string(offset) + " of total " + std::to_string(total) + " for batch " +
                           std::to_string(s.batch));
          dropout.rows_total = total;
          dropout.row_offset = offset;
        }
      }
      result.Set("loss", model_->TrainStep(s.batch, s.steps, window, dropout));
      return result;
    });
  }

  // score(window) -> {nll: Float64Array [T·B], h[], c[]?}
  Napi::Value Score(const Napi::CallbackInfo& info) {
    return Guard(info, [&] {
      Napi::Env env = info.Env();
      const urgate::LmShape s = WindowShape(info[0]);
      Napi::Object result = Napi::Object::New(env);
      const urgate::LmBatch window = ParseWindow(s, info[0], result);
      auto nll = Napi::Float64Array::New(env, static_cast<size_t>(s.steps) * s.batch);
      model_->Score(s.batch, s.steps, window, nll.Data());
      result.Set("nll", nll);
      return result;
    });
  }

  // adamUpdate({lr, beta1?, beta2?, eps?, clipNorm?}) -> the gradient norm before clipping.
  Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
    return Guard(info, [&] {
      Napi::Env env = info.Env();
      if (!info[0].IsObject()) Type(env, "options", "an object {lr, beta1?, beta2?, eps?, clipNorm?}", info[0]);
      auto o = info[0].As<Napi::Object>();
      return Napi::Number::New(env, model_->AdamUpdate(ReadAdamOptions(o)));
    });
  }

  Napi::Value AdamSteps(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), model_->adam_steps()); }

  void SetAdamSteps(const Napi::CallbackInfo& info, const Napi::Value& value) {
    const double steps = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
    if (!(steps >= 0 && steps < 2147483648.0) || steps != static_cast<double>(static_cast<int>(steps)))
      Range(info.Env(), "adamSteps: expected a non-negative integer");
    model_->set_adam_steps(static_cast<int>(steps));
  }

  std::unique_ptr<urgate::LmModel> model_;
};

}  // namespace

void RegisterLmModel(Napi::Env env, Napi::Object exports) { exports.Set("LmModel", LmModelWrap::Define(env)); }
