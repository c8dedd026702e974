// N-API binding of the model-level kernels: seeded masks (bernoulliMask) and
// the dense layer of the task heads (csrc/dense.h: denseForward, denseBackward);
// the language model is its own object (napi/lm_model.cc). Like addon.cc,
// every argument is checked (napi/args.h) before a kernel runs: wrong types
// are TypeErrors, wrong sizes RangeErrors, each naming the argument.
#include <napi.h>

#include <string>
#include <vector>

#include "../csrc/dense.h"
#include "../csrc/lm.h"
#include "args.h"
#include "model.h"

namespace {

using urgate_napi::Floats;
using urgate_napi::Guarded;
using urgate_napi::Range;
using urgate_napi::Type;

float* NewFloats(Napi::Env env, Napi::Object into, const char* key, size_t n) {
  auto a = Napi::Float32Array::New(env, n);
  into.Set(key, a);
  return a.Data();
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
  exports.Set("bernoulliMask", Napi::Function::New(env, Guarded<BernoulliMask>));
  exports.Set("denseForward", Napi::Function::New(env, Guarded<DenseForward>));
  exports.Set("denseBackward", Napi::Function::New(env, Guarded<DenseBackward>));
}
