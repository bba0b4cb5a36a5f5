// HostTensor <-> at::Tensor without copying, shared by every PyTorch model format.
#pragma once
#include <string>

#include <ATen/core/Tensor.h>

#include "common/host_tensor.h"
#include "common/status.h"

namespace duo::pytorch {

// Views `tensor`'s data as an at::Tensor (from_blob); the at::Tensor's deleter holds a
// reference to the HostTensor, so the data lives as long as either does. `name` is only for
// error messages. DT_STRING and dtypes libtorch lacks give kInvalidArgument. Must not be
// called outside CallTorch (libtorch may throw).
Status ToTorchTensor(const std::string& name, const HostTensorPtr& tensor, at::Tensor* out);

// Views `tensor` as a HostTensor whose owner holds the at::Tensor. Tensors that are not
// dense row-major on the CPU (views with strides, conj/neg views) are first copied into an
// aligned buffer, and that copy is counted in GlobalCopyStats(). Must run inside CallTorch.
Status ToHostTensor(const std::string& name, const at::Tensor& tensor, HostTensorPtr* out);

}  // namespace duo::pytorch
