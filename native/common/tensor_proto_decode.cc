// DecodeTensorProto (tensor_proto.h): TensorProto bytes -> HostTensor, with Tensor::FromProto's
// rules for what a valid proto is.
#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>

#include <protozero/pbf_reader.hpp>
#include <protozero/varint.hpp>

#include "common/tensor_proto.h"
#include "common/tensor_proto_wire.h"

namespace duo {
namespace {

using namespace tensor_proto_wire;

// Bytes that are not a well-formed TensorProto (protozero reports the rest the same way).
struct MalformedProto : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Status Invalid(std::string message) { return Status::Error(Code::kInvalidArgument, std::move(message)); }

// The fields that say what the tensor is; the values are read in a second pass once the
// dtype is known (fields may come in any order).
struct ProtoHeader {
  int32_t dtype = 0;
  std::vector<int64_t> shape;
  protozero::data_view content;
};

void ReadShape(protozero::pbf_reader shape_message, std::vector<int64_t>* shape) {
  while (shape_message.next()) {
    // unknown_rank (3) is ignored, as TensorShape ignores it; names are for humans.
    if (shape_message.tag() != kShapeDim) {
      shape_message.skip();
      continue;
    }
    if (shape_message.wire_type() != protozero::pbf_wire_type::length_delimited) {
      throw MalformedProto("TensorShapeProto.dim is not a message");
    }
    protozero::pbf_reader dim = shape_message.get_message();
    int64_t size = 0;
    while (dim.next()) {
      if (dim.tag() == kDimSize && dim.wire_type() == protozero::pbf_wire_type::varint) {
        size = dim.get_int64();
      } else {
        dim.skip();
      }
    }
    shape->push_back(size);
  }
}

// One occurrence of TensorProto.tensor_shape. Repeated occurrences of a message field merge,
// which for the shape appends dims.
void ReadShapeField(protozero::pbf_reader& reader, std::vector<int64_t>* shape) {
  if (reader.wire_type() != protozero::pbf_wire_type::length_delimited) {
    throw MalformedProto("tensor_shape is not a message");
  }
  ReadShape(reader.get_message(), shape);
}

ProtoHeader ReadHeader(protozero::data_view message) {
  ProtoHeader header;
  protozero::pbf_reader reader(message);
  while (reader.next()) {
    const auto wire = reader.wire_type();
    switch (reader.tag()) {
      case kDtypeField:
        if (wire != protozero::pbf_wire_type::varint) throw MalformedProto("dtype is not a varint");
        header.dtype = reader.get_enum();
        break;
      case kShapeField: ReadShapeField(reader, &header.shape); break;
      case kContentField:
        if (wire != protozero::pbf_wire_type::length_delimited) {
          throw MalformedProto("tensor_content is not bytes");
        }
        header.content = reader.get_view();
        break;
      default: reader.skip();
    }
  }
  return header;
}

// How one wire type W of a repeated numeric field is read, packed or one value at a time.
template <typename W>
struct WireReader;
template <>
struct WireReader<float> {
  static constexpr auto kScalarWire = protozero::pbf_wire_type::fixed32;
  static float One(protozero::pbf_reader& r) { return r.get_float(); }
  static auto Packed(protozero::pbf_reader& r) { return r.get_packed_float(); }
};
template <>
struct WireReader<double> {
  static constexpr auto kScalarWire = protozero::pbf_wire_type::fixed64;
  static double One(protozero::pbf_reader& r) { return r.get_double(); }
  static auto Packed(protozero::pbf_reader& r) { return r.get_packed_double(); }
};
template <>
struct WireReader<int32_t> {
  static constexpr auto kScalarWire = protozero::pbf_wire_type::varint;
  static int32_t One(protozero::pbf_reader& r) { return r.get_int32(); }
  static auto Packed(protozero::pbf_reader& r) { return r.get_packed_int32(); }
};
template <>
struct WireReader<int64_t> {
  static constexpr auto kScalarWire = protozero::pbf_wire_type::varint;
  static int64_t One(protozero::pbf_reader& r) { return r.get_int64(); }
  static auto Packed(protozero::pbf_reader& r) { return r.get_packed_int64(); }
};
template <>
struct WireReader<uint32_t> {
  static constexpr auto kScalarWire = protozero::pbf_wire_type::varint;
  static uint32_t One(protozero::pbf_reader& r) { return r.get_uint32(); }
  static auto Packed(protozero::pbf_reader& r) { return r.get_packed_uint32(); }
};
template <>
struct WireReader<uint64_t> {
  static constexpr auto kScalarWire = protozero::pbf_wire_type::varint;
  static uint64_t One(protozero::pbf_reader& r) { return r.get_uint64(); }
  static auto Packed(protozero::pbf_reader& r) { return r.get_packed_uint64(); }
};

// Reads every value of repeated field `field` (packed runs and single values, in wire
// order), converting the first `capacity` into `dst`. Returns how many values there are.
template <typename W, typename E>
int64_t ReadRepeated(protozero::data_view message, uint32_t field, E* dst, int64_t capacity) {
  int64_t count = 0;
  auto put = [&](W value) {
    if (count < capacity) {
      if constexpr (std::is_same_v<E, bool>) {
        dst[count] = value != 0;
      } else {
        dst[count] = static_cast<E>(value);
      }
    }
    ++count;
  };
  protozero::pbf_reader reader(message);
  while (reader.next(field)) {
    if (reader.wire_type() == protozero::pbf_wire_type::length_delimited) {
      for (W value : WireReader<W>::Packed(reader)) put(value);
    } else if (reader.wire_type() == WireReader<W>::kScalarWire) {
      put(WireReader<W>::One(reader));
    } else {
      throw MalformedProto("field " + std::to_string(field) + " has the wrong wire type");
    }
  }
  return count;
}

// Tensor::FromProto's rule for typed fields: values beyond the element count are ignored,
// fewer values are padded with the last one (how make_tensor_proto's single-value broadcast
// arrives), no values at all leave zeros. An element is `lanes` wire values (2 for complex).
template <typename W, typename E, int64_t lanes = 1>
void DecodeTypedField(protozero::data_view message, uint32_t field, HostTensor* tensor) {
  const int64_t elements = tensor->NumElements();
  E* dst = static_cast<E*>(tensor->data);
  const int64_t given = ReadRepeated<W>(message, field, dst, elements * lanes) / lanes;
  if (given == 0) {
    // A lone real part of a complex value was written above; TF reads it as no element.
    std::memset(tensor->data, 0, tensor->byte_size);
    return;
  }
  for (int64_t i = given; i < elements; ++i) {
    std::copy_n(dst + (given - 1) * lanes, lanes, dst + i * lanes);
  }
}

void DecodeStringField(protozero::data_view message, HostTensor* tensor) {
  const auto elements = static_cast<int64_t>(tensor->strings.size());
  int64_t given = 0;
  protozero::pbf_reader reader(message);
  while (reader.next(kStringVal)) {
    if (reader.wire_type() != protozero::pbf_wire_type::length_delimited) {
      throw MalformedProto("string_val is not bytes");
    }
    const protozero::data_view value = reader.get_view();
    if (given < elements) tensor->strings[given].assign(value.data(), value.size());
    ++given;
  }
  if (given == 0) return;
  for (int64_t i = given; i < elements; ++i) tensor->strings[i] = tensor->strings[given - 1];
}

void DecodeTypedFields(protozero::data_view message, HostTensor* tensor) {
  switch (tensor->dtype) {
    case DType::kFloat: return DecodeTypedField<float, float>(message, kFloatVal, tensor);
    case DType::kDouble: return DecodeTypedField<double, double>(message, kDoubleVal, tensor);
    case DType::kInt32: return DecodeTypedField<int32_t, int32_t>(message, kIntVal, tensor);
    case DType::kUInt8: return DecodeTypedField<int32_t, uint8_t>(message, kIntVal, tensor);
    case DType::kInt16: return DecodeTypedField<int32_t, int16_t>(message, kIntVal, tensor);
    case DType::kInt8: return DecodeTypedField<int32_t, int8_t>(message, kIntVal, tensor);
    case DType::kUInt16: return DecodeTypedField<int32_t, uint16_t>(message, kIntVal, tensor);
    case DType::kInt64: return DecodeTypedField<int64_t, int64_t>(message, kInt64Val, tensor);
    case DType::kBool: return DecodeTypedField<uint64_t, bool>(message, kBoolVal, tensor);
    // half_val carries the raw 16 bits of both half and bfloat16.
    case DType::kHalf:
    case DType::kBFloat16: return DecodeTypedField<int32_t, uint16_t>(message, kHalfVal, tensor);
    case DType::kComplex64: return DecodeTypedField<float, float, 2>(message, kScomplexVal, tensor);
    case DType::kComplex128: return DecodeTypedField<double, double, 2>(message, kDcomplexVal, tensor);
    case DType::kUInt32: return DecodeTypedField<uint32_t, uint32_t>(message, kUint32Val, tensor);
    case DType::kUInt64: return DecodeTypedField<uint64_t, uint64_t>(message, kUint64Val, tensor);
    case DType::kString: return DecodeStringField(message, tensor);
    case DType::kInvalid: break;
  }
  throw std::logic_error("DecodeTypedFields: unhandled dtype");
}

// TF's string encoding in tensor_content: every length as a varint32, then all the bytes.
Status DecodeStringContent(protozero::data_view content, HostTensor* tensor) {
  const char* cursor = content.data();
  const char* end = content.data() + content.size();
  uint64_t total = 0;
  std::vector<uint32_t> lengths(tensor->strings.size());
  for (uint32_t& length : lengths) {
    length = static_cast<uint32_t>(protozero::decode_varint(&cursor, end));
    total += length;
  }
  if (total != static_cast<uint64_t>(end - cursor)) {
    return Invalid("tensor_content of a DT_STRING tensor of shape " + ShapeString(tensor->shape) + " does not hold " +
                   std::to_string(lengths.size()) + " strings");
  }
  for (size_t i = 0; i < lengths.size(); ++i) {
    tensor->strings[i].assign(cursor, lengths[i]);
    cursor += lengths[i];
  }
  return Status::Ok();
}

Status CheckShape(const std::vector<int64_t>& shape) {
  if (shape.size() > kMaxDims) {
    return Invalid("tensor_shape has " + std::to_string(shape.size()) + " dims; at most " + std::to_string(kMaxDims) +
                   " are allowed");
  }
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      return Invalid("tensor_shape " + ShapeString(shape) + ": dim " + std::to_string(i) + " is " +
                     std::to_string(shape[i]) + ", and it must be >= 0");
    }
  }
  if (ShapeNumElements(shape) < 0) {
    return Invalid("tensor_shape " + ShapeString(shape) + " has more elements than an int64 holds");
  }
  return Status::Ok();
}

constexpr uint64_t kMaxDecodedTensorBytes = (uint64_t{1} << 31) - 1;

// What Decode does with a numeric tensor_content.
enum class Content { kCopy, kBorrow };

Status Decode(protozero::data_view message, Content content, HostTensorPtr* out) {
  ProtoHeader header = ReadHeader(message);
  if (!IsSupportedDType(header.dtype)) {
    return Invalid("TensorProto dtype " + std::to_string(header.dtype) + (header.dtype == 0 ? " (DT_INVALID)" : "") +
                   " is not supported");
  }
  const auto dtype = static_cast<DType>(header.dtype);
  DUO_RETURN_IF_ERROR(CheckShape(header.shape));
  const int64_t elements = ShapeNumElements(header.shape);
  const size_t element_size = DTypeSize(dtype);
  // A few bytes of typed fields may broadcast one value over any shape; cap what a request
  // can make us allocate at the largest message TF-Serving accepts (2 GiB), so a hostile
  // shape is refused instead of exhausting memory.
  const uint64_t per_element = element_size != 0 ? element_size : sizeof(std::string);
  if (static_cast<uint64_t>(elements) > kMaxDecodedTensorBytes / per_element) {
    return Invalid("tensor_shape " + ShapeString(header.shape) + " of " + DTypeName(dtype) +
                   " is too large: a request tensor may hold at most " + std::to_string(kMaxDecodedTensorBytes) +
                   " bytes");
  }
  // A non-empty tensor_content wins over typed fields, and an empty tensor ignores both
  // (Tensor::FromProto).
  if (!header.content.empty() && elements > 0 && dtype != DType::kString) {
    const size_t needed = static_cast<size_t>(elements) * element_size;
    if (header.content.size() != needed) {
      return Invalid("tensor_content has " + std::to_string(header.content.size()) + " bytes but shape " +
                     ShapeString(header.shape) + " of " + DTypeName(dtype) + " needs " + std::to_string(needed));
    }
  }
  if (content == Content::kBorrow && elements > 0 && !header.content.empty() && dtype != DType::kString) {
    auto view = std::make_shared<HostTensor>();
    view->dtype = dtype;
    view->shape = std::move(header.shape);
    view->data = const_cast<char*>(header.content.data());  // read only, as every HostTensor
    view->byte_size = header.content.size();
    *out = std::move(view);
    return Status::Ok();
  }
  std::shared_ptr<HostTensor> tensor = HostTensor::Allocate(dtype, std::move(header.shape));
  if (elements > 0) {
    if (header.content.empty()) {
      DecodeTypedFields(message, tensor.get());
    } else if (dtype == DType::kString) {
      DUO_RETURN_IF_ERROR(DecodeStringContent(header.content, tensor.get()));
    } else {
      CountedCopy(tensor->data, header.content.data(), tensor->byte_size);
      NormalizeBools(tensor.get());
    }
  }
  *out = std::move(tensor);
  return Status::Ok();
}

// Only tensor_shape, for a caller that needs the rows before the values are decoded: every
// other field is skipped, not read (its wire type is still checked by the full decode).
Status ReadShapeOnly(protozero::data_view message, std::vector<int64_t>* shape) {
  shape->clear();
  protozero::pbf_reader reader(message);
  while (reader.next()) {
    if (reader.tag() == kShapeField) {
      ReadShapeField(reader, shape);
    } else {
      reader.skip();
    }
  }
  return CheckShape(*shape);
}

// What a protozero or MalformedProto exception (or a failed allocation) in `read` means.
template <typename Read>
Status CatchingMalformed(Read read) {
  try {
    return read();
  } catch (const MalformedProto& e) {
    return Invalid(std::string("malformed TensorProto: ") + e.what());
  } catch (const protozero::exception& e) {
    return Invalid(std::string("malformed TensorProto: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::Error(Code::kResourceExhausted, "out of memory decoding a TensorProto");
  } catch (const std::length_error&) {
    return Status::Error(Code::kResourceExhausted, "TensorProto too large to decode");
  }
}

protozero::data_view ViewOf(const uint8_t* bytes, size_t size) { return {reinterpret_cast<const char*>(bytes), size}; }

}  // namespace

Status DecodeTensorProto(const uint8_t* bytes, size_t size, HostTensorPtr* out) {
  return CatchingMalformed([&] { return Decode(ViewOf(bytes, size), Content::kCopy, out); });
}

Status DecodeTensorProtoBorrowing(const uint8_t* bytes, size_t size, HostTensorPtr* out) {
  return CatchingMalformed([&] { return Decode(ViewOf(bytes, size), Content::kBorrow, out); });
}

Status ReadTensorProtoShape(const uint8_t* bytes, size_t size, std::vector<int64_t>* shape) {
  return CatchingMalformed([&] { return ReadShapeOnly(ViewOf(bytes, size), shape); });
}

}  // namespace duo
