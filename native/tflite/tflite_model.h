// A model.tflite loaded through LiteRT's CompiledModel API. Signatures are the ones LiteRT
// reads from the model (for a model without SignatureDefs, the one it makes up over the main
// subgraph); inputs and outputs are named by their TFLite tensor names ("serving_default_x:0"),
// as TF-Serving names them under --prefer_tflite_model.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/backend.h"
#include "tflite/litert_handles.h"

namespace duo::tflite {

struct TensorSlot {
  std::string alias;        // the signature's input or output name
  std::string tensor_name;  // TensorInfo.name
  LiteRtElementType element_type;
  DType dtype;
  std::vector<int64_t> shape;  // -1 where the model leaves a dimension open
};

struct SignatureSlots {
  std::string key;
  std::vector<TensorSlot> inputs;
  std::vector<TensorSlot> outputs;
};

class TfLiteModel : public LoadedModel {
 public:
  // `max_instances` compiled models at most (--num_tflite_pools): one runs one request at a
  // time, as a TFLite interpreter does, so that many requests run concurrently. The first is
  // compiled here, the others when concurrent requests first need them.
  static Status Load(const std::string& model_file, size_t max_instances, std::shared_ptr<LoadedModel>* out);

  // A serialized tensorflow.MetaGraphDef holding only signature_def, the format the
  // TensorFlow addon's Describe() has, so that TypeScript reads both the same way.
  std::string Describe() const override;
  Status Run(const std::vector<NamedTensor>& inputs, const std::vector<std::string>& output_names,
             std::vector<NamedTensor>* outputs) override;

 private:
  // One compiled model with the input shapes it was last resized to and the output shapes
  // that follow from them (per signature; empty until a run sets them).
  struct Instance {
    CompiledModelPtr compiled;
    std::vector<std::vector<std::vector<int>>> input_dims;
    std::vector<std::vector<LiteRtLayout>> output_layouts;
  };
  class Lease;

  TfLiteModel(EnvironmentPtr environment, ModelPtr model, std::vector<SignatureSlots> signatures, size_t max_instances);
  // The signature whose inputs are exactly `inputs` (by TensorInfo.name).
  Status FindSignature(const std::vector<NamedTensor>& inputs, size_t* index) const;
  Status NewInstance(std::unique_ptr<Instance>* out) const;
  Status Acquire(std::unique_ptr<Instance>* out);
  void Release(std::unique_ptr<Instance> instance);
  Status RunWith(Instance* instance, size_t signature, const std::vector<const HostTensor*>& inputs,
                 std::vector<HostTensorPtr>* outputs) const;

  EnvironmentPtr environment_;
  ModelPtr model_;
  std::vector<SignatureSlots> signatures_;
  // TensorInfo.name of an input -> (signature index, input index) for each signature using it.
  std::multimap<std::string, std::pair<size_t, size_t>> input_index_;
  const size_t max_instances_;

  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Instance>> idle_;
  size_t instances_ = 0;  // idle or in use
};

}  // namespace duo::tflite
