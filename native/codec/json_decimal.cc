#include "codec/json_decimal.h"

#include <charconv>
#include <cmath>
#include <cstdint>
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

// printf's %g, precision `precision`, of the decimal digits[0].digits[1..] x 10^exponent
// (`precision` digits, the first nonzero).
size_t GeneralFromDigits(bool negative, const char* digits, int precision, int exponent, char* buffer) {
  int kept = precision;
  while (kept > 1 && digits[kept - 1] == '0') --kept;  // %g drops trailing zeros
  char* out = buffer;
  if (negative) *out++ = '-';
  if (exponent < -4 || exponent >= precision) {
    *out++ = digits[0];
    if (kept > 1) {
      *out++ = '.';
      for (int i = 1; i < kept; ++i) *out++ = digits[i];
    }
    *out++ = 'e';
    *out++ = exponent < 0 ? '-' : '+';
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) *out++ = '0';
    out = std::to_chars(out, buffer + kDecimalBufferSize, magnitude).ptr;
  } else if (exponent >= 0) {
    for (int i = 0; i <= exponent; ++i) *out++ = digits[i];
    if (kept > exponent + 1) {
      *out++ = '.';
      for (int i = exponent + 1; i < kept; ++i) *out++ = digits[i];
    }
  } else {
    *out++ = '0';
    *out++ = '.';
    for (int i = 0; i < -exponent - 1; ++i) *out++ = '0';
    for (int i = 0; i < kept; ++i) *out++ = digits[i];
  }
  return static_cast<size_t>(out - buffer);
}

constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// `value` rounded to the nearest integer, where the error of `value` (under 1e-6) cannot
// change it: false within 1e-5 of a half.
bool RoundsSurely(double value, uint64_t* rounded) {
  const double whole = std::floor(value);
  const double fraction = value - whole;
  if (std::fabs(fraction - 0.5) < 1e-5) return false;
  *rounded = static_cast<uint64_t>(whole) + (fraction > 0.5 ? 1 : 0);
  return true;
}

// WriteDecimal of a finite nonzero float by double arithmetic, where that decides it. The
// float's value scaled to nine integer digits is off by under 1e-6 (at most three roundings of
// 2^-53 on a number below 1e9), so rounding it (or it / 1000, for six digits) to an integer is
// exact away from halves; the six-digit decimal r x 10^q reads back through one correctly
// rounded double operation (|q| <= 22, r < 2^53: Clinger's fast path), then to float, as a
// client reads it. False at a half, a decade's edge or an extreme exponent, for to_chars and
// from_chars (Ryu's exact printf and a full strtod, ~6x slower) to decide.
bool Float32Decimal(float value, char* buffer, size_t* length) {
  const double magnitude = std::fabs(static_cast<double>(value));
  const auto scaled = [magnitude](int k) {
    if (k >= 0) return k <= 22 ? magnitude * kPowersOfTen[k] : magnitude * 1e22 * kPowersOfTen[k - 22];
    return -k <= 22 ? magnitude / kPowersOfTen[-k] : magnitude / 1e22 / kPowersOfTen[-k - 22];
  };
  int binary_exponent = 0;
  std::frexp(magnitude, &binary_exponent);  // magnitude in [2^(e-1), 2^e)
  // floor(log10(magnitude)) or one less.
  int k = 8 - static_cast<int>(std::floor((binary_exponent - 1) * 0.30102999566398120));
  if (k > 43 || k < -43) return false;  // the table covers |k| <= 44: the tiniest subnormals
  double x = scaled(k);
  if (x >= 1e9) x = scaled(--k);
  if (!(x >= 1e8 && x < 1e9)) return false;
  uint64_t nine = 0;
  uint64_t six = 0;
  if (!RoundsSurely(x, &nine) || !RoundsSurely(x / 1000, &six)) return false;
  char digits[24];
  // Six digits first, if they read back as the same float.
  int exponent = 8 - k;  // of the first digit
  int six_exponent = exponent;
  if (six == 1000000) {
    six = 100000;
    ++six_exponent;
  }
  const int scale = six_exponent - 5;  // the decimal is six x 10^scale
  if (scale > 22 || scale < -22) return false;
  const double back =
      scale >= 0 ? static_cast<double>(six) * kPowersOfTen[scale] : static_cast<double>(six) / kPowersOfTen[-scale];
  if (static_cast<float>(back) == std::fabs(value)) {
    std::to_chars(digits, digits + sizeof digits, six);
    *length = GeneralFromDigits(value < 0, digits, 6, six_exponent, buffer);
    return true;
  }
  if (nine == 1000000000) {
    nine = 100000000;
    ++exponent;
  }
  std::to_chars(digits, digits + sizeof digits, nine);
  *length = GeneralFromDigits(value < 0, digits, 9, exponent, buffer);
  return true;
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
  size_t length = 0;
  if (value != 0 && Float32Decimal(value, buffer, &length)) return WithDecimalPoint(buffer, length);
  const double wide = value;
  if (ShortestDigits(value) > 6) return WithDecimalPoint(buffer, Printf(wide, 9, buffer));
  length = Printf(wide, 6, buffer);
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
