#include "pytorch/torch_tensor.h"

#include <memory>
#include <utility>
#include <vector>

#include <ATen/Functions.h>
#include <ATen/ops/from_blob.h>

#include "pytorch/torch_dtype.h"

namespace duo::pytorch {

Status ToTorchTensor(const std::string& name, const HostTensorPtr& tensor, at::Tensor* out) {
  if (tensor->dtype == DType::kString) {
    return Status::Error(Code::kInvalidArgument,
                         "input '" + name + "': DT_STRING tensors are not supported by PyTorch models");
  }
  std::optional<c10::ScalarType> scalar_type = ToScalarType(tensor->dtype);
  if (!scalar_type) {
    return Status::Error(Code::kInvalidArgument,
                         "input '" + name + "': " + DTypeName(tensor->dtype) + " is not supported by PyTorch models");
  }
  // A second line behind TypeScript's and the codec's checks: a short buffer would let
  // the model read past the end.
  int64_t elements = tensor->NumElements();
  if (elements < 0 || tensor->byte_size != static_cast<size_t>(elements) * DTypeSize(tensor->dtype)) {
    return Status::Error(Code::kInvalidArgument, "input '" + name + "': data size does not match its shape and dtype");
  }
  at::TensorOptions options = at::TensorOptions().dtype(*scalar_type).device(at::kCPU);
  if (elements == 0 || tensor->data == nullptr) {
    *out = at::empty(tensor->shape, options);
    return Status::Ok();
  }
  // The deleter owns a reference to the HostTensor: the at::Tensor (and any view a model
  // keeps of it) keeps the request's buffer alive.
  *out = at::from_blob(
      tensor->data, tensor->shape, [keep = tensor](void*) {}, options);
  return Status::Ok();
}

Status ToHostTensor(const std::string& name, const at::Tensor& tensor, HostTensorPtr* out) {
  if (!tensor.defined()) {
    return Status::Error(Code::kInvalidArgument, "output '" + name + "' is None, not a tensor");
  }
  if (!tensor.device().is_cpu() || tensor.layout() != at::kStrided) {
    return Status::Error(Code::kInvalidArgument,
                         "output '" + name + "' is not a dense CPU tensor (" + tensor.toString() + ")");
  }
  std::optional<DType> dtype = FromScalarType(tensor.scalar_type());
  if (!dtype) {
    return Status::Error(Code::kInvalidArgument, "output '" + name + "' has dtype " +
                                                     std::string(c10::toString(tensor.scalar_type())) +
                                                     ", which duoserve cannot carry");
  }
  std::vector<int64_t> shape(tensor.sizes().begin(), tensor.sizes().end());

  if (tensor.is_contiguous() && !tensor.is_conj() && !tensor.is_neg()) {
    auto host = std::make_shared<HostTensor>();
    host->dtype = *dtype;
    host->shape = std::move(shape);
    host->data = const_cast<void*>(tensor.const_data_ptr());
    host->byte_size = tensor.nbytes();
    host->owner = std::make_shared<at::Tensor>(tensor);
    *out = std::move(host);
    return Status::Ok();
  }

  // Strided views, expanded or transposed outputs, lazy conj/neg: gather once into an
  // aligned buffer. copy_ does the gather (a memcpy cannot), so the copy is counted here by
  // hand, as CountedCopy would count it.
  std::shared_ptr<HostTensor> host = HostTensor::Allocate(*dtype, shape);
  if (host->byte_size > 0) {
    at::Tensor destination = at::from_blob(host->data, shape, tensor.options().device(at::kCPU));
    destination.copy_(tensor);
    CopyStats& stats = GlobalCopyStats();
    stats.copies.fetch_add(1, std::memory_order_relaxed);
    stats.bytes.fetch_add(host->byte_size, std::memory_order_relaxed);
  }
  *out = std::move(host);
  return Status::Ok();
}

}  // namespace duo::pytorch
