// A TorchScript model (model.pt from torch.jit.script / torch.jit.trace + torch.jit.save),
// served through its forward() method.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/csrc/jit/api/module.h>

#include "common/backend.h"
#include "pytorch/named_outputs.h"
#include "pytorch/torchscript_output_names.h"

namespace duo::pytorch {

class TorchScriptModel : public LoadedModel {
 public:
  // Loads `file` on the CPU in eval mode and reads forward()'s schema. Never throws: a file
  // libtorch cannot read, or a forward() argument duoserve cannot feed, is kInvalidArgument.
  static Status Load(const std::string& file, std::shared_ptr<LoadedModel>* out);

  std::string Describe() const override;
  Status Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
             std::vector<NamedTensor>* outputs) override;

  // One forward() argument after `self`.
  struct Parameter {
    std::string name;
    std::string type;  // as TorchScript spells it: "Tensor", "Optional[Tensor]", "int", ...
    bool is_input;     // Tensor or Optional[Tensor]: fed from a request
    bool optional;     // may be left out of a request (a default, or None)
    std::optional<c10::IValue> default_value;
  };

  TorchScriptModel(torch::jit::Module module, std::vector<Parameter> parameters, StaticOutputs outputs);

 private:
  Status BuildStack(const std::vector<NamedTensor>& inputs, std::vector<c10::IValue>* stack) const;

  // forward() is safe to call from several threads at once for inference (the graph
  // executor locks its own optimisation state), so runs share the module.
  torch::jit::Module module_;
  std::vector<Parameter> parameters_;
  StaticOutputs outputs_;
};

}  // namespace duo::pytorch
