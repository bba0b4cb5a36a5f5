#include "tensorflow/tensor_conversion.h"

#include <cstdint>
#include <string>
#include <vector>

#include <tensorflow/c/tf_tstring.h>

namespace duo::tf {

namespace {

// DType is numbered as tensorflow.DataType, and so is TF_DataType: casts are the mapping.
static_assert(TF_FLOAT == static_cast<int>(DType::kFloat) && TF_DOUBLE == static_cast<int>(DType::kDouble) &&
              TF_INT32 == static_cast<int>(DType::kInt32) && TF_UINT8 == static_cast<int>(DType::kUInt8) &&
              TF_INT16 == static_cast<int>(DType::kInt16) && TF_INT8 == static_cast<int>(DType::kInt8) &&
              TF_STRING == static_cast<int>(DType::kString) && TF_COMPLEX64 == static_cast<int>(DType::kComplex64) &&
              TF_INT64 == static_cast<int>(DType::kInt64) && TF_BOOL == static_cast<int>(DType::kBool) &&
              TF_BFLOAT16 == static_cast<int>(DType::kBFloat16) && TF_UINT16 == static_cast<int>(DType::kUInt16) &&
              TF_COMPLEX128 == static_cast<int>(DType::kComplex128) && TF_HALF == static_cast<int>(DType::kHalf) &&
              TF_UINT32 == static_cast<int>(DType::kUInt32) && TF_UINT64 == static_cast<int>(DType::kUInt64));

bool IsCarried(DType dtype) { return IsSupportedDType(static_cast<int32_t>(dtype)); }

Status StringsToTfTensor(const HostTensor& host, int64_t elements, TensorPtr* out) {
  if (host.strings.size() != static_cast<size_t>(elements)) {
    return Status::Error(Code::kInvalidArgument, "DT_STRING tensor has " + std::to_string(host.strings.size()) +
                                                     " values for a shape of " + std::to_string(elements) +
                                                     " elements");
  }
  TensorPtr tensor(TF_AllocateTensor(TF_STRING, host.shape.data(), static_cast<int>(host.shape.size()),
                                     sizeof(TF_TString) * host.strings.size()));
  if (!tensor) return Status::Error(Code::kResourceExhausted, "cannot allocate a DT_STRING tensor");
  auto* elements_out = static_cast<TF_TString*>(TF_TensorData(tensor.get()));
  for (size_t i = 0; i < host.strings.size(); ++i) {
    TF_StringInit(&elements_out[i]);
    TF_StringCopy(&elements_out[i], host.strings[i].data(), host.strings[i].size());
  }
  *out = std::move(tensor);
  return Status::Ok();
}

// TF_NewTensor's deallocator: drops the reference the TF_Tensor held on its HostTensor.
void ReleaseHostTensor(void* /*data*/, size_t /*len*/, void* arg) { delete static_cast<HostTensorPtr*>(arg); }

Status NumericToTfTensor(const HostTensorPtr& tensor, int64_t elements, TensorPtr* out) {
  const HostTensor& host = *tensor;
  const auto dtype = static_cast<TF_DataType>(host.dtype);
  const int rank = static_cast<int>(host.shape.size());
  const size_t bytes = static_cast<size_t>(elements) * DTypeSize(host.dtype);
  if (host.byte_size != bytes || (bytes > 0 && host.data == nullptr)) {
    return Status::Error(Code::kInvalidArgument, std::string(DTypeName(host.dtype)) + " tensor holds " +
                                                     std::to_string(host.byte_size) + " bytes; its shape needs " +
                                                     std::to_string(bytes));
  }
  const bool aligned = reinterpret_cast<uintptr_t>(host.data) % TF_TensorDefaultAlignment() == 0;
  if (bytes == 0 || !aligned) {
    TensorPtr copy(TF_AllocateTensor(dtype, host.shape.data(), rank, bytes));
    if (!copy) return Status::Error(Code::kResourceExhausted, "cannot allocate a tensor");
    if (bytes > 0) CountedCopy(TF_TensorData(copy.get()), host.data, bytes);
    *out = std::move(copy);
    return Status::Ok();
  }
  // TF_NewTensor calls the deallocator itself when it fails, so `keep` never leaks.
  auto* keep = new HostTensorPtr(tensor);
  TensorPtr wrapped(TF_NewTensor(dtype, host.shape.data(), rank, host.data, bytes, &ReleaseHostTensor, keep));
  if (!wrapped) return Status::Error(Code::kInternal, "TF_NewTensor rejected a consistent buffer");
  *out = std::move(wrapped);
  return Status::Ok();
}

}  // namespace

Status ToTfTensor(const HostTensorPtr& tensor, TensorPtr* out) {
  if (!tensor) return Status::Error(Code::kInvalidArgument, "missing input tensor");
  if (!IsCarried(tensor->dtype)) {
    return Status::Error(Code::kInvalidArgument, std::string("unsupported input dtype ") + DTypeName(tensor->dtype));
  }
  const int64_t elements = ShapeNumElements(tensor->shape);
  if (elements < 0) return Status::Error(Code::kInvalidArgument, "input shape has a negative or overflowing dimension");
  if (tensor->dtype == DType::kString) return StringsToTfTensor(*tensor, elements, out);
  return NumericToTfTensor(tensor, elements, out);
}

Status FromTfTensor(TensorPtr tensor, HostTensorPtr* out) {
  const auto dtype = static_cast<DType>(TF_TensorType(tensor.get()));
  if (!IsCarried(dtype)) {
    return Status::Error(Code::kUnimplemented, "the model returns a tensor of TF_DataType " +
                                                   std::to_string(static_cast<int>(dtype)) +
                                                   ", which duoserve does not serve");
  }
  auto host = std::make_shared<HostTensor>();
  host->dtype = dtype;
  const int rank = TF_NumDims(tensor.get());
  host->shape.reserve(rank);
  for (int i = 0; i < rank; ++i) host->shape.push_back(TF_Dim(tensor.get(), i));

  if (dtype == DType::kString) {
    const int64_t count = TF_TensorElementCount(tensor.get());
    const auto* elements = static_cast<const TF_TString*>(TF_TensorData(tensor.get()));
    host->strings.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      host->strings.emplace_back(TF_StringGetDataPointer(&elements[i]), TF_StringGetSize(&elements[i]));
    }
  } else {
    host->data = TF_TensorData(tensor.get());
    host->byte_size = TF_TensorByteSize(tensor.get());
    host->owner = std::shared_ptr<TF_Tensor>(tensor.release(), TfDeleter());
  }
  *out = std::move(host);
  return Status::Ok();
}

}  // namespace duo::tf
