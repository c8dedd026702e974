// N-API binding of the adaptive softmax over hidden rows (csrc/adaptive_softmax.h):
// adaptiveSoftmaxTrain, adaptiveSoftmaxScore, adaptiveSoftmaxLogProb, checked like
// every binding (napi/args.h) before the kernel runs.
#include "adaptive_softmax.h"

#include <stdexcept>
#include <vector>

#include "args.h"

namespace urgate_napi {
namespace {

size_t Size(const urgate::AdaptiveSoftmaxShape& s, int i) { return static_cast<size_t>(s.end(i) - s.begin(i)); }

// spec {vocabSize, inputSize, rows, cutoffs, tailDiv, tied}
urgate::AdaptiveSoftmaxShape ParseShape(const Napi::Value& v, size_t* rows) {
  if (!v.IsObject()) Type(v.Env(), "spec", "an object {vocabSize, inputSize, rows, cutoffs, tailDiv, tied}", v);
  Napi::Object o = v.As<Napi::Object>();
  urgate::AdaptiveSoftmaxShape s;
  s.vocab = Int(o, "vocabSize");
  s.input = Int(o, "inputSize");
  s.tied = o.Get("tied").ToBoolean();
  *rows = static_cast<size_t>(Int(o, "rows"));
  ParseAdaptiveSettings(v, "spec", &s);
  try {
    urgate::ValidateAdaptiveSoftmaxShape(s);
  } catch (const std::invalid_argument& e) {
    Range(v.Env(), std::string("spec.") + e.what());
  }
  return s;
}

// Standalone, a tied shortlist [c0, d] is still passed: it is the embedding's rows only inside an LM.
urgate::AdaptiveSoftmaxParams Params(const urgate::AdaptiveSoftmaxShape& s, const Napi::Value& v) {
  urgate::AdaptiveSoftmaxParams p = ParseAdaptiveParams(s, v, "params");
  if (p.shortlist == nullptr) Type(v.Env(), "params.shortlist", "a Float32Array", v.As<Napi::Object>().Get("shortlist"));
  return p;
}

// adaptiveSoftmaxTrain(spec, params, x, targets, scale) -> {loss (sum of nll), dx, grads}
Napi::Value Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t N = 0;
  const auto s = ParseShape(info[0], &N);
  const auto p = Params(s, info[1]);
  const float* x = Floats(info[2], "x", N * s.input);
  const int32_t* targets = Ids(info[3], "targets", N, s.vocab, "an id");
  if (!info[4].IsNumber()) Type(env, "scale", "a number", info[4]);
  Napi::Object result = Napi::Object::New(env);
  auto dx = Napi::Float32Array::New(env, N * s.input);
  Napi::Object grads = Napi::Object::New(env);
  urgate::AdaptiveSoftmaxGrads g = NewAdaptiveGrads(env, s, grads);
  if (s.tied) {  // standalone, the tied shortlist [c0, d] is a parameter of its own
    auto a = Napi::Float32Array::New(env, static_cast<size_t>(s.shortlist()) * s.input);
    grads.Set("shortlist", a);
    g.shortlist = a.Data();
  }
  const double loss =
      urgate::AdaptiveSoftmaxTrain(s, p, x, targets, N, info[4].As<Napi::Number>().FloatValue(), dx.Data(), &g);
  result.Set("loss", loss);
  result.Set("dx", dx);
  result.Set("grads", grads);
  return result;
}

// adaptiveSoftmaxScore(spec, params, x, targets) -> Float64Array nll [rows]
Napi::Value Score(const Napi::CallbackInfo& info) {
  size_t N = 0;
  const auto s = ParseShape(info[0], &N);
  const auto p = Params(s, info[1]);
  const float* x = Floats(info[2], "x", N * s.input);
  const int32_t* targets = Ids(info[3], "targets", N, s.vocab, "an id");
  auto nll = Napi::Float64Array::New(info.Env(), N);
  urgate::AdaptiveSoftmaxScore(s, p, x, targets, N, nll.Data());
  return nll;
}

// adaptiveSoftmaxLogProb(spec, params, x) -> Float32Array [rows, V]
Napi::Value LogProb(const Napi::CallbackInfo& info) {
  size_t N = 0;
  const auto s = ParseShape(info[0], &N);
  const auto p = Params(s, info[1]);
  const float* x = Floats(info[2], "x", N * s.input);
  auto out = Napi::Float32Array::New(info.Env(), N * s.vocab);
  urgate::AdaptiveSoftmaxLogProb(s, p, x, N, out.Data());
  return out;
}

}  // namespace

void ParseAdaptiveSettings(const Napi::Value& v, const std::string& name, urgate::AdaptiveSoftmaxShape* s) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) Type(env, name, "an object {cutoffs, tailDiv}", v);
  Napi::Object o = v.As<Napi::Object>();
  const Napi::Value cutoffs = o.Get("cutoffs");
  if (!cutoffs.IsArray()) Type(env, name + ".cutoffs", "an Array of integers", cutoffs);
  auto list = cutoffs.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const Napi::Value c = list.Get(i);
    const double d = c.IsNumber() ? c.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d < 2147483648.0) || d != static_cast<double>(static_cast<int>(d)))
      Range(env, name + ".cutoffs[" + std::to_string(i) + "]: expected a non-negative integer");
    s->cutoffs.push_back(static_cast<int>(d));
  }
  const Napi::Value div = o.Get("tailDiv");
  if (!div.IsNumber() || !(div.As<Napi::Number>().DoubleValue() >= 1))
    Range(env, name + ".tailDiv: expected a number >= 1");
  s->tail_hidden = urgate::AdaptiveTailHidden(s->input, s->clusters(), div.As<Napi::Number>().DoubleValue());
}

urgate::AdaptiveSoftmaxParams ParseAdaptiveParams(const urgate::AdaptiveSoftmaxShape& s, const Napi::Value& v,
                                                  const std::string& name) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) Type(env, name, "an object {shortlist, clusters, headB, proj, out}", v);
  Napi::Object o = v.As<Napi::Object>();
  const size_t d = s.input;
  urgate::AdaptiveSoftmaxParams p;
  p.shortlist = Floats(o.Get("shortlist"), name + ".shortlist", d * s.shortlist(), s.tied);
  p.clusters = Floats(o.Get("clusters"), name + ".clusters", d * s.clusters());
  p.head_b = Floats(o.Get("headB"), name + ".headB", s.head_size());
  const char* keys[] = {"proj", "out"};
  for (const char* key : keys) {
    const Napi::Value list = o.Get(key);
    if (!list.IsArray() || list.As<Napi::Array>().Length() != static_cast<uint32_t>(s.clusters()))
      Type(env, name + "." + key, "an Array of " + std::to_string(s.clusters()) + " Float32Array", list);
    for (int i = 0; i < s.clusters(); ++i) {
      const size_t h = s.tail_hidden[i];
      const std::string at = name + "." + key + "[" + std::to_string(i) + "]";
      const bool proj = key[0] == 'p';
      (proj ? p.proj : p.out).push_back(Floats(list.As<Napi::Array>().Get(i), at, proj ? d * h : h * Size(s, i)));
    }
  }
  return p;
}

urgate::AdaptiveSoftmaxGrads NewAdaptiveGrads(Napi::Env env, const urgate::AdaptiveSoftmaxShape& s,
                                              Napi::Object into) {
  const size_t d = s.input;
  auto make = [&](size_t n) { return Napi::Float32Array::New(env, n); };
  urgate::AdaptiveSoftmaxGrads g;
  if (!s.tied) {
    auto a = make(d * s.shortlist());
    into.Set("shortlist", a);
    g.shortlist = a.Data();
  }
  auto clusters = make(d * s.clusters());
  auto head_b = make(s.head_size());
  into.Set("clusters", clusters);
  into.Set("headB", head_b);
  g.clusters = clusters.Data();
  g.head_b = head_b.Data();
  auto proj = Napi::Array::New(env, s.clusters()), out = Napi::Array::New(env, s.clusters());
  for (int i = 0; i < s.clusters(); ++i) {
    auto pi = make(d * s.tail_hidden[i]), oi = make(static_cast<size_t>(s.tail_hidden[i]) * Size(s, i));
    proj.Set(i, pi);
    out.Set(i, oi);
    g.proj.push_back(pi.Data());
    g.out.push_back(oi.Data());
  }
  into.Set("proj", proj);
  into.Set("out", out);
  return g;
}

void RegisterAdaptiveSoftmax(Napi::Env env, Napi::Object exports) {
  exports.Set("adaptiveSoftmaxTrain", Napi::Function::New(env, Guarded<Train>));
  exports.Set("adaptiveSoftmaxScore", Napi::Function::New(env, Guarded<Score>));
  exports.Set("adaptiveSoftmaxLogProb", Napi::Function::New(env, Guarded<LogProb>));
}

}  // namespace urgate_napi
