#include "pytorch/model_format.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

namespace duo::pytorch {

namespace fs = std::filesystem;

Status FindModelFile(const std::string& version_dir, ModelFile* out) {
  std::error_code error;
  if (!fs::is_directory(version_dir, error)) {
    return Status::Error(Code::kNotFound, "model version directory " + version_dir + " does not exist");
  }
  bool has_torchscript = false;
  std::vector<std::string> packages;
  for (fs::directory_iterator it(version_dir, error), end; !error && it != end; it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    std::string name = it->path().filename().string();
    if (name == "model.pt") has_torchscript = true;
    if (it->path().extension() == ".pt2") packages.push_back(name);
  }
  if (error) {
    return Status::Error(Code::kNotFound, "cannot list " + version_dir + ": " + error.message());
  }

  std::sort(packages.begin(), packages.end());  // messages name them in a stable order
  if (has_torchscript && !packages.empty()) {
    return Status::Error(Code::kInvalidArgument,
                         version_dir + " holds both model.pt (TorchScript) and " + packages[0] +
                             " (AOTInductor); keep only one model format per version directory");
  }
  if (packages.size() > 1) {
    return Status::Error(Code::kInvalidArgument, version_dir + " holds several .pt2 packages (" + packages[0] + ", " +
                                                     packages[1] + ", ...); keep only one");
  }
  if (has_torchscript) {
    *out = {ModelFormat::kTorchScript, (fs::path(version_dir) / "model.pt").string()};
    return Status::Ok();
  }
  if (packages.size() == 1) {
    *out = {ModelFormat::kAotInductor, (fs::path(version_dir) / packages[0]).string()};
    return Status::Ok();
  }
  return Status::Error(Code::kNotFound, "no PyTorch model in " + version_dir +
                                            ": expected model.pt (TorchScript) or one *.pt2 "
                                            "file (AOTInductor package)");
}

}  // namespace duo::pytorch
