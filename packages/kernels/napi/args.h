// The argument checks shared by the N-API bindings (addon.cc, model.cc, lm_model.cc,
// rmc.cc, adaptive_softmax.cc). One definition of each, so every binding refuses bad input the same
// way: a wrong type is a TypeError "name: expected X, got Y", a wrong size or
// value a RangeError, each naming the argument, before any kernel runs.
#pragma once

#include <napi.h>

#include <exception>
#include <new>
#include <string>

namespace urgate_napi {

// What a value is, in words, for the "got ..." of a TypeError: enough for the
// caller to see which argument of the wrong kind was passed.
inline std::string Describe(const Napi::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float64_array: return "a Float64Array";
      case napi_int32_array: return "an Int32Array";
      case napi_uint8_array: return "a Uint8Array";
      default: return "another typed array";
    }
  }
  if (v.IsArray()) return "an Array";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  return "an object";
}

[[noreturn]] inline void Type(Napi::Env env, const std::string& name, const std::string& expected,
                              const Napi::Value& got) {
  throw Napi::TypeError::New(env, name + ": expected " + expected + ", got " + Describe(got));
}

[[noreturn]] inline void Range(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

// An optional argument left out: JavaScript callers pass either null or undefined.
inline bool Absent(const Napi::Value& v) { return v.IsNull() || v.IsUndefined(); }

// A Float32Array argument of exactly `expected` elements; nullptr when
// `optional` and the value is absent. The length check is what keeps a kernel
// from reading or writing past the caller's buffer.
inline float* Floats(const Napi::Value& v, const std::string& name, size_t expected, bool optional = false) {
  if (optional && Absent(v)) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    Type(v.Env(), name, "a Float32Array", v);
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() != expected)
    Range(v.Env(), name + ": expected " + std::to_string(expected) + " float32 values, got " +
                       std::to_string(a.ElementLength()));
  return a.Data();
}

// The non-negative integer field `key` of a spec object (sizes, counts);
// `fallback` (when >= 0) stands in for an absent field. Fractions and values
// past int's range are refused rather than truncated.
inline int Int(const Napi::Object& o, const char* key, int fallback = -1) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && fallback >= 0) return fallback;
  if (!v.IsNumber()) Type(o.Env(), std::string("spec.") + key, "an integer", v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < 2147483648.0) || d != static_cast<double>(static_cast<int>(d)))
    Range(o.Env(), std::string("spec.") + key + ": expected a non-negative integer, got " + std::to_string(d));
  return static_cast<int>(d);
}

// The number field `key` of an options object; `fallback` when absent.
inline double Number(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) Type(o.Env(), std::string("options.") + key, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}

// An Int32Array argument (token ids, targets, classes), of any length.
inline Napi::Int32Array IdArray(const Napi::Value& v, const std::string& name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    Type(v.Env(), name, "an Int32Array", v);
  return v.As<Napi::Int32Array>();
}

// An Int32Array of exactly `expected` ids, each in [0, count): a kernel indexes
// rows with them, so one out of range would read past its table. `noun` names
// one id in the error ("a token id", "a class").
inline const int32_t* Ids(const Napi::Value& v, const std::string& name, size_t expected, int count,
                          const char* noun) {
  auto a = IdArray(v, name);
  if (a.ElementLength() != expected)
    Range(v.Env(), name + ": expected " + std::to_string(expected) + " ids, got " + std::to_string(a.ElementLength()));
  for (size_t r = 0; r < expected; ++r)
    if (a[r] < 0 || a[r] >= count)
      Range(v.Env(), name + "[" + std::to_string(r) + "]: expected " + noun + " in [0, " + std::to_string(count) +
                         "), got " + std::to_string(a[r]));
  return a.Data();
}

// The string field `key` of a spec object (names such as a mechanism).
inline std::string String(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) Type(o.Env(), std::string("spec.") + key, "a string", v);
  return v.As<Napi::String>();
}

// Runs f() so that any C++ exception a kernel raises (allocation failure,
// thread creation) becomes a JavaScript error instead of terminating the
// process; the bindings' own TypeErrors and RangeErrors pass through.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, F f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(info.Env(), "out of memory for the requested sizes");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

// A binding function wrapped in Guard.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  return Guard(info, [&] { return F(info); });
}

}  // namespace urgate_napi
