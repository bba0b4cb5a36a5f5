#include "codec/json_decimal.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace duo {
namespace {

size_t Special(double value, char* buffer) {
  const char* text = std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  const size_t length = std::strlen(text);
  std::memcpy(buffer, text, length);
  return length;
}

size_t Printf(double value, int precision, char* buffer) {
  return static_cast<size_t>(
      std::to_chars(buffer, buffer + kDecimalBufferSize, value, std::chars_format::general, precision).ptr - buffer);
}

double ReadBack(const char* buffer, size_t length) {
  double value = 0;
  std::from_chars(buffer, buffer + length, value);
  return value;
}

// Significant digits of the shortest text that reads back as `value` (std::to_chars, scientific:
// the plain form writes large whole numbers with all their digits). More than six means no six-digit text reads back,
// so the first attempt is skipped: for doubles plainly; for floats, whose text is read back as a double and then
// rounded to float, because no six-digit decimal in float range lies within a double's rounding of a float midpoint
// without being that midpoint (enumerated once over every a x 10^q; none does).
template <typename T>
int ShortestDigits(T value) {
  char text[kDecimalBufferSize];
  const char* end = std::to_chars(text, text + sizeof text, value, std::chars_format::scientific).ptr;
  const char* exponent = static_cast<const char*>(std::memchr(text, 'e', static_cast<size_t>(end - text)));
  if (exponent != nullptr) end = exponent;
  int digits = 0;
  int trailing_zeros = 0;
  bool leading = true;
  for (const char* c = text; c < end; ++c) {
    if (*c < '0' || *c > '9') continue;
    if (leading && *c == '0') continue;
    leading = false;
    ++digits;
    trailing_zeros = *c == '0' ? trailing_zeros + 1 : 0;
  }
  return digits - trailing_zeros;
}

size_t WithDecimalPoint(char* buffer, size_t length) {
  if (std::memchr(buffer, '.', length) != nullptr || std::memchr(buffer, 'e', length) != nullptr) return length;
  buffer[length] = '.';
  buffer[length + 1] = '0';
  return length + 2;
}

}  // namespace

size_t FormatFloat32(float value, char* buffer) {
  if (!std::isfinite(value)) return Special(value, buffer);
  const double wide = value;
  if (ShortestDigits(value) > 6) return WithDecimalPoint(buffer, Printf(wide, 9, buffer));
  size_t length = Printf(wide, 6, buffer);
  // Read back as a double, then rounded to float: the value a client parsing it as float32 gets.
  if (static_cast<float>(ReadBack(buffer, length)) != value) length = Printf(wide, 9, buffer);
  return WithDecimalPoint(buffer, length);
}

size_t FormatFloat64(double value, char* buffer) {
  if (!std::isfinite(value)) return Special(value, buffer);
  if (ShortestDigits(value) > 6) return WithDecimalPoint(buffer, Printf(value, 17, buffer));
  size_t length = Printf(value, 6, buffer);
  if (ReadBack(buffer, length) != value) length = Printf(value, 17, buffer);
  return WithDecimalPoint(buffer, length);
}

}  // namespace duo
