// TensorProto wire facts shared by the decoder and the encoder of tensor_proto.h.
#pragma once
#include <bit>
#include <cstdint>

namespace duo::tensor_proto_wire {

// tensor_content and the packed fixed-width fields are little-endian on the wire; decoding
// and encoding read and write them in host order.
static_assert(std::endian::native == std::endian::little, "duoserve assumes a little-endian host");

// tensorflow/core/framework/tensor.proto and tensor_shape.proto field numbers.
enum TensorProtoField : uint32_t {
  kDtypeField = 1,
  kShapeField = 2,
  kContentField = 4,
  kFloatVal = 5,
  kDoubleVal = 6,
  kIntVal = 7,  // int32, and the int16, int8, uint8 and uint16 values
  kStringVal = 8,
  kScomplexVal = 9,  // (real, imaginary) float pairs
  kInt64Val = 10,
  kBoolVal = 11,
  kDcomplexVal = 12,  // (real, imaginary) double pairs
  kHalfVal = 13,      // int32 holding the raw 16 bits of half and of bfloat16
  kUint32Val = 16,
  kUint64Val = 17,
};
enum ShapeField : uint32_t { kShapeDim = 2 };
enum DimField : uint32_t { kDimSize = 1 };

}  // namespace duo::tensor_proto_wire
