#include "pytorch/torch_dtype.h"

namespace duo::pytorch {
namespace {

struct DTypePair {
  DType dtype;
  c10::ScalarType scalar_type;
};

constexpr DTypePair kPairs[] = {
    {DType::kFloat, c10::kFloat},
    {DType::kDouble, c10::kDouble},
    {DType::kHalf, c10::kHalf},
    {DType::kBFloat16, c10::kBFloat16},
    {DType::kInt8, c10::kChar},
    {DType::kInt16, c10::kShort},
    {DType::kInt32, c10::kInt},
    {DType::kInt64, c10::kLong},
    {DType::kUInt8, c10::kByte},
    {DType::kUInt16, c10::kUInt16},
    {DType::kUInt32, c10::kUInt32},
    {DType::kUInt64, c10::kUInt64},
    {DType::kBool, c10::kBool},
    {DType::kComplex64, c10::kComplexFloat},
    {DType::kComplex128, c10::kComplexDouble},
};

}  // namespace

std::optional<c10::ScalarType> ToScalarType(DType dtype) {
  for (const DTypePair& pair : kPairs) {
    if (pair.dtype == dtype) return pair.scalar_type;
  }
  return std::nullopt;
}

std::optional<DType> FromScalarType(c10::ScalarType type) {
  for (const DTypePair& pair : kPairs) {
    if (pair.scalar_type == type) return pair.dtype;
  }
  return std::nullopt;
}

}  // namespace duo::pytorch
