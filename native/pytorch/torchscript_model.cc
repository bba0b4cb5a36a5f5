// TorchScript models.
//
// Inputs are named by forward()'s argument names (after `self`). Tensor and Optional[Tensor]
// arguments are inputs; an Optional[Tensor] left out of a request is None, an argument with a
// default gets its default, and any other argument without a default makes the load fail.
//
// Outputs are named by the rule in torchscript_output_names.h, which also reads the names
// from forward()'s graph at load, so that GetModelMetadata lists them before any run.
#include "pytorch/torchscript_model.h"

#include <utility>

#include <ATen/core/function.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/serialization/import.h>

#include "pytorch/json_writer.h"
#include "pytorch/torch_errors.h"
#include "pytorch/torch_tensor.h"
#include "pytorch/torch_threads.h"

namespace duo::pytorch {
namespace {

bool IsTensor(const c10::TypePtr& type) { return type->kind() == c10::TypeKind::TensorType; }

bool IsOptionalTensor(const c10::TypePtr& type) {
  auto optional = type->cast<c10::OptionalType>();
  return optional && IsTensor(optional->getElementType());
}

Status ReadParameters(const c10::FunctionSchema& schema, std::vector<TorchScriptModel::Parameter>* out) {
  const std::vector<c10::Argument>& arguments = schema.arguments();
  size_t first = (!arguments.empty() && arguments[0].name() == "self") ? 1 : 0;
  for (size_t i = first; i < arguments.size(); ++i) {
    const c10::Argument& argument = arguments[i];
    TorchScriptModel::Parameter parameter;
    parameter.name = argument.name();
    parameter.type = argument.type()->annotation_str();
    parameter.is_input = IsTensor(argument.type()) || IsOptionalTensor(argument.type());
    parameter.default_value = argument.default_value();
    parameter.optional = parameter.default_value.has_value() || IsOptionalTensor(argument.type());
    if (!parameter.is_input && !parameter.default_value) {
      return Status::Error(Code::kInvalidArgument,
                           "forward() argument '" + parameter.name + "' has type " + parameter.type +
                               " and no default; duoserve can only feed Tensor and Optional[Tensor] "
                               "arguments (give it a default or make it a Tensor)");
    }
    out->push_back(std::move(parameter));
  }
  return Status::Ok();
}

}  // namespace

TorchScriptModel::TorchScriptModel(torch::jit::Module module, std::vector<Parameter> parameters, StaticOutputs outputs)
    : module_(std::move(module)), parameters_(std::move(parameters)), outputs_(std::move(outputs)) {}

Status TorchScriptModel::Load(const std::string& file, std::shared_ptr<LoadedModel>* out) {
  return CallTorch("cannot load TorchScript model " + file, Code::kInvalidArgument, [&]() -> Status {
    torch::jit::Module module = torch::jit::load(file, c10::Device(c10::kCPU));
    module.eval();
    torch::jit::Function& forward = module.get_method("forward").function();
    std::vector<Parameter> parameters;
    Status status = ReadParameters(forward.getSchema(), &parameters);
    if (!status.ok()) {
      return Status::Error(status.code, "cannot serve TorchScript model " + file + ": " + status.message);
    }
    StaticOutputs outputs = ReadStaticOutputs(forward);
    *out = std::make_shared<TorchScriptModel>(std::move(module), std::move(parameters), std::move(outputs));
    return Status::Ok();
  });
}

// {"format":"torchscript","inputs":[{"name":"x","type":"Tensor","optional":false}],
//  "outputs":{"type":"Dict[str, Tensor]","names":["a","b"]}}, or for names not known before
//  a run: "outputs":{"type":"...","names":null,"unknown_because":"<why>"}
std::string TorchScriptModel::Describe() const {
  std::string json = "{\"format\":\"torchscript\",\"inputs\":[";
  bool first = true;
  for (const Parameter& parameter : parameters_) {
    if (!parameter.is_input) continue;
    if (!first) json += ',';
    first = false;
    json += "{\"name\":";
    AppendJsonString(&json, parameter.name);
    json += ",\"type\":";
    AppendJsonString(&json, parameter.type);
    json += ",\"optional\":";
    json += parameter.optional ? "true" : "false";
    json += '}';
  }
  json += "],\"outputs\":{\"type\":";
  AppendJsonString(&json, outputs_.type);
  json += ",\"names\":";
  if (outputs_.names) {
    json += '[';
    for (size_t i = 0; i < outputs_.names->size(); ++i) {
      if (i > 0) json += ',';
      AppendJsonString(&json, (*outputs_.names)[i]);
    }
    json += ']';
  } else {
    json += "null,\"unknown_because\":";
    AppendJsonString(&json, outputs_.unknown_because);
  }
  json += "}}";
  return json;
}

Status TorchScriptModel::BuildStack(const std::vector<NamedTensor>& inputs, std::vector<c10::IValue>* stack) const {
  std::vector<const NamedTensor*> by_parameter(parameters_.size(), nullptr);
  for (const NamedTensor& input : inputs) {
    size_t index = 0;
    while (index < parameters_.size() && !(parameters_[index].is_input && parameters_[index].name == input.name)) {
      ++index;
    }
    if (index == parameters_.size()) {
      std::string known;
      for (const Parameter& parameter : parameters_) {
        if (parameter.is_input) known += (known.empty() ? "" : ", ") + parameter.name;
      }
      return Status::Error(Code::kInvalidArgument, "unknown input '" + input.name + "'; forward() takes: " + known);
    }
    if (by_parameter[index] != nullptr) {
      return Status::Error(Code::kInvalidArgument, "input '" + input.name + "' is given twice");
    }
    by_parameter[index] = &input;
  }

  stack->reserve(parameters_.size());
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const Parameter& parameter = parameters_[i];
    if (by_parameter[i] != nullptr) {
      at::Tensor tensor;
      DUO_RETURN_IF_ERROR(ToTorchTensor(parameter.name, by_parameter[i]->tensor, &tensor));
      stack->emplace_back(std::move(tensor));
    } else if (parameter.default_value) {
      stack->push_back(*parameter.default_value);
    } else if (parameter.optional) {
      stack->emplace_back();  // None for an Optional[Tensor]
    } else {
      return Status::Error(Code::kInvalidArgument, "missing input '" + parameter.name + "' (forward() requires it)");
    }
  }
  return Status::Ok();
}

Status TorchScriptModel::Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
                             std::vector<NamedTensor>* outputs) {
  return CallTorch("forward() failed", Code::kInternal, [&]() -> Status {
    UseTorchThreadsOnThisThread();
    c10::InferenceMode inference_mode;
    std::vector<c10::IValue> stack;
    DUO_RETURN_IF_ERROR(BuildStack(inputs, &stack));
    c10::IValue result = module_.forward(std::move(stack));
    TorchOutputs named;
    DUO_RETURN_IF_ERROR(NameReturnedTensors(result, &named));
    return SelectOutputs(named, output_names, outputs);
  });
}

}  // namespace duo::pytorch
