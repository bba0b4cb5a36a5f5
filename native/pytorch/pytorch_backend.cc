// The `pytorch` platform's Backend: one addon for every PyTorch model format. Load looks at
// the version directory (model_format.h) and builds the format's LoadedModel.
//
// Load options (all optional, strings):
//   aoti_runners  how many runs of an AOTInductor package may execute at once (its model
//                 instances, AOTIModelPackageLoader's num_runners; more runs wait for a free
//                 one). TypeScript passes the worker pool's size; default 4, libuv's default.
#include <charconv>
#include <memory>
#include <string>

#include "common/addon_kit.h"
#include "common/backend.h"
#include "pytorch/aoti_model.h"
#include "pytorch/model_format.h"
#include "pytorch/torch_errors.h"
#include "pytorch/torchscript_model.h"

namespace duo::pytorch {
namespace {

constexpr size_t kDefaultAotiRunners = 4;
constexpr size_t kMaxAotiRunners = 256;

Status ReadAotiRunners(const LoadOptions& options, size_t* runners) {
  *runners = kDefaultAotiRunners;
  auto found = options.find("aoti_runners");
  if (found == options.end()) return Status::Ok();
  const std::string& text = found->second;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *runners);
  if (error != std::errc() || end != text.data() + text.size() || *runners < 1 || *runners > kMaxAotiRunners) {
    return Status::Error(Code::kInvalidArgument, "load option aoti_runners must be an integer from 1 to " +
                                                     std::to_string(kMaxAotiRunners) + ", not '" + text + "'");
  }
  return Status::Ok();
}

}  // namespace

class PyTorchBackend : public Backend {
 public:
  Status Load(const std::string& path, const LoadOptions& options, std::shared_ptr<LoadedModel>* out) override {
    // The format-specific loaders catch libtorch's exceptions; this guard is for the rest.
    return CallTorch("cannot load " + path, Code::kInternal, [&]() -> Status {
      ModelFile file;
      DUO_RETURN_IF_ERROR(FindModelFile(path, &file));
      switch (file.format) {
        case ModelFormat::kTorchScript: return TorchScriptModel::Load(file.path, out);
        case ModelFormat::kAotInductor: {
          size_t runners;
          DUO_RETURN_IF_ERROR(ReadAotiRunners(options, &runners));
          return AotiModel::Load(file.path, runners, out);
        }
      }
      return Status::Error(Code::kInternal, "unknown PyTorch model format");
    });
  }
};

}  // namespace duo::pytorch

DUOSERVE_BACKEND_ADDON(duo::pytorch::PyTorchBackend)
