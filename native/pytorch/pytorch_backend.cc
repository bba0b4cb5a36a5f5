// The `pytorch` platform's Backend: one addon for every PyTorch model format. Load looks at
// the version directory (model_format.h) and builds the format's LoadedModel. Reads no
// load options yet.
#include <memory>
#include <string>

#include "common/addon_kit.h"
#include "common/backend.h"
#include "pytorch/model_format.h"
#include "pytorch/torch_errors.h"
#include "pytorch/torchscript_model.h"

namespace duo::pytorch {

class PyTorchBackend : public Backend {
 public:
  Status Load(const std::string& path, const LoadOptions& /*options*/,
              std::shared_ptr<LoadedModel>* out) override {
    // The format-specific loaders catch libtorch's exceptions; this guard is for the rest.
    return CallTorch("cannot load " + path, Code::kInternal, [&]() -> Status {
      ModelFile file;
      DUO_RETURN_IF_ERROR(FindModelFile(path, &file));
      switch (file.format) {
        case ModelFormat::kTorchScript:
          return TorchScriptModel::Load(file.path, out);
        case ModelFormat::kAotInductor:
          return Status::Error(Code::kUnimplemented,
                               "AOTInductor .pt2 packages are not served yet (" + file.path + ")");
      }
      return Status::Error(Code::kInternal, "unknown PyTorch model format");
    });
  }
};

}  // namespace duo::pytorch

DUOSERVE_BACKEND_ADDON(duo::pytorch::PyTorchBackend)
