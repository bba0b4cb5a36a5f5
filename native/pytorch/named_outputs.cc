#include "pytorch/named_outputs.h"

#include <algorithm>

#include "pytorch/torch_tensor.h"

namespace duo::pytorch {
namespace {

Status AppendOutput(const std::string& name, const at::Tensor& tensor, std::vector<NamedTensor>* outputs) {
  HostTensorPtr host;
  DUO_RETURN_IF_ERROR(ToHostTensor(name, tensor, &host));
  outputs->push_back({name, std::move(host)});
  return Status::Ok();
}

std::string AvailableNames(const TorchOutputs& all) {
  std::string names;
  for (const auto& [name, tensor] : all) names += (names.empty() ? "" : ", ") + name;
  return names.empty() ? "none" : names;
}

}  // namespace

Status SelectOutputs(const TorchOutputs& all, const std::vector<std::string>& requested,
                     std::vector<NamedTensor>* outputs) {
  outputs->clear();
  if (requested.empty()) {
    outputs->reserve(all.size());
    for (const auto& [name, tensor] : all) DUO_RETURN_IF_ERROR(AppendOutput(name, tensor, outputs));
    return Status::Ok();
  }
  outputs->reserve(requested.size());
  for (const std::string& wanted : requested) {
    auto found = std::find_if(all.begin(), all.end(), [&](const auto& output) { return output.first == wanted; });
    if (found == all.end()) {
      return Status::Error(Code::kInvalidArgument,
                           "the model has no output '" + wanted + "'; it returned: " + AvailableNames(all));
    }
    DUO_RETURN_IF_ERROR(AppendOutput(wanted, found->second, outputs));
  }
  return Status::Ok();
}

}  // namespace duo::pytorch
