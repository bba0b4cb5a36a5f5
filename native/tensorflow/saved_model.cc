#include "tensorflow/saved_model.h"

#include <exception>
#include <utility>

#include "tensorflow/status_conversion.h"
#include "tensorflow/tensor_conversion.h"

namespace duo::tf {

SavedModel::SavedModel(GraphPtr graph, TF_Session* session, std::string meta_graph_def)
    : graph_(std::move(graph)),
      session_(session),
      meta_graph_def_(std::move(meta_graph_def)),
      resolver_(graph_.get()) {}

SavedModel::~SavedModel() {
  StatusPtr status = NewStatus();
  TF_CloseSession(session_, status.get());
  TF_DeleteSession(session_, status.get());
  // graph_ is deleted after the session that references it.
}

Status SavedModel::Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
                       std::vector<NamedTensor>* outputs) {
  try {
    return RunSession(inputs, output_names, outputs);
  } catch (const std::exception& error) {
    return Status::Error(Code::kInternal, std::string("TensorFlow run failed: ") + error.what());
  } catch (...) {
    return Status::Error(Code::kInternal, "TensorFlow run failed with an unknown exception");
  }
}

Status SavedModel::RunSession(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
                              std::vector<NamedTensor>* outputs) {
  std::vector<TF_Output> feeds(inputs.size());
  std::vector<TensorPtr> feed_tensors(inputs.size());
  std::vector<TF_Tensor*> feed_values(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    DUO_RETURN_IF_ERROR(resolver_.Resolve(inputs[i].name, &feeds[i]));
    Status converted = ToTfTensor(inputs[i].tensor, &feed_tensors[i]);
    if (!converted.ok()) {
      return Status::Error(converted.code, "input " + inputs[i].name + ": " + converted.message);
    }
    feed_values[i] = feed_tensors[i].get();
  }
  std::vector<TF_Output> fetches(output_names.size());
  for (size_t i = 0; i < output_names.size(); ++i) {
    DUO_RETURN_IF_ERROR(resolver_.Resolve(output_names[i], &fetches[i]));
  }

  std::vector<TF_Tensor*> fetched(output_names.size(), nullptr);
  StatusPtr status = NewStatus();
  // Wrong input dtypes are left to the session: its message ("Expects arg[0] to be float but
  // int64 is provided") is the one TF-Serving clients see.
  TF_SessionRun(session_, /*run_options=*/nullptr, feeds.data(), feed_values.data(), static_cast<int>(feeds.size()),
                fetches.data(), fetched.data(), static_cast<int>(fetches.size()), /*target_opers=*/nullptr, 0,
                /*run_metadata=*/nullptr, status.get());
  std::vector<TensorPtr> results;
  results.reserve(fetched.size());
  for (TF_Tensor* tensor : fetched) results.emplace_back(tensor);
  DUO_RETURN_IF_ERROR(FromTfStatus(status.get()));

  outputs->clear();
  outputs->reserve(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    HostTensorPtr host;
    Status converted = FromTfTensor(std::move(results[i]), &host);
    if (!converted.ok()) {
      return Status::Error(converted.code, "output " + output_names[i] + ": " + converted.message);
    }
    outputs->push_back({output_names[i], std::move(host)});
  }
  return Status::Ok();
}

}  // namespace duo::tf
