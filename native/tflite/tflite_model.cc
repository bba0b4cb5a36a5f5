#include "tflite/tflite_model.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include <protozero/pbf_writer.hpp>

namespace duo::tflite {

namespace {

// The LiteRT element types that have a tensorflow.DataType; the others are load errors.
DType ToDType(LiteRtElementType type) {
  switch (type) {
    case kLiteRtElementTypeBool: return DType::kBool;
    case kLiteRtElementTypeInt8: return DType::kInt8;
    case kLiteRtElementTypeInt16: return DType::kInt16;
    case kLiteRtElementTypeInt32: return DType::kInt32;
    case kLiteRtElementTypeInt64: return DType::kInt64;
    case kLiteRtElementTypeUInt8: return DType::kUInt8;
    case kLiteRtElementTypeUInt16: return DType::kUInt16;
    case kLiteRtElementTypeUInt32: return DType::kUInt32;
    case kLiteRtElementTypeUInt64: return DType::kUInt64;
    case kLiteRtElementTypeFloat16: return DType::kHalf;
    case kLiteRtElementTypeBFloat16: return DType::kBFloat16;
    case kLiteRtElementTypeFloat32: return DType::kFloat;
    case kLiteRtElementTypeFloat64: return DType::kDouble;
    case kLiteRtElementTypeComplex64: return DType::kComplex64;
    case kLiteRtElementTypeComplex128: return DType::kComplex128;
    case kLiteRtElementTypeTfString: return DType::kString;
    default: return DType::kInvalid;
  }
}

Status ReadSlot(LiteRtTensor tensor, const char* alias, TensorSlot* slot) {
  slot->alias = alias;
  const char* name = nullptr;
  DUO_RETURN_IF_LITERT_ERROR(LiteRtGetTensorName(tensor, &name), std::string("reading tensor ") + alias);
  slot->tensor_name = name == nullptr ? "" : name;
  LiteRtTensorTypeId type_id;
  DUO_RETURN_IF_LITERT_ERROR(LiteRtGetTensorTypeId(tensor, &type_id), "reading tensor " + slot->tensor_name);
  if (type_id != kLiteRtRankedTensorType) {
    return Status::Error(Code::kUnimplemented, "tensor '" + slot->tensor_name + "' has no static rank");
  }
  LiteRtRankedTensorType type;
  DUO_RETURN_IF_LITERT_ERROR(LiteRtGetRankedTensorType(tensor, &type), "reading tensor " + slot->tensor_name);
  slot->element_type = type.element_type;
  slot->dtype = ToDType(type.element_type);
  if (slot->dtype == DType::kInvalid) {
    return Status::Error(Code::kUnimplemented, "tensor '" + slot->tensor_name + "' has LiteRT element type " +
                                                   std::to_string(static_cast<int>(type.element_type)) +
                                                   ", which has no tensorflow.DataType");
  }
  slot->shape.clear();
  for (unsigned d = 0; d < type.layout.rank; ++d) slot->shape.push_back(std::max(type.layout.dimensions[d], -1));
  return Status::Ok();
}

Status ReadSignatures(LiteRtModel model, std::vector<SignatureSlots>* out) {
  LiteRtParamIndex count = 0;
  DUO_RETURN_IF_LITERT_ERROR(LiteRtGetNumModelSignatures(model, &count), "reading the model's signatures");
  for (LiteRtParamIndex s = 0; s < count; ++s) {
    LiteRtSignature signature;
    DUO_RETURN_IF_LITERT_ERROR(LiteRtGetModelSignature(model, s, &signature), "reading a signature");
    SignatureSlots slots;
    const char* key = nullptr;
    DUO_RETURN_IF_LITERT_ERROR(LiteRtGetSignatureKey(signature, &key), "reading a signature key");
    slots.key = key;
    LiteRtParamIndex inputs = 0, outputs = 0;
    DUO_RETURN_IF_LITERT_ERROR(LiteRtGetNumSignatureInputs(signature, &inputs), "reading signature " + slots.key);
    DUO_RETURN_IF_LITERT_ERROR(LiteRtGetNumSignatureOutputs(signature, &outputs), "reading signature " + slots.key);
    for (LiteRtParamIndex i = 0; i < inputs; ++i) {
      const char* alias = nullptr;
      LiteRtTensor tensor;
      DUO_RETURN_IF_LITERT_ERROR(LiteRtGetSignatureInputName(signature, i, &alias), "reading signature " + slots.key);
      DUO_RETURN_IF_LITERT_ERROR(LiteRtGetSignatureInputTensorByIndex(signature, i, &tensor),
                                 "reading signature " + slots.key);
      DUO_RETURN_IF_ERROR(ReadSlot(tensor, alias, &slots.inputs.emplace_back()));
    }
    for (LiteRtParamIndex i = 0; i < outputs; ++i) {
      const char* alias = nullptr;
      LiteRtTensor tensor;
      DUO_RETURN_IF_LITERT_ERROR(LiteRtGetSignatureOutputName(signature, i, &alias), "reading signature " + slots.key);
      DUO_RETURN_IF_LITERT_ERROR(LiteRtGetSignatureOutputTensorByIndex(signature, i, &tensor),
                                 "reading signature " + slots.key);
      DUO_RETURN_IF_ERROR(ReadSlot(tensor, alias, &slots.outputs.emplace_back()));
    }
    out->push_back(std::move(slots));
  }
  return Status::Ok();
}

// tensorflow/core/protobuf/meta_graph.proto and tensor_shape.proto field numbers.
enum : protozero::pbf_tag_type {
  kMetaGraphSignatureDef = 5,
  kMapKey = 1,
  kMapValue = 2,
  kSignatureInputs = 1,
  kSignatureOutputs = 2,
  kSignatureMethodName = 3,
  kTensorInfoName = 1,
  kTensorInfoDtype = 2,
  kTensorInfoShape = 3,
  kShapeDim = 2,
  kDimSize = 1,
};

void WriteTensorInfos(protozero::pbf_writer& signature, protozero::pbf_tag_type field,
                      const std::vector<TensorSlot>& slots) {
  for (const TensorSlot& slot : slots) {
    protozero::pbf_writer entry(signature, field);
    entry.add_string(kMapKey, slot.alias);
    protozero::pbf_writer info(entry, kMapValue);
    info.add_string(kTensorInfoName, slot.tensor_name);
    info.add_enum(kTensorInfoDtype, static_cast<int32_t>(slot.dtype));
    protozero::pbf_writer shape(info, kTensorInfoShape);
    for (int64_t size : slot.shape) {
      protozero::pbf_writer dim(shape, kShapeDim);
      dim.add_int64(kDimSize, size);
    }
  }
}

LiteRtRankedTensorType RankedType(LiteRtElementType element_type, const std::vector<int>& dims) {
  LiteRtRankedTensorType type{};
  type.element_type = element_type;
  type.layout.rank = static_cast<unsigned>(dims.size());
  std::copy(dims.begin(), dims.end(), type.layout.dimensions);
  return type;
}

Status HostBuffer(LiteRtElementType element_type, const std::vector<int>& dims, const HostTensor& tensor,
                  TensorBufferPtr* out) {
  LiteRtRankedTensorType type = RankedType(element_type, dims);
  LiteRtTensorBuffer buffer = nullptr;
  // LiteRT reads inputs and writes outputs through this pointer; it never frees it.
  DUO_RETURN_IF_LITERT_ERROR(
      LiteRtCreateTensorBufferFromHostMemory(&type, tensor.data, tensor.byte_size, nullptr, &buffer),
      "wrapping tensor memory for LiteRT");
  out->reset(buffer);
  return Status::Ok();
}

}  // namespace

// Holds one instance for one Run and gives it back, whatever the Run returns.
class TfLiteModel::Lease {
 public:
  Lease(TfLiteModel* model, std::unique_ptr<Instance> instance) : model_(model), instance_(std::move(instance)) {}
  ~Lease() { model_->Release(std::move(instance_)); }
  Instance* get() const { return instance_.get(); }

 private:
  TfLiteModel* model_;
  std::unique_ptr<Instance> instance_;
};

Status TfLiteModel::Load(const std::string& model_file, size_t max_instances, std::shared_ptr<LoadedModel>* out) {
  LiteRtEnvironment environment = nullptr;
  DUO_RETURN_IF_LITERT_ERROR(LiteRtCreateEnvironment(0, nullptr, &environment), "creating the LiteRT environment");
  EnvironmentPtr environment_ptr(environment);
  LiteRtModel model = nullptr;
  LiteRtStatus created = LiteRtCreateModelFromFile(environment, model_file.c_str(), &model);
  if (created != kLiteRtStatusOk) {
    Status failed = FromLiteRtStatus(created, "Cannot build a LiteRT model from " + model_file);
    return Status::Error(Code::kInvalidArgument, failed.message);
  }
  ModelPtr model_ptr(model);
  std::vector<SignatureSlots> signatures;
  DUO_RETURN_IF_ERROR(ReadSignatures(model, &signatures));
  std::shared_ptr<TfLiteModel> loaded(new TfLiteModel(std::move(environment_ptr), std::move(model_ptr),
                                                      std::move(signatures), std::max<size_t>(1, max_instances)));
  std::unique_ptr<Instance> first;
  DUO_RETURN_IF_ERROR(loaded->NewInstance(&first));
  loaded->instances_ = 1;
  loaded->idle_.push_back(std::move(first));
  *out = std::move(loaded);
  return Status::Ok();
}

TfLiteModel::TfLiteModel(EnvironmentPtr environment, ModelPtr model, std::vector<SignatureSlots> signatures,
                         size_t max_instances)
    : environment_(std::move(environment)),
      model_(std::move(model)),
      signatures_(std::move(signatures)),
      max_instances_(max_instances) {
  for (size_t s = 0; s < signatures_.size(); ++s) {
    for (size_t i = 0; i < signatures_[s].inputs.size(); ++i) {
      input_index_.emplace(signatures_[s].inputs[i].tensor_name, std::make_pair(s, i));
    }
  }
}

Status TfLiteModel::NewInstance(std::unique_ptr<Instance>* out) const {
  LiteRtOptions options = nullptr;
  DUO_RETURN_IF_LITERT_ERROR(LiteRtCreateOptions(&options), "creating LiteRT compilation options");
  OptionsPtr options_ptr(options);
  DUO_RETURN_IF_LITERT_ERROR(LiteRtSetOptionsHardwareAccelerators(options, kLiteRtHwAcceleratorCpu),
                             "selecting LiteRT's CPU accelerator");
  LiteRtCompiledModel compiled = nullptr;
  DUO_RETURN_IF_LITERT_ERROR(LiteRtCreateCompiledModel(environment_.get(), model_.get(), options, &compiled),
                             "compiling the LiteRT model");
  auto instance = std::make_unique<Instance>();
  instance->compiled.reset(compiled);
  instance->input_dims.resize(signatures_.size());
  instance->output_layouts.resize(signatures_.size());
  for (size_t s = 0; s < signatures_.size(); ++s) instance->input_dims[s].resize(signatures_[s].inputs.size());
  *out = std::move(instance);
  return Status::Ok();
}

Status TfLiteModel::Acquire(std::unique_ptr<Instance>* out) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    released_.wait(lock, [this] { return !idle_.empty() || instances_ < max_instances_; });
    if (!idle_.empty()) {
      *out = std::move(idle_.back());
      idle_.pop_back();
      return Status::Ok();
    }
    ++instances_;  // reserved; compiled outside the lock
  }
  // The reservation is given back on failure, a thrown one (std::bad_alloc) included, or the
  // pool would shrink for good and later runs wait for ever.
  auto unreserve = [this] {
    std::lock_guard<std::mutex> lock(mutex_);
    --instances_;
    released_.notify_one();
  };
  Status created;
  try {
    created = NewInstance(out);
  } catch (...) {
    unreserve();
    throw;
  }
  if (!created.ok()) unreserve();
  return created;
}

void TfLiteModel::Release(std::unique_ptr<Instance> instance) {
  std::lock_guard<std::mutex> lock(mutex_);
  idle_.push_back(std::move(instance));
  released_.notify_one();
}

std::string TfLiteModel::Describe() const {
  std::string bytes;
  protozero::pbf_writer meta_graph(bytes);
  for (const SignatureSlots& signature : signatures_) {
    protozero::pbf_writer entry(meta_graph, kMetaGraphSignatureDef);
    entry.add_string(kMapKey, signature.key);
    protozero::pbf_writer def(entry, kMapValue);
    WriteTensorInfos(def, kSignatureInputs, signature.inputs);
    WriteTensorInfos(def, kSignatureOutputs, signature.outputs);
    def.add_string(kSignatureMethodName, "tensorflow/serving/predict");
  }
  return bytes;
}

Status TfLiteModel::FindSignature(const std::vector<NamedTensor>& inputs, size_t* index) const {
  if (inputs.empty()) return Status::Error(Code::kInvalidArgument, "a TFLite signature runs with all of its inputs");
  auto [first, last] = input_index_.equal_range(inputs.front().name);
  for (auto it = first; it != last; ++it) {
    const SignatureSlots& candidate = signatures_[it->second.first];
    auto takes = [&](const NamedTensor& input) {
      return std::any_of(candidate.inputs.begin(), candidate.inputs.end(),
                         [&](const TensorSlot& slot) { return slot.tensor_name == input.name; });
    };
    if (candidate.inputs.size() == inputs.size() && std::all_of(inputs.begin(), inputs.end(), takes)) {
      *index = it->second.first;
      return Status::Ok();
    }
  }
  if (first == last) {
    return Status::Error(Code::kInvalidArgument,
                         "input '" + inputs.front().name + "': no such input tensor in the model");
  }
  return Status::Error(Code::kInvalidArgument, "the inputs are not those of one signature");
}

namespace {

// The inputs in the signature's order, checked against its dtypes.
Status OrderInputs(const SignatureSlots& signature, const std::vector<NamedTensor>& inputs,
                   std::vector<const HostTensor*>* ordered) {
  ordered->assign(signature.inputs.size(), nullptr);
  for (const NamedTensor& input : inputs) {
    size_t index = 0;
    while (signature.inputs[index].tensor_name != input.name) ++index;  // FindSignature made sure it is there
    const TensorSlot& slot = signature.inputs[index];
    if ((*ordered)[index] != nullptr) {
      return Status::Error(Code::kInvalidArgument, "input '" + input.name + "' is given twice");
    }
    if (input.tensor->dtype != slot.dtype) {
      return Status::Error(Code::kInvalidArgument, "input '" + input.name + "': expects " + DTypeName(slot.dtype) +
                                                       " but got " + DTypeName(input.tensor->dtype));
    }
    if (slot.dtype == DType::kString) {
      return Status::Error(Code::kUnimplemented,
                           "input '" + input.name + "': DT_STRING tensors are not supported by the LiteRT backend");
    }
    (*ordered)[index] = input.tensor.get();
  }
  return Status::Ok();
}

Status OutputIndices(const SignatureSlots& signature, const std::vector<std::string>& output_names,
                     std::vector<size_t>* indices) {
  for (const std::string& name : output_names) {
    auto found = std::find_if(signature.outputs.begin(), signature.outputs.end(),
                              [&](const TensorSlot& slot) { return slot.tensor_name == name; });
    if (found == signature.outputs.end()) {
      return Status::Error(Code::kInvalidArgument,
                           "output '" + name + "' is not an output of signature '" + signature.key + "'");
    }
    indices->push_back(static_cast<size_t>(found - signature.outputs.begin()));
  }
  return Status::Ok();
}

}  // namespace

Status TfLiteModel::Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
                        std::vector<NamedTensor>* outputs) {
  try {
    size_t index = 0;
    DUO_RETURN_IF_ERROR(FindSignature(inputs, &index));
    const SignatureSlots& signature = signatures_[index];
    std::vector<const HostTensor*> ordered;
    DUO_RETURN_IF_ERROR(OrderInputs(signature, inputs, &ordered));
    std::vector<size_t> wanted;
    DUO_RETURN_IF_ERROR(OutputIndices(signature, output_names, &wanted));
    std::unique_ptr<Instance> instance;
    DUO_RETURN_IF_ERROR(Acquire(&instance));
    Lease lease(this, std::move(instance));
    std::vector<HostTensorPtr> results;
    DUO_RETURN_IF_ERROR(RunWith(lease.get(), index, ordered, &results));
    outputs->clear();
    for (size_t output : wanted) outputs->push_back({signature.outputs[output].tensor_name, results[output]});
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return Status::Error(Code::kResourceExhausted, "out of memory running the TFLite model");
  } catch (const std::exception& error) {
    return Status::Error(Code::kInternal, std::string("running the TFLite model failed: ") + error.what());
  }
}

Status TfLiteModel::RunWith(Instance* instance, size_t index, const std::vector<const HostTensor*>& inputs,
                            std::vector<HostTensorPtr>* outputs) const {
  const SignatureSlots& signature = signatures_[index];
  LiteRtCompiledModel compiled = instance->compiled.get();
  std::vector<TensorBufferPtr> input_buffers, output_buffers;
  std::vector<HostTensorPtr> aligned_copies;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const HostTensor& tensor = *inputs[i];
    const TensorSlot& slot = signature.inputs[i];
    if (tensor.shape.size() > LITERT_TENSOR_MAX_RANK) {
      return Status::Error(Code::kInvalidArgument, "input '" + slot.tensor_name + "': rank " +
                                                       std::to_string(tensor.shape.size()) + " is more than LiteRT's " +
                                                       std::to_string(LITERT_TENSOR_MAX_RANK));
    }
    std::vector<int> dims;
    for (int64_t size : tensor.shape) {
      if (size > std::numeric_limits<int>::max()) {
        return Status::Error(Code::kInvalidArgument, "input '" + slot.tensor_name + "': dimension too large");
      }
      dims.push_back(static_cast<int>(size));
    }
    std::vector<int>& current = instance->input_dims[index][i];
    if (dims != current) {
      current.clear();  // unknown until the resize succeeds
      instance->output_layouts[index].clear();
      LiteRtStatus resized = LiteRtCompiledModelResizeInputTensor(compiled, index, i, dims.data(), dims.size());
      if (resized != kLiteRtStatusOk) {
        Status failed = FromLiteRtStatus(resized, "input '" + slot.tensor_name + "': the model does not accept shape " +
                                                      ShapeString(tensor.shape) + " (its shape is " +
                                                      ShapeString(slot.shape) + ")");
        return Status::Error(Code::kInvalidArgument, failed.message);
      }
      current = dims;
    }
    const HostTensor* source = &tensor;
    // LiteRT takes host memory only at its alignment (64 bytes, as duoserve allocates); a
    // view handed in from JavaScript may be less aligned, or empty.
    if (tensor.data == nullptr || reinterpret_cast<uintptr_t>(tensor.data) % kTensorAlignment != 0) {
      auto copy = HostTensor::Allocate(tensor.dtype, tensor.shape);
      if (tensor.byte_size > 0) CountedCopy(copy->data, tensor.data, tensor.byte_size);
      source = copy.get();
      aligned_copies.push_back(std::move(copy));
    }
    DUO_RETURN_IF_ERROR(HostBuffer(slot.element_type, dims, *source, &input_buffers.emplace_back()));
  }
  std::vector<LiteRtLayout>& layouts = instance->output_layouts[index];
  if (layouts.empty()) {  // first run, or inputs resized: LiteRT works the shapes out and reallocates
    std::vector<LiteRtLayout> computed(signature.outputs.size());
    DUO_RETURN_IF_LITERT_ERROR(
        LiteRtGetCompiledModelOutputTensorLayouts(compiled, index, computed.size(), computed.data(), true),
        "computing the output shapes of signature '" + signature.key + "'");
    layouts = std::move(computed);
  }
  for (size_t o = 0; o < layouts.size(); ++o) {
    std::vector<int64_t> shape(layouts[o].dimensions, layouts[o].dimensions + layouts[o].rank);
    std::vector<int> dims(layouts[o].dimensions, layouts[o].dimensions + layouts[o].rank);
    if (ShapeNumElements(shape) < 0) {
      return Status::Error(Code::kUnimplemented, "output '" + signature.outputs[o].tensor_name +
                                                     "' has a data-dependent shape " + ShapeString(shape));
    }
    auto output = HostTensor::Allocate(signature.outputs[o].dtype, std::move(shape));
    DUO_RETURN_IF_ERROR(HostBuffer(signature.outputs[o].element_type, dims, *output, &output_buffers.emplace_back()));
    outputs->push_back(std::move(output));
  }
  std::vector<LiteRtTensorBuffer> in(input_buffers.size()), out(output_buffers.size());
  std::transform(input_buffers.begin(), input_buffers.end(), in.begin(), [](auto& b) { return b.get(); });
  std::transform(output_buffers.begin(), output_buffers.end(), out.begin(), [](auto& b) { return b.get(); });
  DUO_RETURN_IF_LITERT_ERROR(LiteRtRunCompiledModel(compiled, index, in.size(), in.data(), out.size(), out.data()),
                             "running signature '" + signature.key + "'");
  return Status::Ok();
}

}  // namespace duo::tflite
