// JSON text laid out exactly as rapidjson's PrettyWriter (4-space indent), which TF-Serving's
// REST responses are written with; `single_line_arrays` is kFormatSingleLineArray: arrays
// written while it is set stay on one line. Numbers arrive as ready-made tokens.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace duo {

class PrettyJsonWriter {
 public:
  explicit PrettyJsonWriter(std::string* out) : out_(out) {}

  bool single_line_arrays = false;

  void StartObject() { Open('{', false); }
  void EndObject() { Close('}', true); }
  void StartArray() { Open('[', true); }
  void EndArray() { Close(']', !single_line_arrays); }
  // A key or a string value: plain ASCII text without characters JSON escapes.
  void PlainString(std::string_view text);
  // A number or literal token, written as given.
  void Raw(std::string_view token) {
    Prefix();
    out_->append(token);
  }

 private:
  struct Level {
    bool in_array;
    size_t count;
  };
  void Open(char bracket, bool in_array);
  void Close(char bracket, bool newline);
  void Prefix();
  void Indent();

  std::string* out_;
  std::vector<Level> levels_;
};

}  // namespace duo
