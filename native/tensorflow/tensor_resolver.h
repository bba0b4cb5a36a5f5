// Resolves tensor names ("op_name:index", as in TensorInfo.name) to TF_Outputs of one graph.
// Thread-safe; resolutions are cached since the same few names come with every request.
#pragma once
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include <tensorflow/c/c_api.h>

#include "common/status.h"

namespace duo::tf {

class TensorResolver {
 public:
  explicit TensorResolver(TF_Graph* graph) : graph_(graph) {}

  // kInvalidArgument when the graph has no such operation or output.
  Status Resolve(const std::string& name, TF_Output* out);

 private:
  TF_Graph* const graph_;  // not owned
  std::shared_mutex mutex_;
  std::unordered_map<std::string, TF_Output> cache_;
};

}  // namespace duo::tf
