// N-API binding of the Relational Memory Core kernels (csrc/rmc.h), registered
// from addon.cc. As there, every argument is checked (napi/args.h) before a kernel runs: a
// wrong type is a TypeError, a wrong size or field a RangeError, each naming
// the argument.
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../csrc/rmc.h"
#include "args.h"

namespace urgate_napi {
namespace {

const napi_type_tag kRmcTapeTag = {0x75726761746572ULL, 0x726d637461706531ULL};

urgate::RmcShape ParseRmcSpec(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) Type(env, "spec", "an object {inputSize, memSlots, headSize, ...}", v);
  Napi::Object o = v.As<Napi::Object>();
  urgate::RmcShape s;
  s.input = Int(o, "inputSize");
  s.slots = Int(o, "memSlots");
  s.head_size = Int(o, "headSize");
  s.num_heads = Int(o, "numHeads");
  s.key_size = Int(o, "keySize");
  s.blocks = Int(o, "numBlocks");
  s.mlp_layers = Int(o, "mlpLayers");
  s.downsize = Int(o, "downsize");
  s.batch = Int(o, "batch");
  s.steps = Int(o, "steps");
  const std::string style = String(o, "gateStyle");
  if (style == "unit") s.gate_style = urgate::RmcGateStyle::kUnit;
  else if (style == "memory") s.gate_style = urgate::RmcGateStyle::kMemory;
  else if (style == "none") s.gate_style = urgate::RmcGateStyle::kNone;
  else Range(env, "spec.gateStyle: expected 'unit', 'memory' or 'none', got '" + style + "'");
  try {
    s.family = urgate::ParseRmcMechanism(String(o, "mechanism"));
    urgate::ValidateRmcShape(s);
  } catch (const std::invalid_argument& e) {
    Range(env, std::string("spec.") + e.what());
  }
  return s;
}

// The weight arrays in RmcParamSizes' order, each checked for its length.
std::vector<float*> ParamArrays(const Napi::Value& v, const urgate::RmcShape& s, const char* name) {
  Napi::Env env = v.Env();
  const std::vector<size_t> sizes = urgate::RmcParamSizes(s);
  if (!v.IsArray()) Type(env, name, "an Array of Float32Array", v);
  auto a = v.As<Napi::Array>();
  if (a.Length() != sizes.size())
    Range(env, std::string(name) + ": expected " + std::to_string(sizes.size()) + " arrays for this spec, got " +
                   std::to_string(a.Length()));
  std::vector<float*> out;
  for (uint32_t k = 0; k < a.Length(); ++k)
    out.push_back(Floats(a.Get(k), std::string(name) + "[" + std::to_string(k) + "]", sizes[k]));
  return out;
}

urgate::RmcWeights Weights(const Napi::Value& v, const urgate::RmcShape& s) {
  const std::vector<float*> arrays = ParamArrays(v, s, "weights");
  return urgate::RmcParamsFromFlat(s, std::vector<const float*>(arrays.begin(), arrays.end()));
}

size_t N(int a, int b, int c = 1) { return static_cast<size_t>(a) * b * c; }

// The buffers of the last tape a backward pass used up, for the next forward
// pass: a training loop calls with the same shape every iteration, and fresh
// pages for hundreds of MB of tape cost more than the pointwise work. At most
// one tape is kept; a call of another shape reallocates its buffers.
std::mutex g_spare_mutex;
std::unique_ptr<urgate::RmcTape> g_spare;

std::unique_ptr<urgate::RmcTape> TakeTape() {
  std::lock_guard<std::mutex> lock(g_spare_mutex);
  return g_spare ? std::move(g_spare) : std::make_unique<urgate::RmcTape>();
}

void KeepTape(urgate::RmcTape* used) {
  auto spare = std::make_unique<urgate::RmcTape>(std::move(*used));
  *used = urgate::RmcTape{};
  std::lock_guard<std::mutex> lock(g_spare_mutex);
  g_spare = std::move(spare);
}

// rmcForward(spec, weights[], xs, memory0) -> {outputs, tape}
Napi::Value RmcForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const urgate::RmcShape s = ParseRmcSpec(info[0]);
  const urgate::RmcWeights w = Weights(info[1], s);
  const int T = s.steps, B = s.batch;
  const float* xs = Floats(info[2], "xs", N(T, B, s.input));
  const float* memory0 = Floats(info[3], "memory0", N(B, s.slots, s.Mem()));
  auto outputs = Napi::Float32Array::New(env, N(T, B, s.slots * s.Mem()));
  auto tape = TakeTape();
  urgate::RmcForwardPass(s).Run(w, xs, memory0, outputs.Data(), tape.get());
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(tape->Bytes()));
  auto external = Napi::External<urgate::RmcTape>::New(env, tape.release(), [](Napi::Env e, urgate::RmcTape* t) {
    Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(t->Bytes()));
    delete t;
  });
  external.TypeTag(&kRmcTapeTag);
  Napi::Object result = Napi::Object::New(env);
  result.Set("outputs", outputs);
  result.Set("tape", external);
  return result;
}

// rmcReleaseTape(tape): frees (keeps as the spare) an RMC tape no backward pass will use.
Napi::Value RmcReleaseTape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal() || !info[0].As<Napi::External<urgate::RmcTape>>().CheckTypeTag(&kRmcTapeTag))
    Type(env, "tape", "the tape returned by rmcForward", info[0]);
  urgate::RmcTape* tape = info[0].As<Napi::External<urgate::RmcTape>>().Data();
  if (tape->block_in.empty()) return env.Undefined();
  const int64_t bytes = static_cast<int64_t>(tape->Bytes());
  KeepTape(tape);
  Napi::MemoryManagement::AdjustExternalMemory(env, -bytes);
  return env.Undefined();
}

// rmcBackward(tape, weights[], xs, dOutputs) -> {dxs, dmemory0, grads[]}; the tape is used up.
Napi::Value RmcBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsExternal() || !info[0].As<Napi::External<urgate::RmcTape>>().CheckTypeTag(&kRmcTapeTag))
    Type(env, "tape", "the tape returned by rmcForward", info[0]);
  urgate::RmcTape* tape = info[0].As<Napi::External<urgate::RmcTape>>().Data();
  if (tape->block_in.empty()) Range(env, "tape: already used by a backward pass (a tape serves one)");
  const urgate::RmcShape s = tape->shape;
  const urgate::RmcWeights w = Weights(info[1], s);
  const int T = s.steps, B = s.batch;
  const float* xs = Floats(info[2], "xs", N(T, B, s.input));
  const float* d_out = Floats(info[3], "dOutputs", N(T, B, s.slots * s.Mem()));
  auto dxs = Napi::Float32Array::New(env, N(T, B, s.input));
  auto dmemory0 = Napi::Float32Array::New(env, N(B, s.slots, s.Mem()));
  const std::vector<size_t> sizes = urgate::RmcParamSizes(s);
  auto grads = Napi::Array::New(env, sizes.size());
  std::vector<float*> grad_ptrs;
  for (size_t k = 0; k < sizes.size(); ++k) {
    auto a = Napi::Float32Array::New(env, sizes[k]);
    grads.Set(static_cast<uint32_t>(k), a);
    grad_ptrs.push_back(a.Data());
  }
  urgate::RmcBackwardPass().Run(tape, w, xs, d_out, dxs.Data(), dmemory0.Data(),
                                urgate::RmcParamsFromFlat(s, grad_ptrs));
  const int64_t bytes = static_cast<int64_t>(tape->Bytes());
  KeepTape(tape);
  Napi::MemoryManagement::AdjustExternalMemory(env, -bytes);
  Napi::Object result = Napi::Object::New(env);
  result.Set("dxs", dxs);
  result.Set("dmemory0", dmemory0);
  result.Set("grads", grads);
  return result;
}

}  // namespace

void RegisterRmc(Napi::Env env, Napi::Object exports) {
  exports.Set("rmcForward", Napi::Function::New(env, Guarded<RmcForward>));
  exports.Set("rmcBackward", Napi::Function::New(env, Guarded<RmcBackward>));
  exports.Set("rmcReleaseTape", Napi::Function::New(env, Guarded<RmcReleaseTape>));
}

}  // namespace urgate_napi
