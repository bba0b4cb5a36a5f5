// Which PyTorch model format a version directory holds. One `pytorch` platform serves both:
//   model.pt  -> TorchScript (torch.jit.save)
//   *.pt2     -> an AOTInductor package (torch._inductor.aoti_compile_and_package); any one
//                name, model.pt2 by convention
#pragma once
#include <string>

#include "common/status.h"

namespace duo::pytorch {

enum class ModelFormat { kTorchScript, kAotInductor };

struct ModelFile {
  ModelFormat format;
  std::string path;  // the model file inside the version directory
};

// kNotFound when `version_dir` holds neither format (or is not a directory),
// kInvalidArgument when it holds both or several .pt2 packages (ambiguous).
Status FindModelFile(const std::string& version_dir, ModelFile* out);

}  // namespace duo::pytorch
