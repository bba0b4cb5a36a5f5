// EncodeTensorProto (tensor_proto.h): HostTensor -> TensorProto bytes, byte for byte as
// TF-Serving's Tensor::AsProtoField (or, opt-in, with tensor_content).
#include <algorithm>
#include <cstring>

#include <protozero/pbf_writer.hpp>
#include <protozero/varint.hpp>

#include "common/tensor_proto.h"
#include "common/tensor_proto_wire.h"

namespace duo {
namespace {

using namespace tensor_proto_wire;

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

void AppendKey(std::string* out, uint32_t field) {
  protozero::add_varint_to_buffer(out, (uint64_t{field} << 3) | 2);  // length-delimited
}

// A packed varint field, sized first so the payload is written once, in place.
template <typename T, typename ToWire>
void AppendPackedVarints(std::string* out, uint32_t field, const T* values, size_t count, ToWire to_wire) {
  if (count == 0) return;  // proto3 omits an empty repeated field
  size_t payload = 0;
  for (size_t i = 0; i < count; ++i) payload += VarintSize(to_wire(values[i]));
  AppendKey(out, field);
  protozero::add_varint_to_buffer(out, payload);
  size_t at = out->size();
  out->resize(at + payload);
  char* cursor = out->data() + at;
  for (size_t i = 0; i < count; ++i) cursor += protozero::add_varint_to_buffer(cursor, to_wire(values[i]));
}

// A packed fixed-width field (float, double and their complex pairs): each element written
// in its little-endian wire form. A format conversion like every typed field: not counted.
template <typename T>
void AppendPackedFixed(std::string* out, uint32_t field, const T* values, size_t count) {
  if (count == 0) return;
  AppendKey(out, field);
  protozero::add_varint_to_buffer(out, count * sizeof(T));
  size_t at = out->size();
  out->resize(at + count * sizeof(T));
  char* cursor = out->data() + at;
  for (size_t i = 0; i < count; ++i, cursor += sizeof(T)) std::memcpy(cursor, values + i, sizeof(T));
}

template <typename T>
const T* Elements(const HostTensor& tensor) {
  return static_cast<const T*>(tensor.data);
}

// int_val is int32: protobuf sign-extends it to 64 bits (a negative value takes 10 bytes).
constexpr auto SignExtended = [](int32_t v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); };
constexpr auto ZeroExtended = [](uint64_t v) { return v; };

// Tensor::AsProtoField's choice of field for each dtype.
void AppendTypedFields(const HostTensor& t, size_t n, std::string* out) {
  switch (t.dtype) {
    case DType::kFloat: return AppendPackedFixed(out, kFloatVal, Elements<float>(t), n);
    case DType::kDouble: return AppendPackedFixed(out, kDoubleVal, Elements<double>(t), n);
    case DType::kComplex64: return AppendPackedFixed(out, kScomplexVal, Elements<float>(t), n * 2);
    case DType::kComplex128: return AppendPackedFixed(out, kDcomplexVal, Elements<double>(t), n * 2);
    case DType::kInt32: return AppendPackedVarints(out, kIntVal, Elements<int32_t>(t), n, SignExtended);
    case DType::kInt16: return AppendPackedVarints(out, kIntVal, Elements<int16_t>(t), n, SignExtended);
    case DType::kInt8: return AppendPackedVarints(out, kIntVal, Elements<int8_t>(t), n, SignExtended);
    case DType::kUInt8: return AppendPackedVarints(out, kIntVal, Elements<uint8_t>(t), n, ZeroExtended);
    case DType::kUInt16: return AppendPackedVarints(out, kIntVal, Elements<uint16_t>(t), n, ZeroExtended);
    // half_val carries the raw 16 bits of both half and bfloat16.
    case DType::kHalf:
    case DType::kBFloat16: return AppendPackedVarints(out, kHalfVal, Elements<uint16_t>(t), n, ZeroExtended);
    case DType::kInt64:
      return AppendPackedVarints(out, kInt64Val, Elements<int64_t>(t), n,
                                 [](int64_t v) { return static_cast<uint64_t>(v); });
    case DType::kUInt32: return AppendPackedVarints(out, kUint32Val, Elements<uint32_t>(t), n, ZeroExtended);
    case DType::kUInt64: return AppendPackedVarints(out, kUint64Val, Elements<uint64_t>(t), n, ZeroExtended);
    case DType::kBool:
      return AppendPackedVarints(out, kBoolVal, Elements<uint8_t>(t), n, [](uint8_t v) { return uint64_t{v != 0}; });
    case DType::kString:
    case DType::kInvalid: return;
  }
}

void AppendTensorContent(const HostTensor& tensor, size_t bytes, std::string* out) {
  if (bytes == 0) return;  // proto3 omits empty bytes
  AppendKey(out, kContentField);
  protozero::add_varint_to_buffer(out, bytes);
  size_t at = out->size();
  out->resize(at + bytes);
  CountedCopy(out->data() + at, tensor.data, bytes);
}

}  // namespace

void EncodeTensorProto(const HostTensor& tensor, ProtoEncoding encoding, std::string* out) {
  out->clear();
  const size_t element_size = DTypeSize(tensor.dtype);
  // The shape is trusted, but never read past the buffer that backs it.
  size_t elements = static_cast<size_t>(std::max<int64_t>(tensor.NumElements(), 0));
  if (tensor.dtype != DType::kString) {
    elements = element_size == 0 ? 0 : std::min(elements, tensor.byte_size / element_size);
  }
  out->reserve(16 + 11 * tensor.shape.size() + elements * element_size);
  {
    protozero::pbf_writer writer(*out);
    writer.add_enum(kDtypeField, static_cast<int32_t>(tensor.dtype));
    // Written by hand: TF always emits tensor_shape (even for a scalar) and a Dim message
    // for every dim (empty for size 0), where protozero would drop empty submessages.
    std::string shape;
    protozero::pbf_writer shape_writer(shape);
    std::string dim;
    for (int64_t size : tensor.shape) {
      dim.clear();
      if (size != 0) protozero::pbf_writer(dim).add_int64(kDimSize, size);
      shape_writer.add_message(kShapeDim, dim);
    }
    writer.add_message(kShapeField, shape);
    if (tensor.dtype == DType::kString) {
      for (const std::string& value : tensor.strings) writer.add_bytes(kStringVal, value);
      return;
    }
  }
  if (encoding == ProtoEncoding::kTensorContent) {
    AppendTensorContent(tensor, elements * element_size, out);
  } else {
    AppendTypedFields(tensor, elements, out);
  }
}

}  // namespace duo
