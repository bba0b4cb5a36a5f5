// Floating-point numbers as TF-Serving writes them in JSON (json_tensor.cc WriteDecimal):
// printf's "%.6g" when that reads back as the same value, else "%.9g" (float) / "%.17g"
// (double); ".0" appended when the text has neither '.' nor 'e'; NaN, Infinity, -Infinity
// as bare tokens. std::to_chars with a precision is printf's %g, exactly (ties to even on
// the exact binary value, as glibc), at a fraction of snprintf's cost.
#pragma once
#include <cstddef>

namespace duo {

// Enough for "-1.2345678901234567e-308" and the ".0" suffix.
inline constexpr size_t kDecimalBufferSize = 32;

// Writes `value` into `buffer` (kDecimalBufferSize bytes); returns the length.
size_t FormatFloat32(float value, char* buffer);
size_t FormatFloat64(double value, char* buffer);

}  // namespace duo
