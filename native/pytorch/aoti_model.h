// An AOTInductor package (a .pt2 from torch._inductor.aoti_compile_and_package), run on the
// CPU through libtorch's AOTIModelPackageLoader.
//
// Calling convention: the compiled model takes the flat list of tensors that torch.export's
// in_spec gives for (args, kwargs), and returns the flat list its out_spec gives. Run names
// them by position: inputs "input_0".."input_{N-1}", outputs "output_0".."output_{M-1}".
// Describe() hands TypeScript the call spec and the package metadata; TypeScript
// (src/platforms/pytorch/aoti_signatures.ts) maps forward()'s argument names, dict keys and
// recorded dtypes/shapes onto those positions, and checks requests against them: the compiled
// code does not check its inputs' shapes.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include "common/backend.h"
#include "pytorch/aoti_package.h"

namespace duo::pytorch {

class AotiModel : public LoadedModel {
 public:
  // Checks `file` (aoti_package.h) and loads it. `runners` model instances may run at once
  // (AOTIModelPackageLoader's num_runners); further runs wait for a free one. Never throws.
  static Status Load(const std::string& file, size_t runners, std::shared_ptr<LoadedModel>* out);

  std::string Describe() const override;
  Status Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
             std::vector<NamedTensor>* outputs) override;

  AotiModel(std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader, std::string file, AotiMetadata metadata,
            std::vector<std::string> call_spec, size_t runners);

 private:
  Status OrderInputs(const std::vector<NamedTensor>& inputs, std::vector<at::Tensor>* ordered) const;

  // run() is safe from several threads: the model container hands each call a free model
  // instance (there are `runners_`) and blocks while none is free.
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
  std::string file_;
  AotiMetadata metadata_;
  std::vector<std::string> call_spec_;  // [in_spec, out_spec], torch.utils._pytree JSON
  size_t runners_;
};

}  // namespace duo::pytorch
