#include "codec/pretty_json_writer.h"

namespace duo {

void PrettyJsonWriter::PlainString(std::string_view text) {
  Prefix();
  out_->push_back('"');
  out_->append(text);
  out_->push_back('"');
}

void PrettyJsonWriter::Open(char bracket, bool in_array) {
  Prefix();
  levels_.push_back({in_array, 0});
  out_->push_back(bracket);
}

void PrettyJsonWriter::Close(char bracket, bool newline) {
  const Level level = levels_.back();
  levels_.pop_back();
  if (level.count > 0 && newline) {
    out_->push_back('\n');
    Indent();
  }
  out_->push_back(bracket);
}

void PrettyJsonWriter::Indent() { out_->append(4 * levels_.size(), ' '); }

void PrettyJsonWriter::Prefix() {
  if (levels_.empty()) return;
  Level& level = levels_.back();
  if (level.in_array && single_line_arrays) {
    if (level.count > 0) out_->append(", ");
  } else if (!level.in_array && level.count % 2 == 1) {
    out_->append(": ");
  } else {
    if (level.count > 0) out_->push_back(',');
    out_->push_back('\n');
    Indent();
  }
  ++level.count;
}

}  // namespace duo
