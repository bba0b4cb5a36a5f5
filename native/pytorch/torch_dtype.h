// duo::DType <-> at::ScalarType, shared by every PyTorch model format.
#pragma once
#include <optional>

#include <c10/core/ScalarType.h>

#include "common/host_tensor.h"

namespace duo::pytorch {

// nullopt for dtypes libtorch has no tensor type for (DT_STRING, DT_INVALID).
std::optional<c10::ScalarType> ToScalarType(DType dtype);
// nullopt for scalar types duoserve cannot carry (quantized, float8, complex32, ...).
std::optional<DType> FromScalarType(c10::ScalarType type);

}  // namespace duo::pytorch
