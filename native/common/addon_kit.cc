#include "common/addon_kit.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/batch_tensors.h"
#include "common/js_tensors.h"
#include "common/promise_worker.h"
#include "common/raw_bytes_contents.h"
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

enum class OutputEncoding { kFields, kContent, kHost, kRaw };

OutputEncoding ReadEncoding(Napi::Value value) {
  const std::string name = StringArg(value, "encoding");
  if (name == "fields") return OutputEncoding::kFields;
  if (name == "content") return OutputEncoding::kContent;
  if (name == "host") return OutputEncoding::kHost;
  if (name == "raw") return OutputEncoding::kRaw;
  ThrowTypeError(value.Env(), "encoding must be 'fields', 'content', 'host' or 'raw', not '" + name + "'");
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

// process.hrtime()'s clock (CLOCK_MONOTONIC, which steady_clock reads on Linux), in µs.
double NowMicros() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// When a run's caller stops waiting for it: its deadline and its cancel flag, read on the JS
// thread with the run's arguments.
struct CallerWait {
  double deadline_us = 0;        // 0: none
  int32_t* cancelled = nullptr;  // element 0 of the caller's CancelFlag; null: none
};

// A deadline argument in microseconds on process.hrtime()'s clock; undefined: none (0).
double ReadDeadline(Napi::Value value, const char* what) {
  if (value.IsUndefined()) return 0;
  if (!value.IsNumber()) ThrowTypeError(value.Env(), std::string(what) + " must be a number of microseconds");
  return value.As<Napi::Number>().DoubleValue();
}

// A CancelFlag argument (an Int32Array the JS thread sets with Atomics.store); undefined: none.
// `keep_alive` holds the array, so its memory lives as long as the run.
int32_t* ReadCancelFlag(Napi::Value value, const char* what, std::vector<Napi::ObjectReference>* keep_alive) {
  if (value.IsUndefined()) return nullptr;
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      value.As<Napi::TypedArray>().ElementLength() < 1) {
    ThrowTypeError(value.Env(), std::string(what) + " must be an Int32Array");
  }
  auto flag = value.As<Napi::Int32Array>();
  keep_alive->push_back(Napi::Persistent(flag.As<Napi::Object>()));
  return flag.Data();
}

// The one check a run (or a batch task) passes before it starts: one its caller no longer
// waits for is not started. Past its deadline, the caller has been answered already (as a C++
// gRPC server answers an expired call); cancelled, no one listens for the answer.
Status StillAwaited(const CallerWait& wait, double now_us) {
  if (wait.deadline_us > 0 && now_us >= wait.deadline_us) {
    return Status::Error(Code::kDeadlineExceeded, "Deadline Exceeded");
  }
  if (wait.cancelled != nullptr && std::atomic_ref<int32_t>(*wait.cancelled).load(std::memory_order_acquire) != 0) {
    return Status::Error(Code::kCancelled, "Cancelled");
  }
  return Status::Ok();
}

Status InInput(const std::string& name, const Status& status) {
  return Status::Error(status.code, "input '" + name + "': " + status.message);
}

// One input of run() (or of one runBatch task) as read on the JS thread.
struct PendingInput {
  std::string name;
  InputSource source;
  ExpectedInput expected;
};

// Reads one [name, TensorSource, dtype?, shape?, alias?] entry into `out` (its name even when
// the source's data is bad, which the returned Status says).
Status ReadPendingInput(Napi::Value value, PendingInput* out, std::vector<Napi::ObjectReference>* keep_alive) {
  const uint32_t length = value.IsArray() ? value.As<Napi::Array>().Length() : 0;
  if (length < 2 || length > 5) {
    ThrowTypeError(value.Env(), "inputs must be an array of [name, TensorSource, dtype?, shape?, alias?] entries");
  }
  Napi::Array entry = value.As<Napi::Array>();
  out->name = StringArg(entry.Get(0u), "an input name");
  Status status = ReadTensorSource(entry.Get(1u), &out->source, keep_alive);
  if (!status.ok()) return InInput(out->name, status);
  out->expected = ReadExpectedInput(entry);
  return Status::Ok();
}

std::vector<std::string> ReadOutputNames(Napi::Array output_names) {
  std::vector<std::string> names;
  names.reserve(output_names.Length());
  for (uint32_t i = 0; i < output_names.Length(); ++i) {
    names.push_back(StringArg(output_names.Get(i), "an output name"));
  }
  return names;
}

Status CheckOutputsPresent(const std::vector<NamedTensor>& outputs) {
  for (const NamedTensor& output : outputs) {
    if (output.tensor == nullptr) {
      return Status::Error(Code::kInternal, "the backend returned no tensor for output '" + output.name + "'");
    }
  }
  return Status::Ok();
}

// Worker thread: outputs as TensorProto bytes for 'fields' and 'content' (each tensor is
// released once encoded); BYTES outputs as their raw contents for 'raw'; 'host' and numeric
// 'raw' outputs stay as they are.
void EncodeOutputs(OutputEncoding encoding, std::vector<NamedTensor>* outputs,
                   std::vector<std::unique_ptr<std::string>>* encoded) {
  if (encoding == OutputEncoding::kHost) return;
  if (encoding == OutputEncoding::kRaw) {
    encoded->resize(outputs->size());
    for (size_t i = 0; i < outputs->size(); ++i) {
      const HostTensor& tensor = *(*outputs)[i].tensor;
      if (tensor.dtype == DType::kString) (*encoded)[i] = EncodeRawBytesContents(tensor);
    }
    return;
  }
  const ProtoEncoding proto_encoding =
      encoding == OutputEncoding::kFields ? ProtoEncoding::kTypedFields : ProtoEncoding::kTensorContent;
  encoded->reserve(outputs->size());
  for (NamedTensor& output : *outputs) {
    auto bytes = std::make_unique<std::string>();
    EncodeTensorProto(*output.tensor, proto_encoding, bytes.get());
    encoded->push_back(std::move(bytes));
    output.tensor.reset();
  }
}

// JS thread: run()'s answer, [name, Output][].
Napi::Array OutputsToJs(Napi::Env env, OutputEncoding encoding, const std::vector<NamedTensor>& outputs,
                        std::vector<std::unique_ptr<std::string>>* encoded) {
  Napi::Array result = Napi::Array::New(env, outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    Napi::Array entry = Napi::Array::New(env, 2);
    entry.Set(0u, Napi::String::New(env, outputs[i].name));
    if (encoding == OutputEncoding::kHost) {
      entry.Set(1u, HostTensorToJs(env, outputs[i].tensor));
    } else if (encoding == OutputEncoding::kRaw) {
      entry.Set(1u, RawTensorToJs(env, outputs[i].tensor, std::move((*encoded)[i])));
    } else {
      entry.Set(1u, BufferTaking(env, std::move((*encoded)[i])));
    }
    result.Set(static_cast<uint32_t>(i), entry);
  }
  return result;
}

class RunWorker : public PromiseWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<LoadedModel> model)
      : PromiseWorker(env, "duoserve.run"), model_(std::move(model)) {}

  // JS thread: reads the arguments; TypeError for a malformed one, FailEarly for bad data.
  void ReadArguments(Napi::Array inputs, Napi::Array output_names, OutputEncoding encoding, Napi::Value deadline,
                     Napi::Value cancelled) {
    encoding_ = encoding;
    wait_.deadline_us = ReadDeadline(deadline, "deadline");
    wait_.cancelled = ReadCancelFlag(cancelled, "cancelled", &keep_alive_);
    inputs_.resize(inputs.Length());
    for (uint32_t i = 0; i < inputs.Length(); ++i) {
      Status status = ReadPendingInput(inputs.Get(i), &inputs_[i], &keep_alive_);
      if (!status.ok()) {
        FailEarly(status);
        return;
      }
    }
    output_names_ = ReadOutputNames(output_names);
  }

 private:
  Status Work() override {
    // The model is released here, off the JS thread, if unload() came while this ran.
    std::shared_ptr<LoadedModel> model = std::move(model_);
    if (model == nullptr) return Status::Error(Code::kFailedPrecondition, "the model was unloaded");
    DUO_RETURN_IF_ERROR(StillAwaited(wait_, NowMicros()));
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
    DUO_RETURN_IF_ERROR(CheckOutputsPresent(outputs_));
    EncodeOutputs(encoding_, &outputs_, &encoded_);
    return Status::Ok();
  }

  Napi::Value Result(Napi::Env env) override { return OutputsToJs(env, encoding_, outputs_, &encoded_); }

  std::shared_ptr<LoadedModel> model_;
  OutputEncoding encoding_ = OutputEncoding::kFields;
  CallerWait wait_;
  std::vector<PendingInput> inputs_;
  std::vector<Napi::ObjectReference> keep_alive_;  // JS buffers the inputs borrow from, the cancel flag
  std::vector<std::string> output_names_;
  std::vector<NamedTensor> outputs_;
  std::vector<std::unique_ptr<std::string>> encoded_;
};

// An AOTInductor input's expected shape with dim 0 free: a task brings its own rows, and the
// merged batch is checked against the whole shape (a package compiled for one batch size
// takes only batches of that size).
ExpectedInput AnyRows(ExpectedInput expected) {
  if (expected.check_shape && !expected.shape.empty()) expected.shape[0] = -1;
  return expected;
}

// runBatch(): several run()s as one (native/common/batch_tensors.h does the tensor work). A
// task that cannot join (expired, cancelled, bad input, shape unlike the first task's) is answered its
// own error and left out; the others run as one batch. TF-Serving fails the whole batch for a
// shape mismatch; failing only the task that differs keeps one bad client from failing others.
class BatchWorker : public PromiseWorker {
 public:
  BatchWorker(Napi::Env env, std::shared_ptr<LoadedModel> model)
      : PromiseWorker(env, "duoserve.runBatch"), model_(std::move(model)) {}

  // JS thread: TypeError for a malformed argument; a task's bad data fails that task only.
  void ReadArguments(Napi::Array tasks, Napi::Array output_names, OutputEncoding encoding, Napi::Value options) {
    Napi::Env env = tasks.Env();
    encoding_ = encoding;
    ReadOptions(options);
    tasks_.resize(tasks.Length());
    for (uint32_t t = 0; t < tasks.Length(); ++t) {
      Napi::Value value = tasks.Get(t);
      if (!value.IsObject()) ThrowTypeError(env, "a batch task must be an object {inputs, deadlineUs?, cancelled?}");
      Napi::Object object = value.As<Napi::Object>();
      Task& task = tasks_[t];
      task.wait.deadline_us = ReadDeadline(object.Get("deadlineUs"), "a task's deadlineUs");
      task.wait.cancelled = ReadCancelFlag(object.Get("cancelled"), "a task's cancelled", &keep_alive_);
      Napi::Array inputs = ArrayArg(object.Get("inputs"), "a task's inputs");
      if (t > 0 && inputs.Length() != tasks_[0].inputs.size()) {
        ThrowTypeError(env, "every batch task must have the same inputs");
      }
      task.inputs.resize(inputs.Length());
      for (uint32_t i = 0; i < inputs.Length(); ++i) {
        Status status = ReadPendingInput(inputs.Get(i), &task.inputs[i], &keep_alive_);
        if (task.status.ok()) task.status = status;
        if (t > 0 && task.inputs[i].name != tasks_[0].inputs[i].name) {
          ThrowTypeError(env, "every batch task must name the same inputs in the same order");
        }
      }
    }
    output_names_ = ReadOutputNames(output_names);
  }

 private:
  struct Task {
    std::vector<PendingInput> inputs;
    CallerWait wait;
    Status status;                       // this task's own failure
    std::vector<HostTensorPtr> tensors;  // its inputs, decoded, in input order
    int64_t rows = 0;
    std::vector<NamedTensor> outputs;
    std::vector<std::unique_ptr<std::string>> encoded;
  };

  void ReadOptions(Napi::Value value) {
    Napi::Env env = value.Env();
    if (!value.IsObject()) ThrowTypeError(env, "runBatch options must be an object");
    Napi::Object options = value.As<Napi::Object>();
    Napi::Array sizes = ArrayArg(options.Get("allowedBatchSizes"), "allowedBatchSizes");
    for (uint32_t i = 0; i < sizes.Length(); ++i) {
      Napi::Value size = sizes.Get(i);
      if (!size.IsNumber()) ThrowTypeError(env, "allowedBatchSizes must be an array of numbers");
      allowed_batch_sizes_.push_back(size.As<Napi::Number>().Int64Value());
    }
    Napi::Value pad = options.Get("padVariableLengthInputs");
    if (!pad.IsBoolean()) ThrowTypeError(env, "padVariableLengthInputs must be a boolean");
    pad_ = pad.As<Napi::Boolean>().Value();
  }

  // Decodes and checks one task's inputs, as run() does, and counts its rows
  // (ComputeTensorBatchSize's rules and messages).
  static Status PrepareTask(double now_us, Task* task) {
    DUO_RETURN_IF_ERROR(StillAwaited(task->wait, now_us));
    if (task->inputs.empty()) {
      return Status::Error(Code::kInvalidArgument, "Batching Run() must have at least one input tensor");
    }
    for (size_t i = 0; i < task->inputs.size(); ++i) {
      const PendingInput& input = task->inputs[i];
      HostTensorPtr tensor;
      // Viewed, not copied: the merge is this tensor's one copy, into the batch.
      Status status = BorrowInput(input.source, &tensor);
      if (!status.ok()) return InInput(input.name, status);
      DUO_RETURN_IF_ERROR(CheckExpectedInput(i, AnyRows(input.expected), *tensor));
      if (tensor->shape.empty()) {
        return Status::Error(Code::kInvalidArgument, "Batching Run() input tensors must have at least one dimension");
      }
      if (i > 0 && tensor->shape[0] != task->rows) {
        return Status::Error(Code::kInvalidArgument, "Batching Run() input tensors must have equal 0th-dimension size");
      }
      task->rows = tensor->shape[0];
      task->tensors.push_back(std::move(tensor));
    }
    return Status::Ok();
  }

  // Fails each task whose inputs cannot join the first joining task's.
  void CheckShapesJoin() {
    const Task* first = nullptr;
    for (Task& task : tasks_) {
      if (!task.status.ok()) continue;
      for (size_t i = 0; i < task.tensors.size() && task.status.ok(); ++i) {
        const HostTensor& reference = first != nullptr ? *first->tensors[i] : *task.tensors[i];
        task.status = CheckJoinsBatch(task.inputs[i].name, reference, *task.tensors[i], pad_);
      }
      if (task.status.ok() && first == nullptr) first = &task;
    }
  }

  // With padding: the largest dims of each input over the joining tasks, failing (and then
  // leaving out) any task that needs padding it cannot have, until none does.
  std::vector<std::vector<int64_t>> LargestDimsOfJoining() {
    std::vector<std::vector<int64_t>> largest;
    for (bool changed = true; changed;) {
      changed = false;
      largest.assign(tasks_[0].inputs.size(), {});
      for (size_t i = 0; i < largest.size(); ++i) largest[i] = LargestDims(InputOfJoining(i));
      for (Task& task : tasks_) {
        for (size_t i = 0; i < task.tensors.size() && task.status.ok(); ++i) {
          task.status = CheckPaddable(*task.tensors[i], largest[i]);
          changed |= !task.status.ok();
        }
      }
    }
    return largest;
  }

  std::vector<HostTensorPtr> InputOfJoining(size_t index) const {
    std::vector<HostTensorPtr> tensors;
    for (const Task& task : tasks_) {
      if (task.status.ok()) tensors.push_back(task.tensors[index]);
    }
    return tensors;
  }

  Status Work() override {
    std::shared_ptr<LoadedModel> model = std::move(model_);
    if (model == nullptr) return Status::Error(Code::kFailedPrecondition, "the model was unloaded");
    const double now_us = NowMicros();
    for (Task& task : tasks_) {
      if (task.status.ok()) task.status = PrepareTask(now_us, &task);
    }
    CheckShapesJoin();
    std::vector<std::vector<int64_t>> largest;
    if (pad_ && !tasks_.empty()) largest = LargestDimsOfJoining();
    std::vector<Task*> joining;
    std::vector<int64_t> rows_of_task;
    int64_t rows = 0;
    for (Task& task : tasks_) {
      if (!task.status.ok()) continue;
      joining.push_back(&task);
      rows_of_task.push_back(task.rows);
      rows += task.rows;
    }
    if (joining.empty()) return Status::Ok();
    batch_rows_ = RoundToAllowedBatchSize(allowed_batch_sizes_, rows);
    padding_rows_ = batch_rows_ - rows;

    std::vector<NamedTensor> inputs;
    const std::vector<PendingInput>& names = joining[0]->inputs;
    for (size_t i = 0; i < names.size(); ++i) {
      HostTensorPtr batch = MergeBatch(InputOfJoining(i), pad_ ? largest[i] : std::vector<int64_t>{}, padding_rows_);
      DUO_RETURN_IF_ERROR(CheckExpectedInput(i, names[i].expected, *batch));
      inputs.push_back({names[i].name, std::move(batch)});
    }
    for (Task* task : joining) task->tensors.clear();  // the batch holds what the run needs
    std::vector<NamedTensor> outputs;
    DUO_RETURN_IF_ERROR(model->Run(inputs, output_names_, &outputs));
    inputs.clear();
    DUO_RETURN_IF_ERROR(CheckOutputsPresent(outputs));
    std::vector<HostTensorPtr> parts;
    for (const NamedTensor& output : outputs) {
      DUO_RETURN_IF_ERROR(SplitBatch(output.tensor, rows_of_task, padding_rows_, &parts));
      for (size_t k = 0; k < joining.size(); ++k) joining[k]->outputs.push_back({output.name, std::move(parts[k])});
    }
    outputs.clear();
    for (Task* task : joining) EncodeOutputs(encoding_, &task->outputs, &task->encoded);
    return Status::Ok();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Array results = Napi::Array::New(env, tasks_.size());
    for (size_t t = 0; t < tasks_.size(); ++t) {
      Task& task = tasks_[t];
      results.Set(static_cast<uint32_t>(t), task.status.ok()
                                                ? Napi::Value(OutputsToJs(env, encoding_, task.outputs, &task.encoded))
                                                : CallerError(env, task.status).Value());
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("results", results);
    result.Set("batchRows", Napi::Number::New(env, static_cast<double>(batch_rows_)));
    result.Set("paddingRows", Napi::Number::New(env, static_cast<double>(padding_rows_)));
    return result;
  }

  std::shared_ptr<LoadedModel> model_;
  OutputEncoding encoding_ = OutputEncoding::kFields;
  std::vector<int64_t> allowed_batch_sizes_;
  bool pad_ = false;
  std::vector<Task> tasks_;
  std::vector<Napi::ObjectReference> keep_alive_;  // JS buffers the inputs borrow from, the cancel flags
  std::vector<std::string> output_names_;
  int64_t batch_rows_ = 0;
  int64_t padding_rows_ = 0;
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
    worker->ReadArguments(inputs, output_names, encoding, info[4], info[5]);
  }
  return Start(std::move(worker));
}

Napi::Value RunBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ModelSlot& model = *ModelSlotOf(info[0]);
  Napi::Array tasks = ArrayArg(info[1], "tasks");
  Napi::Array output_names = ArrayArg(info[2], "outputNames");
  const OutputEncoding encoding = ReadEncoding(info[3]);
  auto worker = std::make_unique<BatchWorker>(env, model);
  if (model == nullptr) {
    worker->FailEarly(Status::Error(Code::kFailedPrecondition, "the model was unloaded"));
  } else {
    worker->ReadArguments(tasks, output_names, encoding, info[4]);
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
  exports.Set("runBatch", Napi::Function::New(env, RunBatch, "runBatch", state));
  exports.Set("unload", Napi::Function::New(env, Unload, "unload", state));
  return exports;
}

}  // namespace duo
