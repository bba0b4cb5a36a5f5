// One loaded SavedModel: the TF_Session TF_LoadSessionFromSavedModel built, its graph, and
// the MetaGraphDef it chose. TF_SessionRun is thread-safe, so Run takes no lock.
#pragma once
#include <string>
#include <vector>

#include <tensorflow/c/c_api.h>

#include "common/backend.h"
#include "tensorflow/tensor_resolver.h"
#include "tensorflow/tf_handles.h"

namespace duo::tf {

class SavedModel : public LoadedModel {
 public:
  // Takes ownership of `graph` and `session`.
  SavedModel(GraphPtr graph, TF_Session* session, std::string meta_graph_def);
  ~SavedModel() override;
  SavedModel(const SavedModel&) = delete;
  SavedModel& operator=(const SavedModel&) = delete;

  // The serialized tensorflow.MetaGraphDef; TypeScript reads signature_def from it.
  std::string Describe() const override { return meta_graph_def_; }
  Status Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
             std::vector<NamedTensor>* outputs) override;

 private:
  Status RunSession(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
                    std::vector<NamedTensor>* outputs);

  GraphPtr graph_;
  TF_Session* session_;
  const std::string meta_graph_def_;
  TensorResolver resolver_;
};

}  // namespace duo::tf
