// tensorflow.TensorProto wire bytes <-> HostTensor, with protozero (no protobuf runtime, so
// nothing can clash with the protobuf copies inside libtensorflow and libtorch).
#pragma once
#include <cstdint>
#include <string>

#include "common/host_tensor.h"
#include "common/status.h"

namespace duo {

// Decodes one TensorProto. Accepts tensor_content and every typed repeated field
// (float_val, half_val, int_val, int64_val, bool_val, string_val, ...), and the single-value
// broadcast that make_tensor_proto writes (one value, a shape of N elements: all N get it).
// Errors are kInvalidArgument with a message naming what is wrong (content length vs
// shape, negative or overflowing dims, unsupported dtype, too few/many values).
Status DecodeTensorProto(const uint8_t* bytes, size_t size, HostTensorPtr* out);

enum class ProtoEncoding {
  kTypedFields,    // what TF-Serving's Predict returns (Tensor::AsProtoField): float_val, ...
  kTensorContent,  // opt-in: raw little-endian bytes in tensor_content (strings stay string_val)
};
void EncodeTensorProto(const HostTensor& tensor, ProtoEncoding encoding, std::string* out);

}  // namespace duo
