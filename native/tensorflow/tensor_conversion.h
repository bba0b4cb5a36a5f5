// HostTensor <-> TF_Tensor. Numeric data is shared, never copied: an input TF_Tensor keeps
// its HostTensor alive through TF_NewTensor's deallocator, and an output HostTensor keeps
// its TF_Tensor alive through `owner`. DT_STRING has no shared layout (TF_TString vs
// std::string), so strings are converted element by element both ways (a conversion, not a
// counted copy, as for typed proto fields).
#pragma once
#include <tensorflow/c/c_api.h>

#include "common/host_tensor.h"
#include "common/status.h"
#include "tensorflow/tf_handles.h"

namespace duo::tf {

// A TF_Tensor viewing `tensor`. Data TensorFlow would consider misaligned is copied once
// (counted) into an aligned buffer, since TF_NewTensor would copy it anyway.
Status ToTfTensor(const HostTensorPtr& tensor, TensorPtr* out);

// A HostTensor owning `tensor` (numeric) or holding its strings (DT_STRING).
Status FromTfTensor(TensorPtr tensor, HostTensorPtr* out);

}  // namespace duo::tf
