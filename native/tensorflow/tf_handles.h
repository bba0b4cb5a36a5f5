// Owning handles for the TF C API objects duoserve creates, so every early return frees them.
#pragma once
#include <memory>

#include <tensorflow/c/c_api.h>

namespace duo::tf {

struct TfDeleter {
  void operator()(TF_Status* status) const { TF_DeleteStatus(status); }
  void operator()(TF_Tensor* tensor) const { TF_DeleteTensor(tensor); }
  void operator()(TF_Buffer* buffer) const { TF_DeleteBuffer(buffer); }
  void operator()(TF_Graph* graph) const { TF_DeleteGraph(graph); }
  void operator()(TF_SessionOptions* options) const { TF_DeleteSessionOptions(options); }
};

using StatusPtr = std::unique_ptr<TF_Status, TfDeleter>;
using TensorPtr = std::unique_ptr<TF_Tensor, TfDeleter>;
using BufferPtr = std::unique_ptr<TF_Buffer, TfDeleter>;
using GraphPtr = std::unique_ptr<TF_Graph, TfDeleter>;
using SessionOptionsPtr = std::unique_ptr<TF_SessionOptions, TfDeleter>;

inline StatusPtr NewStatus() { return StatusPtr(TF_NewStatus()); }

}  // namespace duo::tf
