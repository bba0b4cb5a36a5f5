#include "tensorflow/tensor_resolver.h"

#include <mutex>

namespace duo::tf {

namespace {

// Splits "op:3" into ("op", 3); a name without a numeric ":index" suffix is output 0, as in
// TensorFlow's own tensor-name parsing.
void SplitTensorName(const std::string& name, std::string* op, int* index) {
  const size_t colon = name.rfind(':');
  if (colon != std::string::npos && colon + 1 < name.size() && name.size() - colon - 1 <= 9) {
    int value = 0;
    bool digits = true;
    for (size_t i = colon + 1; i < name.size() && digits; ++i) {
      digits = name[i] >= '0' && name[i] <= '9';
      value = value * 10 + (name[i] - '0');
    }
    if (digits) {
      *op = name.substr(0, colon);
      *index = value;
      return;
    }
  }
  *op = name;
  *index = 0;
}

}  // namespace

Status TensorResolver::Resolve(const std::string& name, TF_Output* out) {
  {
    std::shared_lock lock(mutex_);
    auto found = cache_.find(name);
    if (found != cache_.end()) {
      *out = found->second;
      return Status::Ok();
    }
  }
  std::string op_name;
  int index = 0;
  SplitTensorName(name, &op_name, &index);
  TF_Operation* operation = TF_GraphOperationByName(graph_, op_name.c_str());
  if (operation == nullptr) {
    return Status::Error(Code::kInvalidArgument, "Tensor " + name + " is not in the model's graph");
  }
  if (index >= TF_OperationNumOutputs(operation)) {
    return Status::Error(Code::kInvalidArgument, "Tensor " + name + ": operation " + op_name + " has only " +
                                                     std::to_string(TF_OperationNumOutputs(operation)) + " outputs");
  }
  const TF_Output resolved{operation, index};
  {
    std::unique_lock lock(mutex_);
    cache_.emplace(name, resolved);
  }
  *out = resolved;
  return Status::Ok();
}

}  // namespace duo::tf
