// N-API binding of the urgate kernels library (csrc/). Every argument is
// checked (napi/args.h) before any kernel runs: a wrong type is a TypeError, a wrong size a
// RangeError, each naming the argument, so bad input can never reach a
// kernel as an out-of-bounds read or write.
#include <napi.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../csrc/adam.h"
#include "../csrc/blas.h"
#include "../csrc/layout.h"
#include "../csrc/rnn.h"
#include "../csrc/simd.h"
#include "../csrc/softmax_xent.h"
#include "adam_options.h"
#include "args.h"
#include "lm_model.h"
#include "model.h"

namespace urgate_napi {
void RegisterRmc(Napi::Env env, Napi::Object exports);  // napi/rmc.cc
void RegisterAdaptiveSoftmax(Napi::Env env, Napi::Object exports);  // napi/adaptive_softmax.cc
}

namespace {

using urgate::Core;
using urgate_napi::Floats;
using urgate_napi::Guarded;
using urgate_napi::IdArray;
using urgate_napi::Ids;
using urgate_napi::Int;
using urgate_napi::Number;
using urgate_napi::ReadAdamOptions;
using urgate_napi::Type;

const napi_type_tag kTapeTag = {0x75726761746574ULL, 0x7461706531ULL};

urgate::LayerShape ParseSpec(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) Type(env, "spec", "an object {core, mechanism, inputSize, hiddenSize, ...}", v);
  Napi::Object o = v.As<Napi::Object>();
  urgate::LayerShape s;
  Napi::Value core = o.Get("core");
  if (!core.IsString()) Type(env, "spec.core", "'lstm' or 'gru'", core);
  const std::string c = core.As<Napi::String>();
  if (c == "lstm") s.core = Core::kLstm;
  else if (c == "gru") s.core = Core::kGru;
  else throw Napi::RangeError::New(env, "spec.core: expected 'lstm' or 'gru', got '" + c + "'");
  Napi::Value mech = o.Get("mechanism");
  if (!mech.IsString()) Type(env, "spec.mechanism", "a mechanism name", mech);
  try {
    s.family = urgate::ParseMechanism(mech.As<Napi::String>());
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, std::string("spec.") + e.what());
  }
  s.input = Int(o, "inputSize");
  s.hidden = Int(o, "hiddenSize");
  s.downsize = Int(o, "downsize", 1);
  s.batch = Int(o, "batch");
  s.steps = Int(o, "steps");
  try {
    urgate::ValidateShape(s);
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, std::string("spec.") + e.what());
  }
  return s;
}

size_t N(int a, int b, int c = 1) { return static_cast<size_t>(a) * b * c; }

// layerForward(spec, W, b, xs, h0, c0, reset, zoneoutC, zoneoutH)
//   -> {packed, outputs, h, c?, tape}; outputs and c are views into packed.
Napi::Value LayerForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const urgate::LayerShape s = ParseSpec(info[0]);
  const urgate::Layout l = urgate::MakeLayout(s.core, s.family, s.hidden, s.downsize);
  const bool lstm = s.core == Core::kLstm;
  const int T = s.steps, B = s.batch, n = s.input, d = s.hidden;
  const float* W = Floats(info[1], "W", N(n + d, l.cols));
  const float* b = Floats(info[2], "b", l.cols);
  const float* xs = Floats(info[3], "xs", N(T, B, n));
  const float* h0 = Floats(info[4], "h0", N(B, d));
  const float* c0 = lstm ? Floats(info[5], "c0", N(B, d)) : nullptr;
  urgate::SequenceExtras extras;
  extras.reset = Floats(info[6], "reset", N(T, B), true);
  extras.zoneout_c = lstm ? Floats(info[7], "zoneoutC", N(T, B, d), true) : nullptr;
  extras.zoneout_h = Floats(info[8], "zoneoutH", N(T, B, d), true);

  // outputs and, for the LSTM, c_T share one buffer ([T + 1, B, d], c_T last)
  // so that a caller can hand both to tfjs as one tensor without copying.
  const size_t block = N(B, d);
  auto packed = Napi::Float32Array::New(env, (lstm ? T + 1 : T) * block);
  auto outputs = Napi::Float32Array::New(env, N(T, B, d), packed.ArrayBuffer(), 0);
  auto c = Napi::Float32Array::New(env, lstm ? block : 0, packed.ArrayBuffer(), lstm ? T * block * sizeof(float) : 0);
  auto h = Napi::Float32Array::New(env, block);
  auto tape = std::make_unique<urgate::Tape>();
  urgate::ForwardPass(s).Run(W, b, xs, h0, c0, extras, outputs.Data(), h.Data(), lstm ? c.Data() : nullptr,
                             tape.get());
  const int64_t bytes = static_cast<int64_t>(tape->Bytes());
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  auto external = Napi::External<urgate::Tape>::New(env, tape.release(), [](Napi::Env e, urgate::Tape* t) {
    Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(t->Bytes()));
    delete t;
  });
  external.TypeTag(&kTapeTag);
  Napi::Object result = Napi::Object::New(env);
  result.Set("packed", packed);
  result.Set("outputs", outputs);
  result.Set("h", h);
  if (lstm) result.Set("c", c);
  result.Set("tape", external);
  return result;
}

// releaseTape(tape): frees a layer tape that no backward pass will use (a forward pass for
// evaluation), now rather than when a collection finalizes it. A used tape is already empty.
Napi::Value ReleaseTape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal() || !info[0].As<Napi::External<urgate::Tape>>().CheckTypeTag(&kTapeTag))
    Type(env, "tape", "the tape returned by layerForward", info[0]);
  urgate::Tape* tape = info[0].As<Napi::External<urgate::Tape>>().Data();
  const int64_t bytes = static_cast<int64_t>(tape->Bytes());
  *tape = urgate::Tape{};
  Napi::MemoryManagement::AdjustExternalMemory(env, -bytes);
  return env.Undefined();
}

// layerBackward(tape, W, xs, dOutputs, dh, dc) -> {dxs, dh0, dc0?, dW, db}.
// The tape is used up: its memory is released here.
Napi::Value LayerBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal() || !info[0].As<Napi::External<urgate::Tape>>().CheckTypeTag(&kTapeTag))
    Type(env, "tape", "the tape returned by layerForward", info[0]);
  urgate::Tape* tape = info[0].As<Napi::External<urgate::Tape>>().Data();
  if (tape->gates.empty()) throw Napi::Error::New(env, "tape: already used by a backward pass (a tape serves one)");
  const urgate::LayerShape& s = tape->shape;
  const urgate::Layout& l = tape->layout;
  const bool lstm = s.core == Core::kLstm;
  const int T = s.steps, B = s.batch, n = s.input, d = s.hidden;
  const float* W = Floats(info[1], "W", N(n + d, l.cols));
  const float* xs = Floats(info[2], "xs", N(T, B, n));
  const float* d_out = Floats(info[3], "dOutputs", N(T, B, d));
  const float* dh = Floats(info[4], "dh", N(B, d), true);
  const float* dc = lstm ? Floats(info[5], "dc", N(B, d), true) : nullptr;

  auto dxs = Napi::Float32Array::New(env, N(T, B, n));
  auto dh0 = Napi::Float32Array::New(env, N(B, d));
  auto dc0 = Napi::Float32Array::New(env, lstm ? N(B, d) : 0);
  auto dW = Napi::Float32Array::New(env, N(n + d, l.cols));
  auto db = Napi::Float32Array::New(env, l.cols);
  urgate::BackwardPass().Run(tape, W, xs, d_out, dh, dc, dxs.Data(), dh0.Data(), lstm ? dc0.Data() : nullptr,
                             dW.Data(), db.Data());
  const int64_t bytes = static_cast<int64_t>(tape->Bytes());
  *tape = urgate::Tape{};
  Napi::MemoryManagement::AdjustExternalMemory(env, -bytes);
  Napi::Object result = Napi::Object::New(env);
  result.Set("dxs", dxs);
  result.Set("dh0", dh0);
  if (lstm) result.Set("dc0", dc0);
  result.Set("dW", dW);
  result.Set("db", db);
  return result;
}

// softmaxCrossEntropy(logits, targets, numClasses) -> {loss, dLogits}
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[2].IsNumber()) Type(env, "numClasses", "a positive integer", info[2]);
  const int V = info[2].As<Napi::Number>().Int32Value();
  if (V <= 0) throw Napi::RangeError::New(env, "numClasses: expected a positive integer");
  const size_t rows = IdArray(info[1], "targets").ElementLength();
  if (rows == 0) throw Napi::RangeError::New(env, "targets: expected at least one row");
  const float* logits = Floats(info[0], "logits", rows * V);
  const int32_t* targets = Ids(info[1], "targets", rows, V, "a class");
  auto d_logits = Napi::Float32Array::New(env, rows * V);
  const double loss = urgate::SoftmaxCrossEntropy(logits, targets, static_cast<int>(rows), V, d_logits.Data());
  Napi::Object result = Napi::Object::New(env);
  result.Set("loss", loss);
  result.Set("dLogits", d_logits);
  return result;
}

// adamStep(params[], grads[], m[], v[], {lr, beta1, beta2, eps, clipNorm, step}) -> gradNorm
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* names[] = {"params", "grads", "m", "v"};
  for (int k = 0; k < 4; ++k)
    if (!info[k].IsArray()) Type(env, names[k], "an Array of Float32Array", info[k]);
  auto params = info[0].As<Napi::Array>();
  const uint32_t count = params.Length();
  for (int k = 1; k < 4; ++k)
    if (info[k].As<Napi::Array>().Length() != count)
      throw Napi::RangeError::New(env, std::string(names[k]) + ": expected " + std::to_string(count) +
                                           " buffers (one per parameter), got " +
                                           std::to_string(info[k].As<Napi::Array>().Length()));
  if (!info[4].IsObject()) Type(env, "options", "an object", info[4]);
  auto o = info[4].As<Napi::Object>();
  urgate::AdamOptions opt = ReadAdamOptions(o);
  const double step = Number(o, "step", 1);
  if (!(step >= 1) || step != static_cast<double>(static_cast<int>(step)))
    throw Napi::RangeError::New(env, "options.step: expected an integer >= 1");
  opt.step = static_cast<int>(step);
  std::vector<urgate::ParamBuffer> buffers(count);
  for (uint32_t k = 0; k < count; ++k) {
    Napi::Value p = params.Get(k);
    const std::string idx = "[" + std::to_string(k) + "]";
    if (!p.IsTypedArray() || p.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      Type(env, "params" + idx, "a Float32Array", p);
    const size_t size = p.As<Napi::Float32Array>().ElementLength();
    buffers[k].param = p.As<Napi::Float32Array>().Data();
    buffers[k].grad = Floats(info[1].As<Napi::Array>().Get(k), "grads" + idx, size);
    buffers[k].m = Floats(info[2].As<Napi::Array>().Get(k), "m" + idx, size);
    buffers[k].v = Floats(info[3].As<Napi::Array>().Get(k), "v" + idx, size);
    buffers[k].size = size;
  }
  return Napi::Number::New(env, urgate::AdamStep(buffers.data(), buffers.size(), opt));
}

// matmul(a, b, batchA, batchB, M, N, K, transA, transB) -> c [max(batchA, batchB), M, N].
// A batch of 1 broadcasts against the other.
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* names[] = {"batchA", "batchB", "M", "N", "K"};
  int dims[5];
  for (int k = 0; k < 5; ++k) {
    if (!info[k + 2].IsNumber()) Type(env, names[k], "an integer", info[k + 2]);
    dims[k] = info[k + 2].As<Napi::Number>().Int32Value();
    if (dims[k] < (k < 2 ? 1 : 0)) throw Napi::RangeError::New(env, std::string(names[k]) + ": out of range");
  }
  const int ba = dims[0], bb = dims[1], M = dims[2], Nn = dims[3], K = dims[4];
  if (ba != bb && ba != 1 && bb != 1)
    throw Napi::RangeError::New(env, "batchB: expected equal batches or a batch of 1 to broadcast");
  const bool ta = info[7].ToBoolean(), tb = info[8].ToBoolean();
  const float* a = Floats(info[0], "a", N(ba, M, K));
  const float* b = Floats(info[1], "b", N(bb, K, Nn));
  const int batch = ba > bb ? ba : bb;
  auto c = Napi::Float32Array::New(env, N(batch, M, Nn));
  if (bb == 1 && !ta) {
    // a's batches stacked are one (batch * M) x K matrix: one gemm.
    urgate::Gemm(false, tb, batch * M, Nn, K, 1.0f, a, K, b, tb ? K : Nn, 0.0f, c.Data(), Nn);
    return c;
  }
  for (int i = 0; i < batch; ++i) {
    const float* ai = a + (ba == 1 ? 0 : N(i, M, K));
    const float* bi = b + (bb == 1 ? 0 : N(i, K, Nn));
    urgate::Gemm(ta, tb, M, Nn, K, 1.0f, ai, ta ? M : K, bi, tb ? K : Nn, 0.0f, c.Data() + N(i, M, Nn), Nn);
  }
  return c;
}

// sgemmGflops(M, N, K, reps): GFLOP/s of C[M,N] = A[M,K] B[K,N] on the
// kernels' OpenBLAS settings (the benchmark's yardstick), one warm-up call.
Napi::Value SgemmGflops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* names[] = {"M", "N", "K", "reps"};
  int v[4];
  for (int k = 0; k < 4; ++k) {
    if (!info[k].IsNumber() || info[k].As<Napi::Number>().Int32Value() < 1)
      Type(env, names[k], "a positive integer", info[k]);
    v[k] = info[k].As<Napi::Number>().Int32Value();
  }
  const int M = v[0], Nn = v[1], K = v[2], reps = v[3];
  std::vector<float> a(N(M, K), 0.5f), b(N(K, Nn), 0.25f), c(N(M, Nn));
  urgate::Gemm(false, false, M, Nn, K, 1.0f, a.data(), K, b.data(), Nn, 0.0f, c.data(), Nn);
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r)
    urgate::Gemm(false, false, M, Nn, K, 1.0f, a.data(), K, b.data(), Nn, 0.0f, c.data(), Nn);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Napi::Number::New(env, 2.0 * M * Nn * K * reps / s / 1e9);
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), urgate::NumThreads()); }

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber() || info[0].As<Napi::Number>().Int32Value() < 1)
    Type(info.Env(), "threads", "a positive integer", info[0]);
  urgate::SetNumThreads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// layout(spec) -> {family, cols, masters, f, i, r, s, u, o, mf, mi}: the column
// layout the kernels use (csrc/layout.cc), so tests can hold it against
// @urgate/contract's table; absent blocks are -1.
Napi::Value LayoutOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const urgate::LayerShape s = ParseSpec(info[0]);
  const urgate::Layout l = urgate::MakeLayout(s.core, s.family, s.hidden, s.downsize);
  static const char* const kFamilies[] = {"plain",         "ordered",     "refine",
                                          "orderedRefine", "cumaxMaster", "sigmoidMaster"};
  Napi::Object out = Napi::Object::New(env);
  out.Set("family", kFamilies[static_cast<int>(s.family)]);
  out.Set("cols", l.cols);
  out.Set("masters", l.masters);
  const std::pair<const char*, int> blocks[] = {{"f", l.f}, {"i", l.i}, {"r", l.r},   {"s", l.s},
                                                {"u", l.u}, {"o", l.o}, {"mf", l.mf}, {"mi", l.mi}};
  for (const auto& [name, offset] : blocks) out.Set(name, offset);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("layerForward", Napi::Function::New(env, Guarded<LayerForward>));
  exports.Set("layerBackward", Napi::Function::New(env, Guarded<LayerBackward>));
  exports.Set("releaseTape", Napi::Function::New(env, Guarded<ReleaseTape>));
  exports.Set("softmaxCrossEntropy", Napi::Function::New(env, Guarded<SoftmaxCrossEntropy>));
  exports.Set("adamStep", Napi::Function::New(env, Guarded<AdamStep>));
  exports.Set("matmul", Napi::Function::New(env, Guarded<MatMul>));
  exports.Set("sgemmGflops", Napi::Function::New(env, Guarded<SgemmGflops>));
  exports.Set("layout", Napi::Function::New(env, Guarded<LayoutOf>));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("vectorPath", Napi::String::New(env, urgate::VectorPath()));
  urgate_napi::RegisterRmc(env, exports);
  urgate_napi::RegisterAdaptiveSoftmax(env, exports);
  RegisterModelOps(env, exports);
  RegisterLmModel(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(urgate_kernels, Init)
