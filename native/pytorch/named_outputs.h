// Picks the requested outputs out of everything a model returned, by name, and converts
// them to HostTensors. Format-neutral: TorchScript and AOTInductor models both name their
// outputs (see the naming rule in torchscript_model.cc) and then hand them here.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "common/backend.h"
#include "common/status.h"

namespace duo::pytorch {

using TorchOutputs = std::vector<std::pair<std::string, at::Tensor>>;

// `requested` empty: every output, in the model's order. Otherwise exactly those, in the
// requested order; a name the model did not return gives kInvalidArgument listing the
// available names. Must run inside CallTorch.
Status SelectOutputs(const TorchOutputs& all, const std::vector<std::string>& requested,
                     std::vector<NamedTensor>* outputs);

}  // namespace duo::pytorch
