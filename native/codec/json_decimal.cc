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
  size_t length = Printf(wide, 6, buffer);
  // Read back as a double, then rounded to float: the value a client parsing it as float32 gets.
  if (static_cast<float>(ReadBack(buffer, length)) != value) length = Printf(wide, 9, buffer);
  return WithDecimalPoint(buffer, length);
}

size_t FormatFloat64(double value, char* buffer) {
  if (!std::isfinite(value)) return Special(value, buffer);
  size_t length = Printf(value, 6, buffer);
  if (ReadBack(buffer, length) != value) length = Printf(value, 17, buffer);
  return WithDecimalPoint(buffer, length);
}

}  // namespace duo
