// Just enough JSON writing for Describe(): escaped strings. Numbers, booleans and structure
// are appended by the caller.
#pragma once
#include <string>
#include <string_view>

namespace duo::pytorch {

// Appends `text` as a quoted JSON string (RFC 8259 escapes; bytes >= 0x80 pass through,
// so UTF-8 names stay UTF-8).
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace duo::pytorch
