// The `pytorch` platform's Backend: one addon for every PyTorch model format. Load looks at
// the version directory (model_format.h) and builds the format's LoadedModel.
//
// Load options (all optional, strings):
//   aoti_runners  how many runs of an AOTInductor package may execute at once (its model
//                 instances, AOTIModelPackageLoader's num_runners; more runs wait for a free
//                 one). TypeScript passes the worker pool's size; default 4, libuv's default.
//   intra_op_threads, inter_op_threads
//                 libtorch's process-wide thread counts (torch_threads.h), from the thread
//                 budget; absent or 0 keeps libtorch's default. Applied before the model loads.
#include <charconv>
#include <memory>
#include <string>

#include "common/addon_kit.h"
#include "common/backend.h"
#include "pytorch/aoti_model.h"
#include "pytorch/model_format.h"
#include "pytorch/torch_errors.h"
#include "pytorch/torch_threads.h"
#include "pytorch/torchscript_model.h"

namespace duo::pytorch {
namespace {

constexpr size_t kDefaultAotiRunners = 4;
constexpr size_t kMaxAotiRunners = 256;
constexpr size_t kMaxThreads = 1024;

// An integer option from `min` to `max`; `fallback` when absent.
Status ReadCount(const LoadOptions& options, const std::string& key, size_t fallback, size_t min, size_t max,
                 size_t* count) {
  *count = fallback;
  auto found = options.find(key);
  if (found == options.end()) return Status::Ok();
  const std::string& text = found->second;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *count);
  if (error != std::errc() || end != text.data() + text.size() || *count < min || *count > max) {
    return Status::Error(Code::kInvalidArgument, "load option " + key + " must be an integer from " +
                                                     std::to_string(min) + " to " + std::to_string(max) + ", not '" +
                                                     text + "'");
  }
  return Status::Ok();
}

Status ReadTorchThreads(const LoadOptions& options, TorchThreads* threads) {
  size_t intra_op;
  size_t inter_op;
  DUO_RETURN_IF_ERROR(ReadCount(options, "intra_op_threads", 0, 0, kMaxThreads, &intra_op));
  DUO_RETURN_IF_ERROR(ReadCount(options, "inter_op_threads", 0, 0, kMaxThreads, &inter_op));
  threads->intra_op = static_cast<int>(intra_op);
  threads->inter_op = static_cast<int>(inter_op);
  return Status::Ok();
}

}  // namespace

class PyTorchBackend : public Backend {
 public:
  Status Load(const std::string& path, const LoadOptions& options, std::shared_ptr<LoadedModel>* out) override {
    // The format-specific loaders catch libtorch's exceptions; this guard is for the rest.
    return CallTorch("cannot load " + path, Code::kInternal, [&]() -> Status {
      TorchThreads threads;
      DUO_RETURN_IF_ERROR(ReadTorchThreads(options, &threads));
      DUO_RETURN_IF_ERROR(ConfigureTorchThreads(threads));
      ModelFile file;
      DUO_RETURN_IF_ERROR(FindModelFile(path, &file));
      switch (file.format) {
        case ModelFormat::kTorchScript: return TorchScriptModel::Load(file.path, out);
        case ModelFormat::kAotInductor: {
          size_t runners;
          DUO_RETURN_IF_ERROR(ReadCount(options, "aoti_runners", kDefaultAotiRunners, 1, kMaxAotiRunners, &runners));
          return AotiModel::Load(file.path, runners, out);
        }
      }
      return Status::Error(Code::kInternal, "unknown PyTorch model format");
    });
  }
};

}  // namespace duo::pytorch

DUOSERVE_BACKEND_ADDON(duo::pytorch::PyTorchBackend)
