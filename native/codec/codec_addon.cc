// duoserve_codec.node: the framework-neutral tensor kit, one addon that every caller handling
// tensors without running a model uses (typed in src/native/backend_addon.ts, TensorCodec):
//
//   decode(source: TensorSource): Promise<Output of 'host'>
//       the tensor a source stands for, decoded (or copied) once on a worker thread, so that
//       a caller feeding one request tensor to several runs hands each the same handle
//   encode(tensor: HostTensorHandle, encoding: 'fields' | 'content'): Promise<Buffer>
//       a 'host' output as TensorProto bytes, encoded on a worker thread (as run() would)
//   leadingDim(source: TensorSource): number
//       dim 0 of the tensor a source stands for, read on the JS thread from its shape alone
//       (TensorProto bytes: only tensor_shape): -1 for a scalar, -2 when it cannot be read;
//       what batching counts a request's rows with before the request is queued
//   copyStats(): {copies: number, bytes: number}   (the one counter of libduoserve_tensor)
//   predictJsonSpec(defaultSignature: string, signatures: [name, [alias, dtype][]][]): PredictJsonSpec
//       what reading a Predict body needs of a servable's signatures, made once per servable
//   readPredictJson(body: Uint8Array, spec): Promise<null | {signatureName, format, inputs}>
//       a Predict body read on a worker thread; inputs: [alias, HostTensorHandle][];
//       null: declined (codec/predict_json.h), for the TypeScript reader to read or reject
//   writePredictJson(outputs: [alias, HostTensorHandle][], format: 'row' | 'columnar'): Promise<Buffer | null>
//       the response body, written on a worker thread; null: declined, as above
//
// Its HostTensorHandles are those of the framework addons (one libduoserve_tensor.so, one
// type tag), so a tensor it reads feeds any run without a copy.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <napi.h>

#include "codec/predict_json.h"
#include "common/js_tensors.h"
#include "common/promise_worker.h"
#include "common/tensor_proto.h"

namespace duo {
namespace {

// Tags a PredictJsonSpec, so that any other External is refused rather than misread.
constexpr napi_type_tag kPredictJsonSpecTag = {0x5b0e'93d2'6a1f'47c8ULL, 0xa7d3'1c9e'04b6'52f1ULL};

HostTensorPtr HandleArg(Napi::Value value, const char* what) {
  if (!value.IsExternal()) ThrowTypeError(value.Env(), std::string(what) + " must be a HostTensorHandle");
  InputSource source;  // an External is a HostTensorHandle, or ReadTensorSource throws
  std::vector<Napi::ObjectReference> unused;
  (void)ReadTensorSource(value, &source, &unused);
  const HostTensorPtr* tensor = std::get_if<HostTensorPtr>(&source);
  if (tensor == nullptr || *tensor == nullptr)
    ThrowTypeError(value.Env(), std::string(what) + " must be a HostTensorHandle");
  return *tensor;
}

// decode(): one TensorSource made a HostTensor once, for a caller that feeds it to several
// runs (a chain input used by two steps) instead of having each run decode it again.
class DecodeWorker : public PromiseWorker {
 public:
  explicit DecodeWorker(Napi::Env env) : PromiseWorker(env, "duoserve.decode") {}

  // JS thread: TypeError for a malformed source, FailEarly for bad data.
  void ReadArguments(Napi::Value source) {
    Status status = ReadTensorSource(source, &source_, &keep_alive_);
    if (!status.ok()) FailEarly(status);
  }

 private:
  Status Work() override { return MaterializeInput(source_, &tensor_); }
  Napi::Value Result(Napi::Env env) override { return HostTensorToJs(env, tensor_); }

  InputSource source_;
  std::vector<Napi::ObjectReference> keep_alive_;  // JS buffers the source borrows from
  HostTensorPtr tensor_;
};

// encode(): a 'host' tensor as TensorProto bytes, for a caller that got it from one run and
// answers it over gRPC (a chain's last step) without running anything again.
class EncodeWorker : public PromiseWorker {
 public:
  EncodeWorker(Napi::Env env, HostTensorPtr tensor, ProtoEncoding encoding)
      : PromiseWorker(env, "duoserve.encode"), tensor_(std::move(tensor)), encoding_(encoding) {}

 private:
  Status Work() override {
    bytes_ = std::make_unique<std::string>();
    EncodeTensorProto(*tensor_, encoding_, bytes_.get());
    tensor_.reset();
    return Status::Ok();
  }
  Napi::Value Result(Napi::Env env) override { return BufferTaking(env, std::move(bytes_)); }

  HostTensorPtr tensor_;
  ProtoEncoding encoding_;
  std::unique_ptr<std::string> bytes_;
};

const char* FormatName(JsonPredictFormat format) { return format == JsonPredictFormat::kRow ? "row" : "columnar"; }

class ReadPredictJsonWorker : public PromiseWorker {
 public:
  ReadPredictJsonWorker(Napi::Env env, Napi::Uint8Array body, std::shared_ptr<const JsonPredictSpec> spec)
      : PromiseWorker(env, "duoserve.readPredictJson"),
        spec_(std::move(spec)),
        data_(reinterpret_cast<const char*>(body.Data())),
        size_(body.ByteLength()),
        keep_alive_(Napi::Persistent(body.As<Napi::Object>())) {}

 private:
  Status Work() override {
    read_ = ReadPredictJson(data_, size_, *spec_, &request_);
    return Status::Ok();
  }

  Napi::Value Result(Napi::Env env) override {
    if (!read_) return env.Null();
    Napi::Object result = Napi::Object::New(env);
    result.Set("signatureName", Napi::String::New(env, request_.signature_name));
    result.Set("format", FormatName(request_.format));
    Napi::Array inputs = Napi::Array::New(env, request_.inputs.size());
    for (size_t i = 0; i < request_.inputs.size(); ++i) {
      Napi::Array entry = Napi::Array::New(env, 2);
      entry.Set(0u, Napi::String::New(env, request_.inputs[i].name));
      entry.Set(1u, HostTensorHandle(env, request_.inputs[i].tensor));
      inputs.Set(static_cast<uint32_t>(i), entry);
    }
    result.Set("inputs", inputs);
    return result;
  }

  std::shared_ptr<const JsonPredictSpec> spec_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  Napi::ObjectReference keep_alive_;  // the body, read on the worker thread
  bool read_ = false;
  JsonPredictRequest request_;
};

class WritePredictJsonWorker : public PromiseWorker {
 public:
  WritePredictJsonWorker(Napi::Env env, std::vector<NamedTensor> outputs, JsonPredictFormat format)
      : PromiseWorker(env, "duoserve.writePredictJson"), outputs_(std::move(outputs)), format_(format) {}

 private:
  Status Work() override {
    bytes_ = std::make_unique<std::string>();
    written_ = WritePredictJson(outputs_, format_, bytes_.get());
    outputs_.clear();
    return Status::Ok();
  }
  Napi::Value Result(Napi::Env env) override {
    if (!written_) return env.Null();
    return BufferTaking(env, std::move(bytes_));
  }

  std::vector<NamedTensor> outputs_;
  JsonPredictFormat format_;
  bool written_ = false;
  std::unique_ptr<std::string> bytes_;
};

JsonPredictFormat FormatArg(Napi::Value value) {
  const std::string name = StringArg(value, "format");
  if (name == "row") return JsonPredictFormat::kRow;
  if (name == "columnar") return JsonPredictFormat::kColumnar;
  ThrowTypeError(value.Env(), "format must be 'row' or 'columnar', not '" + name + "'");
}

Napi::Value Decode(const Napi::CallbackInfo& info) {
  auto worker = std::make_unique<DecodeWorker>(info.Env());
  worker->ReadArguments(info[0]);
  return Start(std::move(worker));
}

Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HostTensorPtr tensor = HandleArg(info[0], "encode()'s tensor");
  const std::string encoding = StringArg(info[1], "encoding");
  if (encoding != "fields" && encoding != "content") ThrowTypeError(env, "encode() encodes to 'fields' or 'content'");
  const ProtoEncoding proto_encoding =
      encoding == "fields" ? ProtoEncoding::kTypedFields : ProtoEncoding::kTensorContent;
  return Start(std::make_unique<EncodeWorker>(env, std::move(tensor), proto_encoding));
}

Napi::Value LeadingDimOf(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(LeadingDim(info[0])));
}

Napi::Value CopyStatsOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CopyStats& stats = GlobalCopyStats();
  Napi::Object result = Napi::Object::New(env);
  result.Set("copies", Napi::Number::New(env, static_cast<double>(stats.copies.load())));
  result.Set("bytes", Napi::Number::New(env, static_cast<double>(stats.bytes.load())));
  return result;
}

using SpecSlot = std::shared_ptr<const JsonPredictSpec>;

Napi::Value PredictJsonSpecOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto spec = std::make_shared<JsonPredictSpec>();
  spec->default_signature = StringArg(info[0], "defaultSignature");
  Napi::Array signatures = ArrayArg(info[1], "signatures");
  for (uint32_t i = 0; i < signatures.Length(); ++i) {
    Napi::Array entry = ArrayArg(signatures.Get(i), "a signature entry");
    JsonSignatureInputs signature{StringArg(entry.Get(0u), "a signature name"), {}};
    Napi::Array inputs = ArrayArg(entry.Get(1u), "a signature's inputs");
    for (uint32_t k = 0; k < inputs.Length(); ++k) {
      Napi::Array input = ArrayArg(inputs.Get(k), "an input entry");
      Napi::Value dtype = input.Get(1u);
      if (!dtype.IsNumber()) ThrowTypeError(env, "an input's dtype must be a number");
      signature.inputs.emplace_back(StringArg(input.Get(0u), "an input alias"),
                                    static_cast<DType>(dtype.As<Napi::Number>().Int32Value()));
    }
    spec->signatures.push_back(std::move(signature));
  }
  auto slot = std::make_unique<SpecSlot>(std::move(spec));
  auto handle = Napi::External<SpecSlot>::New(env, slot.get(), [](Napi::Env, SpecSlot* owned) { delete owned; });
  slot.release();
  handle.TypeTag(&kPredictJsonSpecTag);
  return handle;
}

Napi::Value ReadPredictJsonOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowTypeError(env, "body must be a Uint8Array");
  }
  Napi::Value spec = info[1];
  if (!spec.IsExternal() || !spec.As<Napi::External<SpecSlot>>().CheckTypeTag(&kPredictJsonSpecTag)) {
    ThrowTypeError(env, "readPredictJson() takes a spec from predictJsonSpec()");
  }
  return Start(std::make_unique<ReadPredictJsonWorker>(env, info[0].As<Napi::Uint8Array>(),
                                                       *spec.As<Napi::External<SpecSlot>>().Data()));
}

Napi::Value WritePredictJsonOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array entries = ArrayArg(info[0], "outputs");
  std::vector<NamedTensor> outputs;
  outputs.reserve(entries.Length());
  for (uint32_t i = 0; i < entries.Length(); ++i) {
    Napi::Array entry = ArrayArg(entries.Get(i), "an output entry");
    std::string alias = StringArg(entry.Get(0u), "an output alias");
    outputs.push_back({std::move(alias), HandleArg(entry.Get(1u), "an output")});
  }
  return Start(std::make_unique<WritePredictJsonWorker>(env, std::move(outputs), FormatArg(info[1])));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("decode", Napi::Function::New(env, Decode, "decode"));
  exports.Set("encode", Napi::Function::New(env, Encode, "encode"));
  exports.Set("leadingDim", Napi::Function::New(env, LeadingDimOf, "leadingDim"));
  exports.Set("copyStats", Napi::Function::New(env, CopyStatsOf, "copyStats"));
  exports.Set("predictJsonSpec", Napi::Function::New(env, PredictJsonSpecOf, "predictJsonSpec"));
  exports.Set("readPredictJson", Napi::Function::New(env, ReadPredictJsonOf, "readPredictJson"));
  exports.Set("writePredictJson", Napi::Function::New(env, WritePredictJsonOf, "writePredictJson"));
  return exports;
}

}  // namespace
}  // namespace duo

static Napi::Object DuoserveCodecInit(Napi::Env env, Napi::Object exports) { return duo::Init(env, exports); }
NODE_API_MODULE(NODE_GYP_MODULE_NAME, DuoserveCodecInit)
