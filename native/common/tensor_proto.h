// tensorflow.TensorProto wire bytes <-> HostTensor, with protozero (no protobuf runtime, so
// nothing can clash with the protobuf copies inside libtensorflow and libtorch).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/host_tensor.h"
#include "common/status.h"

namespace duo {

// Decodes one TensorProto. Accepts tensor_content and every typed repeated field
// (float_val, half_val, int_val, int64_val, bool_val, string_val, ...), packed or not, with
// Tensor::FromProto's rules: fewer values than elements repeat the last one (the
// single-value broadcast make_tensor_proto writes), none at all mean zeros, extra values are
// ignored. Errors are kInvalidArgument with a message naming what is wrong (content length
// vs shape, negative or overflowing dims, unsupported dtype, malformed bytes);
// kResourceExhausted when the memory is not there. Runs on any thread.
Status DecodeTensorProto(const uint8_t* bytes, size_t size, HostTensorPtr* out);

// DecodeTensorProto for a caller that copies the tensor at once (batching's merge): a
// numeric tensor_content is not copied but viewed (the tensor's data points into `bytes`,
// which must outlive it; kBool bytes are as sent, not made 0 or 1). Typed fields and strings
// are decoded as above.
Status DecodeTensorProtoBorrowing(const uint8_t* bytes, size_t size, HostTensorPtr* out);

// The shape DecodeTensorProto would give, read by its own shape reader and checked by its
// rules (negative dims, too many dims or elements), without touching the values: what
// batching needs to count a request's rows before it is decoded. Errors as above.
Status ReadTensorProtoShape(const uint8_t* bytes, size_t size, std::vector<int64_t>* shape);

enum class ProtoEncoding {
  kTypedFields,    // what TF-Serving's Predict returns (Tensor::AsProtoField): float_val, ...
  kTensorContent,  // opt-in: raw little-endian bytes in tensor_content (strings stay string_val)
};
// Replaces `out` with the encoding of `tensor`. Runs on any thread.
void EncodeTensorProto(const HostTensor& tensor, ProtoEncoding encoding, std::string* out);

}  // namespace duo
