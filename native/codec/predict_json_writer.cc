// The writing half of predict_json.h (MakeJsonFromTensors, AddTensorValues).
#include <charconv>
#include <cmath>
#include <cstring>

#include "codec/json_decimal.h"
#include "codec/predict_json.h"
#include "codec/pretty_json_writer.h"

namespace duo {
namespace {

float HalfToFloat(uint16_t bits) {
  const float sign = (bits & 0x8000) != 0 ? -1.0f : 1.0f;
  const int exponent = (bits >> 10) & 0x1f;
  const int fraction = bits & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(fraction), -24);
  if (exponent == 0x1f) return fraction != 0 ? NAN : sign * INFINITY;
  return sign * std::ldexp(static_cast<float>(1024 + fraction), exponent - 25);
}

float BFloat16ToFloat(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

// Writes one tensor's elements, in order.
class ElementWriter {
 public:
  ElementWriter(const HostTensor& tensor, PrettyJsonWriter* writer) : tensor_(tensor), writer_(writer) {}

  // Whether the tensor's dtype is written here (and its data is as big as its shape says).
  bool Supported() const {
    const int64_t count = tensor_.NumElements();
    const size_t element = DTypeSize(tensor_.dtype);
    if (count < 0 || element == 0 || tensor_.dtype == DType::kString) return false;
    return tensor_.byte_size >= static_cast<uint64_t>(count) * element;
  }

  void Write(int64_t index) {
    const void* data = tensor_.data;
    switch (tensor_.dtype) {
      case DType::kFloat: return Float32(Load<float>(data, index));
      case DType::kDouble: return Float64(Load<double>(data, index));
      case DType::kHalf: return Float32(HalfToFloat(Load<uint16_t>(data, index)));
      case DType::kBFloat16: return Float32(BFloat16ToFloat(Load<uint16_t>(data, index)));
      case DType::kInt8: return Integer(Load<int8_t>(data, index));
      case DType::kUInt8: return Integer(Load<uint8_t>(data, index));
      case DType::kInt16: return Integer(Load<int16_t>(data, index));
      case DType::kUInt16: return Integer(Load<uint16_t>(data, index));
      case DType::kInt32: return Integer(Load<int32_t>(data, index));
      case DType::kUInt32: return Integer(Load<uint32_t>(data, index));
      case DType::kInt64: return Integer(Load<int64_t>(data, index));
      case DType::kUInt64: return Integer(Load<uint64_t>(data, index));
      case DType::kBool: return writer_->Raw(Load<uint8_t>(data, index) != 0 ? "true" : "false");
      case DType::kComplex64:
        return Pair(Load<float>(data, 2 * index), Load<float>(data, 2 * index + 1), &ElementWriter::Float32);
      case DType::kComplex128:
        return Pair(Load<double>(data, 2 * index), Load<double>(data, 2 * index + 1), &ElementWriter::Float64);
      case DType::kString:
      case DType::kInvalid: return;
    }
  }

 private:
  template <typename T>
  static T Load(const void* data, int64_t index) {
    T value;
    std::memcpy(&value, static_cast<const char*>(data) + index * sizeof(T), sizeof(T));
    return value;
  }
  void Float32(float value) { writer_->Raw({buffer_, FormatFloat32(value, buffer_)}); }
  void Float64(double value) { writer_->Raw({buffer_, FormatFloat64(value, buffer_)}); }
  template <typename T>
  void Integer(T value) {
    writer_->Raw({buffer_, static_cast<size_t>(std::to_chars(buffer_, buffer_ + sizeof buffer_, value).ptr - buffer_)});
  }
  template <typename T>
  void Pair(T real, T imaginary, void (ElementWriter::*write)(T)) {
    writer_->StartArray();
    (this->*write)(real);
    (this->*write)(imaginary);
    writer_->EndArray();
  }

  const HostTensor& tensor_;
  PrettyJsonWriter* writer_;
  char buffer_[kDecimalBufferSize];
};

// The sub-tensor at dimension `dim` from element `*offset` (AddTensorValues).
void WriteValues(const HostTensor& tensor, ElementWriter* elements, PrettyJsonWriter* writer, size_t dim,
                 int64_t* offset) {
  const size_t rank = tensor.shape.size();
  if (dim >= rank) {
    elements->Write((*offset)++);
    return;
  }
  writer->StartArray();
  const int64_t size = tensor.shape[dim];
  if (dim == rank - 1) {
    for (int64_t i = 0; i < size; ++i) elements->Write((*offset)++);
  } else {
    for (int64_t i = 0; i < size; ++i) WriteValues(tensor, elements, writer, dim + 1, offset);
  }
  writer->EndArray();
}

// An alias written as is: ASCII that needs no escape.
bool IsPlainKey(const std::string& alias) {
  for (const char c : alias) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

bool WritePredictJson(const std::vector<NamedTensor>& outputs, JsonPredictFormat format, std::string* out) {
  if (outputs.empty()) return false;  // "Cannot convert empty tensor map to JSON"
  std::vector<ElementWriter> elements;
  PrettyJsonWriter writer(out);
  elements.reserve(outputs.size());
  size_t values = 0;
  for (const NamedTensor& output : outputs) {
    if (output.tensor == nullptr || !IsPlainKey(output.name)) return false;
    elements.emplace_back(*output.tensor, &writer);
    if (!elements.back().Supported()) return false;
    values += static_cast<size_t>(output.tensor->NumElements());
  }
  out->reserve(out->size() + 16 * values + 64);
  const bool named = outputs.size() > 1;
  writer.StartObject();
  if (format == JsonPredictFormat::kColumnar) {
    writer.PlainString("outputs");
    if (named) writer.StartObject();
    for (size_t k = 0; k < outputs.size(); ++k) {
      if (named) writer.PlainString(outputs[k].name);
      int64_t offset = 0;
      WriteValues(*outputs[k].tensor, &elements[k], &writer, 0, &offset);
    }
    if (named) writer.EndObject();
    writer.EndObject();
    return true;
  }
  int64_t batch_size = -1;
  for (const NamedTensor& output : outputs) {
    // "has no shape information" / "has inconsistent batch size": TypeScript's to report.
    if (output.tensor->shape.empty()) return false;
    if (batch_size >= 0 && output.tensor->shape[0] != batch_size) return false;
    batch_size = output.tensor->shape[0];
  }
  writer.PlainString("predictions");
  writer.StartArray();
  std::vector<int64_t> offsets(outputs.size(), 0);
  for (int64_t item = 0; item < batch_size; ++item) {
    if (named) writer.StartObject();
    writer.single_line_arrays = true;
    for (size_t k = 0; k < outputs.size(); ++k) {
      if (named) writer.PlainString(outputs[k].name);
      WriteValues(*outputs[k].tensor, &elements[k], &writer, 1, &offsets[k]);
    }
    writer.single_line_arrays = false;
    if (named) writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return true;
}

}  // namespace duo
