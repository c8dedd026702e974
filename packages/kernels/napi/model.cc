// N-API binding of the model-level kernels: the whole LM step and scoring
// (csrc/lm.h: lmTrainStep, lmScore), seeded masks (bernoulliMask) and the
// dense layer of the task heads (csrc/dense.h: denseForward, denseBackward). Like addon.cc, every argument is checked (napi/args.h) before a
// kernel runs: wrong types are TypeErrors, wrong sizes or token ids out of
// range RangeErrors, each naming the argument.
#include <napi.h>

#include <string>
#include <vector>

#include "../csrc/adaptive_softmax.h"
#include "../csrc/dense.h"
#include "../csrc/lm.h"
#include "../csrc/rnn.h"
#include "adaptive_softmax.h"
#include "args.h"
#include "model.h"

namespace {

using urgate::Core;
using urgate_napi::Absent;
using urgate_napi::Floats;
using urgate_napi::Guarded;
using urgate_napi::Int;
using urgate_napi::Range;
using urgate_napi::Type;

const int32_t* Ids(const Napi::Value& v, const std::string& name, size_t expected, int vocab) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    Type(v.Env(), name, "an Int32Array", v);
  auto a = v.As<Napi::Int32Array>();
  if (a.ElementLength() != expected)
    Range(v.Env(), name + ": expected " + std::to_string(expected) + " token ids, got " +
                       std::to_string(a.ElementLength()));
  for (size_t r = 0; r < expected; ++r)
    if (a[r] < 0 || a[r] >= vocab)
      Range(v.Env(), name + "[" + std::to_string(r) + "]: expected a token id in [0, " + std::to_string(vocab) +
                         "), got " + std::to_string(a[r]));
  return a.Data();
}

std::vector<const float*> FloatList(const Napi::Value& v, const std::string& name, int count, size_t each) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != static_cast<uint32_t>(count))
    Type(v.Env(), name, "an Array of " + std::to_string(count) + " Float32Array", v);
  std::vector<const float*> out;
  for (int k = 0; k < count; ++k)
    out.push_back(Floats(v.As<Napi::Array>().Get(k), name + "[" + std::to_string(k) + "]", each));
  return out;
}

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
  s.batch = Int(o, "batch");
  s.steps = Int(o, "steps");
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
    urgate::ValidateLmShape(s);
  } catch (const std::invalid_argument& e) {
    Range(env, std::string("spec.") + e.what());
  }
  return s;
}

size_t Cols(const urgate::LmShape& s) { return urgate::MakeLayout(s.core, s.family, s.hidden, s.downsize).cols; }
size_t LayerRows(const urgate::LmShape& s, int l) { return static_cast<size_t>(l == 0 ? s.embedding : s.hidden) + s.hidden; }

urgate::LmParams ParseParams(const urgate::LmShape& s, const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) Type(env, "params", "an object {embedding, W, b, gamma?, beta?, outputW?, outputB}", v);
  Napi::Object o = v.As<Napi::Object>();
  urgate::LmParams p;
  const size_t V = s.vocab, E = s.embedding, d = s.hidden, cols = Cols(s);
  p.embedding = Floats(o.Get("embedding"), "params.embedding", V * E);
  const Napi::Value W = o.Get("W");
  if (!W.IsArray() || W.As<Napi::Array>().Length() != static_cast<uint32_t>(s.layers))
    Type(env, "params.W", "an Array of " + std::to_string(s.layers) + " Float32Array", W);
  for (int l = 0; l < s.layers; ++l)
    p.W.push_back(Floats(W.As<Napi::Array>().Get(l), "params.W[" + std::to_string(l) + "]", LayerRows(s, l) * cols));
  p.b = FloatList(o.Get("b"), "params.b", s.layers, cols);
  if (s.layer_norm) {
    p.gamma = Floats(o.Get("gamma"), "params.gamma", d);
    p.beta = Floats(o.Get("beta"), "params.beta", d);
  }
  if (!s.cutoffs.empty()) {
    p.adaptive = urgate_napi::ParseAdaptiveParams(urgate::AdaptiveOf(s), o.Get("adaptive"), "params.adaptive");
    return p;
  }
  if (!s.tied) p.out_w = Floats(o.Get("outputW"), "params.outputW", d * V);
  p.out_b = Floats(o.Get("outputB"), "params.outputB", V);
  return p;
}

// batch {inputs, targets, reset, h0[], c0[]}; fills the final-state outputs into `result`.
urgate::LmBatch ParseBatch(const urgate::LmShape& s, const Napi::Value& v, Napi::Object result) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) Type(env, "batch", "an object {inputs, targets, reset, h0, c0}", v);
  Napi::Object o = v.As<Napi::Object>();
  const size_t N = static_cast<size_t>(s.steps) * s.batch, state = static_cast<size_t>(s.batch) * s.hidden;
  const bool lstm = s.core == Core::kLstm;
  urgate::LmBatch b;
  b.inputs = Ids(o.Get("inputs"), "batch.inputs", N, s.vocab);
  b.targets = Ids(o.Get("targets"), "batch.targets", N, s.vocab);
  const Napi::Value reset = o.Get("reset");
  b.reset = Floats(reset, "batch.reset", N, true);
  b.h0 = FloatList(o.Get("h0"), "batch.h0", s.layers, state);
  if (lstm) b.c0 = FloatList(o.Get("c0"), "batch.c0", s.layers, state);
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

float* NewFloats(Napi::Env env, Napi::Object into, const char* key, size_t n) {
  auto a = Napi::Float32Array::New(env, n);
  into.Set(key, a);
  return a.Data();
}

// lmTrainStep(spec, params, batch, dropout | null) -> {loss, grads: {embedding, W[], b[], gamma?, beta?, outputW?, outputB?, adaptive?}, h[], c[]?}
Napi::Value LmTrainStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const urgate::LmShape s = ParseSpec(info[0]);
  const urgate::LmParams p = ParseParams(s, info[1]);
  Napi::Object result = Napi::Object::New(env);
  const urgate::LmBatch batch = ParseBatch(s, info[2], result);
  urgate::LmDropout dropout;
  if (!Absent(info[3])) {
    if (!info[3].IsObject()) Type(env, "dropout", "null or {rate, embeddingSeed, outputSeed}", info[3]);
    auto o = info[3].As<Napi::Object>();
    const char* keys[] = {"rate", "embeddingSeed", "outputSeed"};
    double values[3];
    for (int k = 0; k < 3; ++k) {
      const Napi::Value x = o.Get(keys[k]);
      if (!x.IsNumber()) Type(env, std::string("dropout.") + keys[k], "a number", x);
      values[k] = x.As<Napi::Number>().DoubleValue();
    }
    if (!(values[0] >= 0 && values[0] < 1)) Range(env, "dropout.rate: expected a rate in [0, 1)");
    dropout = {values[0], values[1], values[2]};
  }
  const size_t V = s.vocab, E = s.embedding, d = s.hidden, cols = Cols(s);
  Napi::Object grads = Napi::Object::New(env);
  urgate::LmGrads g;
  g.embedding = NewFloats(env, grads, "embedding", V * E);
  auto W = Napi::Array::New(env, s.layers), b = Napi::Array::New(env, s.layers);
  for (int l = 0; l < s.layers; ++l) {
    auto Wl = Napi::Float32Array::New(env, LayerRows(s, l) * cols);
    auto bl = Napi::Float32Array::New(env, cols);
    W.Set(l, Wl);
    b.Set(l, bl);
    g.W.push_back(Wl.Data());
    g.b.push_back(bl.Data());
  }
  grads.Set("W", W);
  grads.Set("b", b);
  if (s.layer_norm) {
    g.gamma = NewFloats(env, grads, "gamma", d);
    g.beta = NewFloats(env, grads, "beta", d);
  }
  if (!s.cutoffs.empty()) {
    Napi::Object adaptive = Napi::Object::New(env);
    g.adaptive = urgate_napi::NewAdaptiveGrads(env, urgate::AdaptiveOf(s), adaptive);
    grads.Set("adaptive", adaptive);
  } else {
    if (!s.tied) g.out_w = NewFloats(env, grads, "outputW", d * V);
    g.out_b = NewFloats(env, grads, "outputB", V);
  }
  result.Set("loss", urgate::LmTrainStep(s, p, batch, dropout, &g));
  result.Set("grads", grads);
  return result;
}

// lmScore(spec, params, batch) -> {nll: Float64Array [T·B], h[], c[]?}
Napi::Value LmScore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const urgate::LmShape s = ParseSpec(info[0]);
  const urgate::LmParams p = ParseParams(s, info[1]);
  Napi::Object result = Napi::Object::New(env);
  const urgate::LmBatch batch = ParseBatch(s, info[2], result);
  auto nll = Napi::Float64Array::New(env, static_cast<size_t>(s.steps) * s.batch);
  urgate::LmScore(s, p, batch, nll.Data());
  result.Set("nll", nll);
  return result;
}

// bernoulliMask(rate, seed, n, hit, miss) -> Float32Array: hit where SeededRandom(seed)'s k-th
// draw is < rate, else miss.
Napi::Value BernoulliMask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* names[] = {"rate", "seed", "n", "hit", "miss"};
  for (int k = 0; k < 5; ++k)
    if (!info[k].IsNumber()) Type(env, names[k], "a number", info[k]);
  const double rate = info[0].As<Napi::Number>().DoubleValue();
  const double seed = info[1].As<Napi::Number>().DoubleValue();
  const double n = info[2].As<Napi::Number>().DoubleValue();
  if (!(rate >= 0 && rate <= 1)) Range(env, "rate: expected a probability in [0, 1]");
  if (!(n >= 0 && n <= 4294967295.0) || n != static_cast<double>(static_cast<size_t>(n)))
    Range(env, "n: expected a non-negative integer");
  auto out = Napi::Float32Array::New(env, static_cast<size_t>(n));
  urgate::BernoulliMask(rate, seed, out.ElementLength(), info[3].As<Napi::Number>().FloatValue(),
                        info[4].As<Napi::Number>().FloatValue(), out.Data());
  return out;
}

int Dim(const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) Type(v.Env(), name, "a positive integer", v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d < 2147483648.0) || d != static_cast<double>(static_cast<int>(d)))
    Range(v.Env(), std::string(name) + ": expected a positive integer");
  return static_cast<int>(d);
}

// denseForward(x, W, b, M, K, N, relu) -> y [M, N]
Napi::Value DenseForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int M = Dim(info[3], "M"), K = Dim(info[4], "K"), N = Dim(info[5], "N");
  const float* x = Floats(info[0], "x", static_cast<size_t>(M) * K);
  const float* W = Floats(info[1], "W", static_cast<size_t>(K) * N);
  const float* b = Floats(info[2], "b", N);
  auto y = Napi::Float32Array::New(env, static_cast<size_t>(M) * N);
  urgate::DenseForward(x, W, b, M, K, N, info[6].ToBoolean(), y.Data());
  return y;
}

// denseBackward(x, W, y, dy, M, K, N, relu) -> {dx, dW, db}
Napi::Value DenseBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int M = Dim(info[4], "M"), K = Dim(info[5], "K"), N = Dim(info[6], "N");
  const float* x = Floats(info[0], "x", static_cast<size_t>(M) * K);
  const float* W = Floats(info[1], "W", static_cast<size_t>(K) * N);
  const float* y = Floats(info[2], "y", static_cast<size_t>(M) * N);
  const float* dy = Floats(info[3], "dy", static_cast<size_t>(M) * N);
  Napi::Object result = Napi::Object::New(env);
  float* dx = NewFloats(env, result, "dx", static_cast<size_t>(M) * K);
  float* dW = NewFloats(env, result, "dW", static_cast<size_t>(K) * N);
  float* db = NewFloats(env, result, "db", N);
  urgate::DenseBackward(x, W, y, dy, M, K, N, info[7].ToBoolean(), dx, dW, db);
  return result;
}

}  // namespace

void RegisterModelOps(Napi::Env env, Napi::Object exports) {
  exports.Set("lmTrainStep", Napi::Function::New(env, Guarded<LmTrainStep>));
  exports.Set("lmScore", Napi::Function::New(env, Guarded<LmScore>));
  exports.Set("bernoulliMask", Napi::Function::New(env, Guarded<BernoulliMask>));
  exports.Set("denseForward", Napi::Function::New(env, Guarded<DenseForward>));
  exports.Set("denseBackward", Napi::Function::New(env, Guarded<DenseBackward>));
}
