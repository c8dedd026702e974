// N-API binding of the few MPI calls data-parallel training needs: init, rank and size,
// in-place allreduce, broadcast, allgather of variable-length arrays, barrier, abort, finalize.
// Every call blocks the calling (JavaScript) thread until the collective completes; MPI is
// initialised single-threaded (no other thread calls MPI). Large arrays move in buckets of at
// most kBucket elements, so counts fit MPI's int and no temporary buffer is needed (in place).
#include <mpi.h>
#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace {

constexpr size_t kBucket = size_t{1} << 24;  // elements per MPI call (64 MB of float32)

struct View {
  void* data;
  size_t length;  // elements
  size_t element_bytes;
  MPI_Datatype type;
};

[[noreturn]] void TypeError(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

void Check(Napi::Env env, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw Napi::Error::New(env, std::string(what) + ": " + std::string(text, length));
}

void RequireInit(Napi::Env env) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) throw Napi::Error::New(env, "MPI is not initialised (call init first)");
}

View ViewOf(const Napi::Value& value, const char* name, bool bytes_allowed) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray()) TypeError(env, std::string(name) + ": expected a typed array");
  auto array = value.As<Napi::TypedArray>();
  View v{nullptr, array.ElementLength(), array.ElementSize(), MPI_DATATYPE_NULL};
  switch (array.TypedArrayType()) {
    case napi_float32_array: v.type = MPI_FLOAT; break;
    case napi_float64_array: v.type = MPI_DOUBLE; break;
    case napi_int32_array: v.type = MPI_INT; break;
    case napi_uint8_array:
      if (bytes_allowed) v.type = MPI_BYTE;
      break;
    default: break;
  }
  if (v.type == MPI_DATATYPE_NULL)
    TypeError(env, std::string(name) + (bytes_allowed ? ": expected a Float32Array, Float64Array, Int32Array or Uint8Array"
                                                      : ": expected a Float32Array, Float64Array or Int32Array"));
  v.data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return v;
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) Check(env, MPI_Init(nullptr, nullptr), "MPI_Init");
  // Any failed MPI call ends the whole job (MPI's default, made explicit): a rank never
  // continues with a half-done collective.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  int rank = 0, size = 1, length = 0;
  char host[MPI_MAX_PROCESSOR_NAME];
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Get_processor_name(host, &length);
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int version_length = 0;
  MPI_Get_library_version(version, &version_length);
  std::string library(version, version_length);
  library = library.substr(0, library.find_first_of(",\n"));
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", rank);
  out.Set("size", size);
  out.Set("host", std::string(host, length));
  out.Set("library", library);
  return out;
}

MPI_Op OpOf(const Napi::Value& value) {
  const std::string op = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (op == "sum") return MPI_SUM;
  if (op == "max") return MPI_MAX;
  if (op == "min") return MPI_MIN;
  TypeError(value.Env(), "op: expected 'sum', 'max' or 'min'");
}

// allreduce(array, op): every rank's array becomes the element-wise reduction over ranks.
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  View v = ViewOf(info[0], "array", false);
  MPI_Op op = OpOf(info[1]);
  auto* base = static_cast<uint8_t*>(v.data);
  for (size_t at = 0; at < v.length; at += kBucket) {
    const int n = static_cast<int>(std::min(kBucket, v.length - at));
    Check(env, MPI_Allreduce(MPI_IN_PLACE, base + at * v.element_bytes, n, v.type, op, MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
  return env.Undefined();
}

// broadcast(array, root): every rank's array becomes root's.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  View v = ViewOf(info[0], "array", true);
  if (!info[1].IsNumber()) TypeError(env, "root: expected a rank number");
  const int root = info[1].As<Napi::Number>().Int32Value();
  auto* base = static_cast<uint8_t*>(v.data);
  for (size_t at = 0; at < v.length; at += kBucket) {
    const int n = static_cast<int>(std::min(kBucket, v.length - at));
    Check(env, MPI_Bcast(base + at * v.element_bytes, n, v.type, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  return env.Undefined();
}

// allgather(array) -> {data, counts}: every rank's array, rank 0's first, in a new array of the
// same type; counts[r] = the length rank r gave.
Napi::Value Allgather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireInit(env);
  View v = ViewOf(info[0], "array", false);
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (v.length > static_cast<size_t>(INT32_MAX)) throw Napi::RangeError::New(env, "array: more than 2^31 - 1 elements");
  const int mine = static_cast<int>(v.length);
  std::vector<int> counts(size), displacements(size);
  Check(env, MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  size_t total = 0;
  for (int r = 0; r < size; ++r) {
    if (total > static_cast<size_t>(INT32_MAX)) throw Napi::RangeError::New(env, "allgather: more than 2^31 - 1 elements in all");
    displacements[r] = static_cast<int>(total);
    total += static_cast<size_t>(counts[r]);
  }
  if (total > static_cast<size_t>(INT32_MAX)) throw Napi::RangeError::New(env, "allgather: more than 2^31 - 1 elements in all");
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, std::max<size_t>(1, total * v.element_bytes));
  Check(env,
        MPI_Allgatherv(v.data, mine, v.type, buffer.Data(), counts.data(), displacements.data(), v.type, MPI_COMM_WORLD),
        "MPI_Allgatherv");
  Napi::Value data;
  if (v.type == MPI_FLOAT)
    data = Napi::Float32Array::New(env, total, buffer, 0);
  else if (v.type == MPI_DOUBLE)
    data = Napi::Float64Array::New(env, total, buffer, 0);
  else
    data = Napi::Int32Array::New(env, total, buffer, 0);
  Napi::Int32Array out_counts = Napi::Int32Array::New(env, size);
  std::copy(counts.begin(), counts.end(), out_counts.Data());
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", data);
  out.Set("counts", out_counts);
  return out;
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  RequireInit(info.Env());
  Check(info.Env(), MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  return info.Env().Undefined();
}

// abort(code): ends every rank of the job (the launcher kills the others).
Napi::Value Abort(const Napi::CallbackInfo& info) {
  const int code = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) Check(info.Env(), MPI_Finalize(), "MPI_Finalize");
  return info.Env().Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("allreduce", Napi::Function::New(env, Allreduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("allgather", Napi::Function::New(env, Allgather));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  return exports;
}

}  // namespace

NODE_API_MODULE(urgate_mpi, Register)
