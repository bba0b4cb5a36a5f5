// The narrow boundary between the addon kit and one framework. A framework folder under
// native/ implements Backend and LoadedModel and calls DUOSERVE_BACKEND_ADDON once; the kit
// (addon_kit.cc) owns every Node-API detail: async workers, tensor conversion, error objects.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/host_tensor.h"
#include "common/status.h"

namespace duo {

struct NamedTensor {
  std::string name;
  HostTensorPtr tensor;
};

// Options from TypeScript, as strings (binary values such as a serialized ConfigProto
// arrive as raw bytes in the string). Each backend documents the keys it reads.
using LoadOptions = std::map<std::string, std::string>;

class LoadedModel {
 public:
  virtual ~LoadedModel() = default;
  // What TypeScript needs to build signature_defs: bytes in a format the backend's
  // TypeScript half knows (TensorFlow: a serialized MetaGraphDef; PyTorch: JSON).
  virtual std::string Describe() const = 0;
  // One inference. Inputs and outputs are named by the framework's own tensor names (the
  // TensorInfo.name of a signature). Called concurrently from worker threads, never from
  // the JS thread. Must not throw: framework exceptions become a Status.
  virtual Status Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
                     std::vector<NamedTensor>* outputs) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Loads the version directory at `path`. Runs on a worker thread. Must not throw.
  virtual Status Load(const std::string& path, const LoadOptions& options, std::shared_ptr<LoadedModel>* out) = 0;
};

}  // namespace duo
