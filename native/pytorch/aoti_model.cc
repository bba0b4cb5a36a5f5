#include "pytorch/aoti_model.h"

#include <charconv>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "pytorch/aoti_libtorch.h"
#include "pytorch/json_writer.h"
#include "pytorch/named_outputs.h"
#include "pytorch/torch_errors.h"
#include "pytorch/torch_tensor.h"
#include "pytorch/torch_threads.h"

namespace duo::pytorch {
namespace {

constexpr std::string_view kInputPrefix = "input_";

// libtorch's package loader parses JSON into a function-local static (load_json_file in
// model_package_loader.cpp), so two loads at once could read each other's metadata. Loads
// are rare; they take turns.
std::mutex& PackageLoadMutex() {
  static std::mutex mutex;
  return mutex;
}

// "input_7" -> 7; nullopt for any other name.
std::optional<size_t> InputPosition(const std::string& name) {
  if (!name.starts_with(kInputPrefix) || name.size() == kInputPrefix.size()) return std::nullopt;
  size_t position = 0;
  const char* first = name.data() + kInputPrefix.size();
  const char* last = name.data() + name.size();
  auto [end, error] = std::from_chars(first, last, position);
  if (error != std::errc() || end != last || (*first == '0' && last - first > 1)) return std::nullopt;
  return position;
}

}  // namespace

AotiModel::AotiModel(std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader, std::string file,
                     AotiMetadata metadata, std::vector<std::string> call_spec, size_t runners)
    : loader_(std::move(loader)),
      file_(std::move(file)),
      metadata_(std::move(metadata)),
      call_spec_(std::move(call_spec)),
      runners_(runners) {}

Status AotiModel::Load(const std::string& file, size_t runners, std::shared_ptr<LoadedModel>* out) {
  DUO_RETURN_IF_ERROR(EnsureLibtorchForPackages());
  return CallTorch("cannot load AOTInductor package " + file, Code::kInvalidArgument, [&]() -> Status {
    std::lock_guard<std::mutex> lock(PackageLoadMutex());
    AotiMetadata metadata;
    DUO_RETURN_IF_ERROR(InspectAotiPackage(file, &metadata));
    auto loader = std::make_unique<torch::inductor::AOTIModelPackageLoader>(
        file, kAotiModelName, /*run_single_threaded=*/false, runners, /*device_index=*/-1);
    std::vector<std::string> call_spec = loader->get_call_spec();
    if (call_spec.size() != 2) {
      return Status::Error(Code::kInvalidArgument, file + " has no call spec (in_spec, out_spec)");
    }
    *out = std::make_shared<AotiModel>(std::move(loader), std::filesystem::path(file).filename().string(),
                                       std::move(metadata), std::move(call_spec), runners);
    return Status::Ok();
  });
}

// {"format":"aoti","file":"model.pt2","runners":N,"metadata":{"AOTI_DEVICE_KEY":"cpu",...},
//  "in_spec":"<pytree JSON>","out_spec":"<pytree JSON>"}
std::string AotiModel::Describe() const {
  std::string json = "{\"format\":\"aoti\",\"file\":";
  AppendJsonString(&json, file_);
  json += ",\"runners\":" + std::to_string(runners_) + ",\"metadata\":{";
  bool first = true;
  for (const auto& [key, value] : metadata_) {
    if (!first) json += ',';
    first = false;
    AppendJsonString(&json, key);
    json += ':';
    AppendJsonString(&json, value);
  }
  json += "},\"in_spec\":";
  AppendJsonString(&json, call_spec_[0]);
  json += ",\"out_spec\":";
  AppendJsonString(&json, call_spec_[1]);
  json += '}';
  return json;
}

Status AotiModel::OrderInputs(const std::vector<NamedTensor>& inputs, std::vector<at::Tensor>* ordered) const {
  ordered->assign(inputs.size(), at::Tensor());
  for (const NamedTensor& input : inputs) {
    std::optional<size_t> position = InputPosition(input.name);
    if (!position || *position >= inputs.size()) {
      return Status::Error(Code::kInvalidArgument,
                           "unknown input '" + input.name + "'; an AOTInductor model takes its inputs by " +
                               "position: input_0, input_1, ... (" + std::to_string(inputs.size()) + " given)");
    }
    if ((*ordered)[*position].defined()) {
      return Status::Error(Code::kInvalidArgument, "input '" + input.name + "' is given twice");
    }
    DUO_RETURN_IF_ERROR(ToTorchTensor(input.name, input.tensor, &(*ordered)[*position]));
  }
  return Status::Ok();
}

Status AotiModel::Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
                      std::vector<NamedTensor>* outputs) {
  return CallTorch("the AOTInductor model failed", Code::kInternal, [&]() -> Status {
    UseTorchThreadsOnThisThread();
    std::vector<at::Tensor> ordered;
    DUO_RETURN_IF_ERROR(OrderInputs(inputs, &ordered));
    std::vector<at::Tensor> results = loader_->run(ordered);
    TorchOutputs named;
    named.reserve(results.size());
    for (size_t i = 0; i < results.size(); ++i)
      named.emplace_back("output_" + std::to_string(i), std::move(results[i]));
    return SelectOutputs(named, output_names, outputs);
  });
}

}  // namespace duo::pytorch
