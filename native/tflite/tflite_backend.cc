// The TFLite addon: loads a version directory's model.tflite through LiteRT's C API.
//
// Load options (all optional):
//   num_pools  how many requests may run at once (--num_tflite_pools); default 1
#include <exception>
#include <string>

#include "common/addon_kit.h"
#include "common/backend.h"
#include "tflite/tflite_model.h"

namespace duo::tflite {

class TfLiteBackend : public Backend {
 public:
  Status Load(const std::string& path, const LoadOptions& options, std::shared_ptr<LoadedModel>* out) override {
    const std::string model_file = path + "/model.tflite";
    try {
      auto pools = options.find("num_pools");
      const size_t num_pools = pools == options.end() ? 1 : std::stoul(pools->second);
      return TfLiteModel::Load(model_file, num_pools, out);
    } catch (const std::exception& error) {
      return Status::Error(Code::kInternal, "loading " + model_file + " failed: " + error.what());
    }
  }
};

}  // namespace duo::tflite

DUOSERVE_BACKEND_ADDON(duo::tflite::TfLiteBackend)
