#include "common/addon_kit.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/js_tensors.h"
#include "common/promise_worker.h"
#include "common/tensor_proto.h"

namespace duo {
namespace {

// Tags a ModelHandle, so that any other External is refused rather than misread.
constexpr napi_type_tag kModelTag = {0x7c3e'55a1'0b9d'4e62ULL, 0xd81f'26c7'93a0'5be4ULL};

// What a ModelHandle holds. unload() empties it; runs in flight keep their own copy.
using ModelSlot = std::shared_ptr<LoadedModel>;

struct AddonState {
  std::shared_ptr<Backend> backend;
};

ModelSlot* ModelSlotOf(Napi::Value value) {
  if (!value.IsExternal() || !value.As<Napi::External<ModelSlot>>().CheckTypeTag(&kModelTag)) {
    ThrowTypeError(value.Env(), "expected a ModelHandle from load()");
  }
  return value.As<Napi::External<ModelSlot>>().Data();
}

// {key: string | Buffer}; Buffer values arrive as raw bytes.
LoadOptions ReadLoadOptions(Napi::Value value) {
  LoadOptions options;
  if (value.IsUndefined()) return options;
  if (!value.IsObject()) ThrowTypeError(value.Env(), "load options must be an object");
  Napi::Object object = value.As<Napi::Object>();
  Napi::Array keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    Napi::Value option = object.Get(key);
    if (option.IsString()) {
      options[key] = option.As<Napi::String>().Utf8Value();
    } else if (option.IsBuffer()) {
      auto bytes = option.As<Napi::Buffer<char>>();
      options[key].assign(bytes.Data(), bytes.Length());
    } else {
      ThrowTypeError(value.Env(), "load option '" + key + "' must be a string or a Buffer");
    }
  }
  return options;
}

enum class OutputEncoding { kFields, kContent, kHost };

OutputEncoding ReadEncoding(Napi::Value value) {
  const std::string name = StringArg(value, "encoding");
  if (name == "fields") return OutputEncoding::kFields;
  if (name == "content") return OutputEncoding::kContent;
  if (name == "host") return OutputEncoding::kHost;
  ThrowTypeError(value.Env(), "encoding must be 'fields', 'content' or 'host', not '" + name + "'");
}

// Hands an unloaded model's freed memory back to the OS. Without it, glibc keeps the pages in
// its per-thread arenas and a server that swaps TF versions grows for many cycles (measured by
// bench/lifecycle.ts: mlp_tf 402 -> 486 MiB over 100 load/unload cycles). Costs ~1 ms, once
// per unload, on whichever worker thread drops the model's last reference.
void ReturnFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

// The model as the kit shares it: when its last reference goes, the model is destroyed and
// the heap trimmed.
std::shared_ptr<LoadedModel> TrimmingOnRelease(std::shared_ptr<LoadedModel> model) {
  LoadedModel* raw = model.get();
  return std::shared_ptr<LoadedModel>(raw, [owner = std::move(model)](LoadedModel*) mutable {
    owner.reset();
    ReturnFreedMemory();
  });
}

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::shared_ptr<Backend> backend, std::string path, LoadOptions options)
      : PromiseWorker(env, "duoserve.load"),
        backend_(std::move(backend)),
        path_(std::move(path)),
        options_(std::move(options)) {}

 private:
  Status Work() override {
    DUO_RETURN_IF_ERROR(backend_->Load(path_, options_, &model_));
    if (model_ == nullptr) return Status::Error(Code::kInternal, "the backend loaded no model");
    model_ = TrimmingOnRelease(std::move(model_));
    return Status::Ok();
  }

  Napi::Value Result(Napi::Env env) override {
    auto slot = std::make_unique<ModelSlot>(std::move(model_));
    auto handle = Napi::External<ModelSlot>::New(env, slot.get(), [](Napi::Env, ModelSlot* owned) { delete owned; });
    slot.release();
    handle.TypeTag(&kModelTag);
    return handle;
  }

  std::shared_ptr<Backend> backend_;
  std::string path_;
  LoadOptions options_;
  std::shared_ptr<LoadedModel> model_;
};

class RunWorker : public PromiseWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<LoadedModel> model)
      : PromiseWorker(env, "duoserve.run"), model_(std::move(model)) {}

  // JS thread: reads the arguments; TypeError for a malformed one, FailEarly for bad data.
  void ReadArguments(Napi::Array inputs, Napi::Array output_names, OutputEncoding encoding, Napi::Value deadline) {
    Napi::Env env = inputs.Env();
    encoding_ = encoding;
    if (!deadline.IsUndefined()) {
      if (!deadline.IsNumber()) ThrowTypeError(env, "deadline must be a number of microseconds");
      deadline_us_ = deadline.As<Napi::Number>().DoubleValue();
    }
    inputs_.reserve(inputs.Length());
    for (uint32_t i = 0; i < inputs.Length(); ++i) {
      Napi::Value value = inputs.Get(i);
      const uint32_t length = value.IsArray() ? value.As<Napi::Array>().Length() : 0;
      if (length < 2 || length > 5) {
        ThrowTypeError(env, "inputs must be an array of [name, TensorSource, dtype?, shape?, alias?] entries");
      }
      Napi::Array entry = value.As<Napi::Array>();
      std::string name = StringArg(entry.Get(0u), "an input name");
      InputSource source;
      Status status = ReadTensorSource(entry.Get(1u), &source, &keep_alive_);
      if (!status.ok()) {
        FailEarly(InInput(name, status));
        return;
      }
      inputs_.push_back({std::move(name), std::move(source), ReadExpectedInput(entry)});
    }
    output_names_.reserve(output_names.Length());
    for (uint32_t i = 0; i < output_names.Length(); ++i) {
      output_names_.push_back(StringArg(output_names.Get(i), "an output name"));
    }
  }

 private:
  struct PendingInput {
    std::string name;
    InputSource source;
    ExpectedInput expected;
  };

  // process.hrtime()'s clock (CLOCK_MONOTONIC, which steady_clock reads on Linux), in µs.
  static double NowMicros() {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  static Status InInput(const std::string& name, const Status& status) {
    return Status::Error(status.code, "input '" + name + "': " + status.message);
  }

  Status Work() override {
    // The model is released here, off the JS thread, if unload() came while this ran.
    std::shared_ptr<LoadedModel> model = std::move(model_);
    if (model == nullptr) return Status::Error(Code::kFailedPrecondition, "the model was unloaded");
    // A run that waited in the queue past its caller's deadline is not started: the caller has
    // been answered already (as a C++ gRPC server answers an expired call).
    if (deadline_us_ > 0 && NowMicros() >= deadline_us_) {
      return Status::Error(Code::kDeadlineExceeded, "Deadline Exceeded");
    }
    std::vector<NamedTensor> inputs;
    inputs.reserve(inputs_.size());
    for (size_t i = 0; i < inputs_.size(); ++i) {
      PendingInput& input = inputs_[i];
      HostTensorPtr tensor;
      Status status = MaterializeInput(input.source, &tensor);
      if (!status.ok()) return InInput(input.name, status);
      DUO_RETURN_IF_ERROR(CheckExpectedInput(i, input.expected, *tensor));
      inputs.push_back({std::move(input.name), std::move(tensor)});
    }
    inputs_.clear();
    DUO_RETURN_IF_ERROR(model->Run(inputs, output_names_, &outputs_));
    inputs.clear();  // frees decoded inputs before the outputs are encoded
    for (const NamedTensor& output : outputs_) {
      if (output.tensor == nullptr) {
        return Status::Error(Code::kInternal, "the backend returned no tensor for output '" + output.name + "'");
      }
    }
    if (encoding_ == OutputEncoding::kHost) return Status::Ok();
    const ProtoEncoding proto_encoding =
        encoding_ == OutputEncoding::kFields ? ProtoEncoding::kTypedFields : ProtoEncoding::kTensorContent;
    encoded_.reserve(outputs_.size());
    for (NamedTensor& output : outputs_) {
      auto bytes = std::make_unique<std::string>();
      EncodeTensorProto(*output.tensor, proto_encoding, bytes.get());
      encoded_.push_back(std::move(bytes));
      output.tensor.reset();
    }
    return Status::Ok();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array result = Napi::Array::New(env, outputs_.size());
    for (size_t i = 0; i < outputs_.size(); ++i) {
      Napi::Array entry = Napi::Array::New(env, 2);
      entry.Set(0u, Napi::String::New(env, outputs_[i].name));
      if (encoding_ == OutputEncoding::kHost) {
        entry.Set(1u, HostTensorToJs(env, outputs_[i].tensor));
      } else {
        entry.Set(1u, BufferTaking(env, std::move(encoded_[i])));
      }
      result.Set(static_cast<uint32_t>(i), entry);
    }
    return result;
  }

  std::shared_ptr<LoadedModel> model_;
  OutputEncoding encoding_ = OutputEncoding::kFields;
  double deadline_us_ = 0;  // 0: none
  std::vector<PendingInput> inputs_;
  std::vector<Napi::ObjectReference> keep_alive_;  // JS buffers the inputs borrow from
  std::vector<std::string> output_names_;
  std::vector<NamedTensor> outputs_;
  std::vector<std::unique_ptr<std::string>> encoded_;
};

// Drops a model's last reference on a worker thread: closing a session can take a while.
class ReleaseWorker : public Napi::AsyncWorker {
 public:
  ReleaseWorker(Napi::Env env, std::shared_ptr<LoadedModel> model)
      : Napi::AsyncWorker(env, "duoserve.unload"), model_(std::move(model)) {}

 private:
  void Execute() override { model_.reset(); }
  std::shared_ptr<LoadedModel> model_;
};

AddonState& StateOf(const Napi::CallbackInfo& info) { return *static_cast<AddonState*>(info.Data()); }

// Starts a worker built on the JS thread: the queue owns it from here on.
template <typename Worker>
Napi::Promise Start(std::unique_ptr<Worker> worker) {
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  worker.release();
  return promise;
}

Napi::Value Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info[0], "path");
  LoadOptions options = ReadLoadOptions(info[1]);
  return Start(std::make_unique<LoadWorker>(env, StateOf(info).backend, std::move(path), std::move(options)));
}

Napi::Value Describe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelSlot& model = *ModelSlotOf(info[0]);
  if (model == nullptr) ThrowStatus(env, Status::Error(Code::kFailedPrecondition, "the model was unloaded"));
  std::string description;
  try {
    description = model->Describe();
  } catch (const std::exception& e) {
    ThrowStatus(env, Status::Error(Code::kInternal, std::string("describe failed: ") + e.what()));
  }
  return Napi::Buffer<char>::Copy(env, description.data(), description.size());
}

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelSlot& model = *ModelSlotOf(info[0]);
  Napi::Array inputs = ArrayArg(info[1], "inputs");
  Napi::Array output_names = ArrayArg(info[2], "outputNames");
  const OutputEncoding encoding = ReadEncoding(info[3]);
  // The run holds its own reference from here: unload() cannot pull the model from under it.
  auto worker = std::make_unique<RunWorker>(env, model);
  if (model == nullptr) {
    worker->FailEarly(Status::Error(Code::kFailedPrecondition, "the model was unloaded"));
  } else {
    worker->ReadArguments(inputs, output_names, encoding, info[4]);
  }
  return Start(std::move(worker));
}

Napi::Value Unload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelSlot& model = *ModelSlotOf(info[0]);
  if (model != nullptr) {
    auto worker = std::make_unique<ReleaseWorker>(env, std::move(model));
    model = nullptr;
    worker->Queue();
    worker.release();
  }
  return env.Undefined();
}

}  // namespace

Napi::Object InitBackendAddon(Napi::Env env, Napi::Object exports, std::unique_ptr<Backend> backend) {
  auto* state = new AddonState{std::shared_ptr<Backend>(std::move(backend))};
  // Loads in flight hold their own reference to the backend, so it may outlive the env.
  env.AddCleanupHook([state] { delete state; });
  exports.Set("load", Napi::Function::New(env, Load, "load", state));
  exports.Set("describe", Napi::Function::New(env, Describe, "describe", state));
  exports.Set("run", Napi::Function::New(env, Run, "run", state));
  exports.Set("unload", Napi::Function::New(env, Unload, "unload", state));
  return exports;
}

}  // namespace duo
