// The reading half of predict_json.h (FillPredictRequestFromJson), mirroring
// src/server/rest/json/json_tensors_request.ts and json_tensors.ts rule for rule; wherever
// those throw, this declines.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include <rapidjson/error/error.h>
#include <rapidjson/reader.h>

#include "codec/predict_json.h"

namespace duo {
namespace {

// One JSON value of the document, in a flat pre-order array. Object members are a key node
// followed by the value's subtree.
struct Node {
  enum Kind : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject } kind;
  uint32_t subtree = 1;  // nodes in this value's subtree, itself included
  uint32_t count = 0;    // elements of an array, members of an object
  uint32_t text = 0;     // kNumber, kString: offset of the text in the document's text
  uint32_t length = 0;
};

struct Document {
  std::vector<Node> nodes;
  std::string text;  // the body, parsed in place: strings unescaped in it, numbers as written

  std::string_view Text(const Node& node) const { return {text.data() + node.text, node.length}; }
  // The first child (element, or first member's key) of the container at `index`.
  static uint32_t FirstChild(uint32_t index) { return index + 1; }
  uint32_t Next(uint32_t index) const { return index + nodes[index].subtree; }
};

// rapidjson's SAX events into a Document. Numbers arrive as their text
// (kParseNumbersAsStringsFlag), so "-0" keeps its sign and integers their every digit.
class DocumentBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DocumentBuilder> {
 public:
  explicit DocumentBuilder(Document* document) : document_(document) {}

  bool Null() { return Leaf(Node::kNull); }
  bool Bool(bool value) { return Leaf(value ? Node::kTrue : Node::kFalse); }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) { return Text(Node::kNumber, text, length); }
  bool String(const char* text, rapidjson::SizeType length, bool) { return Text(Node::kString, text, length); }
  bool Key(const char* text, rapidjson::SizeType length, bool) { return Text(Node::kString, text, length); }
  bool StartObject() { return Open(Node::kObject); }
  bool EndObject(rapidjson::SizeType members) { return Close(members); }
  bool StartArray() { return Open(Node::kArray); }
  bool EndArray(rapidjson::SizeType elements) { return Close(elements); }

 private:
  bool Leaf(Node::Kind kind) {
    if (document_->nodes.size() >= std::numeric_limits<uint32_t>::max()) return false;
    document_->nodes.push_back({kind});
    return true;
  }
  bool Text(Node::Kind kind, const char* text, rapidjson::SizeType length) {
    if (!Leaf(kind)) return false;
    Node& node = document_->nodes.back();
    node.text = static_cast<uint32_t>(text - document_->text.data());
    node.length = length;
    return true;
  }
  bool Open(Node::Kind kind) {
    open_.push_back(static_cast<uint32_t>(document_->nodes.size()));
    return Leaf(kind);
  }
  bool Close(rapidjson::SizeType count) {
    Node& node = document_->nodes[open_.back()];
    node.subtree = static_cast<uint32_t>(document_->nodes.size() - open_.back());
    node.count = count;
    open_.pop_back();
    return true;
  }

  Document* document_;
  std::vector<uint32_t> open_;
};

// The same flags as TF-Serving and src/tensors/json_parse.ts, iterative so that deep nesting
// cannot exhaust a worker thread's stack; in place (a copy of the body), so that no text is
// copied again.
constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseNanAndInfFlag |
                                 rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseInsituFlag;

bool Parse(const char* body, size_t size, Document* document) {
  if (size >= std::numeric_limits<uint32_t>::max()) return false;
  // A JSON value takes at least one byte; a number also its text: a bound, not an estimate.
  document->nodes.reserve(std::min<size_t>(size / 2 + 1, 1 << 20));
  document->text.assign(body, size);  // NUL-terminated, as the in-place stream needs
  rapidjson::InsituStringStream stream(document->text.data());
  DocumentBuilder builder(document);
  rapidjson::Reader reader;
  // rapidjson stops at a NUL byte as at the end; JavaScript reads on (and finds an error).
  return !reader.Parse<kParseFlags>(stream, builder).IsError() && stream.Tell() == size;
}

// The member of an object named `key`; 0 when there is none. Sets *duplicated when the key
// occurs twice (JavaScript's reading keeps the last; this reader declines instead).
uint32_t Member(const Document& document, uint32_t object, std::string_view key, bool* duplicated) {
  uint32_t found = 0;
  uint32_t child = Document::FirstChild(object);
  for (uint32_t i = 0; i < document.nodes[object].count; ++i) {
    const uint32_t value = child + 1;
    if (document.Text(document.nodes[child]) == key) {
      if (found != 0) *duplicated = true;
      found = value;
    }
    child = document.Next(value);
  }
  return found;
}

bool HasDuplicateKeys(const Document& document, uint32_t object) {
  std::vector<std::string_view> keys;
  uint32_t child = Document::FirstChild(object);
  for (uint32_t i = 0; i < document.nodes[object].count; ++i) {
    keys.push_back(document.Text(document.nodes[child]));
    child = document.Next(child + 1);
  }
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

// {"b64": "..."}: binary data, which only DT_STRING inputs take.
bool IsBase64Object(const Document& document, uint32_t index) {
  const Node& node = document.nodes[index];
  return node.kind == Node::kObject && node.count == 1 && document.Text(document.nodes[index + 1]) == "b64" &&
         document.nodes[index + 2].kind == Node::kString;
}

// A JSON number's text as a double, as JavaScript's Number() reads it; false when it would
// not be finite where the text is a fraction or exponent (json_parse.ts's "Number too big").
bool NumberValue(std::string_view text, double* value) {
  const bool negative = !text.empty() && text[0] == '-';
  const std::string_view unsigned_text = text.substr(negative ? 1 : 0);
  if (!unsigned_text.empty() && unsigned_text[0] == 'N') {
    *value = std::numeric_limits<double>::quiet_NaN();  // "-NaN" is NaN too
    return true;
  }
  if (!unsigned_text.empty() && unsigned_text[0] == 'I') {
    *value = negative ? -INFINITY : INFINITY;
    return true;
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  if (end != text.data() + text.size()) return false;
  if (error == std::errc::result_out_of_range) {
    // from_chars leaves an underflow (1e-400 reads as 0 in JavaScript) unset: strtod rounds it.
    const std::string terminated(text);
    *value = std::strtod(terminated.c_str(), nullptr);
  } else if (error != std::errc()) {
    return false;
  }
  return std::isfinite(*value);
}

bool IsIntegerLiteral(std::string_view text) { return text.find_first_of(".eEIN") == std::string_view::npos; }

// Fills a HostTensor with scalars converted to its dtype (json_tensors.ts storageFor).
class TensorFiller {
 public:
  TensorFiller(const Document& document, HostTensor* tensor) : document_(document), tensor_(tensor) {}

  bool Store(int64_t index, uint32_t scalar) {
    const Node& node = document_.nodes[scalar];
    switch (tensor_->dtype) {
      case DType::kBool:
        if (node.kind != Node::kTrue && node.kind != Node::kFalse) return false;
        return Put<uint8_t>(index, node.kind == Node::kTrue ? 1 : 0);
      case DType::kFloat:
      case DType::kDouble: {
        double value = 0;
        if (node.kind != Node::kNumber || !NumberValue(document_.Text(node), &value)) return false;
        return tensor_->dtype == DType::kFloat ? Put<float>(index, static_cast<float>(value)) : Put(index, value);
      }
      case DType::kInt8: return SmallInteger<int8_t>(index, node);
      case DType::kUInt8: return SmallInteger<uint8_t>(index, node);
      case DType::kInt16: return SmallInteger<int16_t>(index, node);
      case DType::kUInt16: return SmallInteger<uint16_t>(index, node);
      case DType::kInt32: return SmallInteger<int32_t>(index, node);
      case DType::kUInt32: return SmallInteger<uint32_t>(index, node);
      case DType::kInt64: return Integer64<int64_t>(index, node);
      case DType::kUInt64: return Integer64<uint64_t>(index, node);
      default: return false;
    }
  }

 private:
  template <typename T>
  bool Put(int64_t index, T value) {
    std::memcpy(static_cast<char*>(tensor_->data) + index * sizeof(T), &value, sizeof(T));
    return true;
  }

  // JavaScript numbers that are whole and in range ("1.0" and "1e2" are; an integer literal
  // beyond 2^53, a bigint there, never is: it is out of range anyway).
  template <typename T>
  bool SmallInteger(int64_t index, const Node& node) {
    double value = 0;
    if (node.kind != Node::kNumber || !NumberValue(document_.Text(node), &value)) return false;
    if (!(value >= std::numeric_limits<T>::min() && value <= std::numeric_limits<T>::max())) return false;
    if (std::trunc(value) != value) return false;
    return Put<T>(index, static_cast<T>(value));
  }

  // Integer literals exactly; other numbers when their double is whole and in range.
  template <typename T>
  bool Integer64(int64_t index, const Node& node) {
    if (node.kind != Node::kNumber) return false;
    const std::string_view text = document_.Text(node);
    if (IsIntegerLiteral(text)) {
      if (text == "-0") return Put<T>(index, 0);
      T value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error != std::errc() || end != text.data() + text.size()) return false;
      return Put(index, value);
    }
    double value = 0;
    if (!NumberValue(text, &value) || std::trunc(value) != value) return false;
    // [min, 2^63) or [0, 2^64): both bounds are exact doubles.
    const double upper = std::is_signed_v<T> ? 9223372036854775808.0 : 18446744073709551616.0;
    if (!(value >= static_cast<double>(std::numeric_limits<T>::min()) && value < upper)) return false;
    return Put<T>(index, static_cast<T>(value));
  }

  const Document& document_;
  HostTensor* tensor_;
};

constexpr size_t kMaxRank = kMaxDims;

// The shape the nesting implies, following first elements (jsonShape); false past max_rank.
bool JsonShape(const Document& document, uint32_t value, size_t max_rank, std::vector<int64_t>* shape) {
  shape->clear();
  uint32_t level = value;
  while (document.nodes[level].kind == Node::kArray) {
    if (shape->size() == max_rank) return false;
    shape->push_back(document.nodes[level].count);
    if (document.nodes[level].count == 0) break;
    level = Document::FirstChild(level);
  }
  return true;
}

// Whether a tensor of `shape` may fill from the document: each element takes a node. The
// shape follows first elements only, so a short body could otherwise ask for any size.
bool Fits(const Document& document, const std::vector<int64_t>& shape) {
  const int64_t elements = ShapeNumElements(shape);
  return elements >= 0 && static_cast<uint64_t>(elements) <= document.nodes.size();
}

// The dtype of an input whose signature says none: the kind of its first scalar.
DType InferDType(const Document& document, uint32_t value) {
  uint32_t first = value;
  while (document.nodes[first].kind == Node::kArray && document.nodes[first].count > 0) first = first + 1;
  const Node::Kind kind = document.nodes[first].kind;
  if (kind == Node::kTrue || kind == Node::kFalse) return DType::kBool;
  if (kind == Node::kString || kind == Node::kObject) return DType::kString;
  return DType::kFloat;
}

// Writes the scalars of `value` from element *next on, checking the nesting (fillValues).
bool FillValues(const Document& document, uint32_t value, const std::vector<int64_t>& layout, size_t level,
                TensorFiller* filler, int64_t* next) {
  const Node& node = document.nodes[value];
  if (node.kind != Node::kArray) {
    if (level != layout.size()) return false;
    return filler->Store((*next)++, value);
  }
  if (level >= layout.size() || node.count != layout[level]) return false;
  uint32_t child = Document::FirstChild(value);
  for (uint32_t i = 0; i < node.count; ++i) {
    if (!FillValues(document, child, layout, level + 1, filler, next)) return false;
    child = document.Next(child);
  }
  return true;
}

// The dtypes this reader converts to; others are TypeScript's (or its error).
bool ReadsDType(DType dtype) {
  switch (dtype) {
    case DType::kFloat:
    case DType::kDouble:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
    case DType::kUInt16:
    case DType::kInt32:
    case DType::kUInt32:
    case DType::kInt64:
    case DType::kUInt64:
    case DType::kBool: return true;
    default: return false;
  }
}

DType Resolve(const Document& document, uint32_t value, DType dtype) {
  return dtype == DType::kInvalid ? InferDType(document, value) : dtype;
}

// A whole tensor from its JSON value (the columnar format; tensorFromJson).
bool TensorFromJson(const Document& document, uint32_t value, DType spec_dtype, HostTensorPtr* out) {
  const DType dtype = Resolve(document, value, spec_dtype);
  if (!ReadsDType(dtype)) return false;
  std::vector<int64_t> layout;
  if (!JsonShape(document, value, kMaxRank, &layout)) return false;
  if (!Fits(document, layout)) return false;
  std::shared_ptr<HostTensor> tensor = HostTensor::Allocate(dtype, layout);
  TensorFiller filler(document, tensor.get());
  int64_t next = 0;
  if (!FillValues(document, value, layout, 0, &filler, &next)) return false;
  *out = std::move(tensor);
  return true;
}

using SignatureInputs = std::vector<std::pair<std::string, DType>>;

// "instances": each instance a value/list (one input) or an object of named values, each
// input's instances of one shape, stacked along a new dimension 0 (InstanceBatch).
bool InputsFromInstances(const Document& document, uint32_t instances, const SignatureInputs& specs,
                         std::vector<NamedTensor>* out) {
  const uint32_t count = document.nodes[instances].count;
  const uint32_t first = Document::FirstChild(instances);
  const bool named_values = document.nodes[first].kind == Node::kObject;
  // A lone {"b64": ...} instance is a value of a DT_STRING input: TypeScript's.
  if (named_values && IsBase64Object(document, first)) return false;
  if (!named_values && specs.size() != 1) return false;
  struct Batch {
    std::vector<int64_t> layout;
    std::shared_ptr<HostTensor> tensor;
    int64_t instance_size = 0;
    int64_t added = 0;
  };
  std::vector<Batch> batches(specs.size());
  std::vector<int64_t> layout;
  auto add = [&](size_t k, uint32_t value) {
    Batch& batch = batches[k];
    if (!JsonShape(document, value, kMaxRank - 1, &layout)) return false;
    if (batch.tensor == nullptr) {
      const DType dtype = Resolve(document, value, specs[k].second);
      if (!ReadsDType(dtype)) return false;
      batch.layout = layout;
      batch.instance_size = ShapeNumElements(layout);
      std::vector<int64_t> shape{count};
      shape.insert(shape.end(), layout.begin(), layout.end());
      if (!Fits(document, shape)) return false;
      batch.tensor = HostTensor::Allocate(dtype, std::move(shape));
    }
    if (layout != batch.layout) return false;
    TensorFiller filler(document, batch.tensor.get());
    int64_t next = batch.added * batch.instance_size;
    if (!FillValues(document, value, layout, 0, &filler, &next)) return false;
    ++batch.added;
    return true;
  };
  uint32_t instance = first;
  for (uint32_t i = 0; i < count; ++i, instance = document.Next(instance)) {
    const Node& node = document.nodes[instance];
    if (!named_values) {
      if (node.kind == Node::kObject || !add(0, instance)) return false;
      continue;
    }
    // Each instance an object with exactly the signature's aliases, each once.
    if (node.kind != Node::kObject || node.count != specs.size() || IsBase64Object(document, instance)) return false;
    bool duplicated = false;
    for (size_t k = 0; k < specs.size(); ++k) {
      const uint32_t value = Member(document, instance, specs[k].first, &duplicated);
      if (value == 0 || duplicated || !add(k, value)) return false;
    }
  }
  for (size_t k = 0; k < specs.size(); ++k) out->push_back({specs[k].first, std::move(batches[k].tensor)});
  return true;
}

// "inputs": one tensor (a value or list) or an object of named tensors.
bool InputsFromColumns(const Document& document, uint32_t value, const SignatureInputs& specs,
                       std::vector<NamedTensor>* out) {
  if (document.nodes[value].kind != Node::kObject) {
    if (specs.size() != 1) return false;
    HostTensorPtr tensor;
    if (!TensorFromJson(document, value, specs[0].second, &tensor)) return false;
    out->push_back({specs[0].first, std::move(tensor)});
    return true;
  }
  if (IsBase64Object(document, value) || HasDuplicateKeys(document, value)) return false;
  for (const auto& [alias, dtype] : specs) {
    bool duplicated = false;
    const uint32_t member = Member(document, value, alias, &duplicated);
    HostTensorPtr tensor;
    if (member == 0 || !TensorFromJson(document, member, dtype, &tensor)) return false;
    out->push_back({alias, std::move(tensor)});
  }
  return true;
}

}  // namespace

bool ReadPredictJson(const char* body, size_t size, const JsonPredictSpec& spec, JsonPredictRequest* out) {
  Document document;
  if (size == 0 || !Parse(body, size, &document)) return false;
  constexpr uint32_t kRoot = 0;
  if (document.nodes[kRoot].kind != Node::kObject || HasDuplicateKeys(document, kRoot)) return false;
  bool duplicated = false;
  const uint32_t name = Member(document, kRoot, "signature_name", &duplicated);
  if (name != 0 && document.nodes[name].kind != Node::kString) return false;
  out->signature_name = name != 0 ? std::string(document.Text(document.nodes[name])) : std::string();
  if (out->signature_name.empty()) out->signature_name = spec.default_signature;
  const JsonSignatureInputs* signature = nullptr;
  for (const JsonSignatureInputs& candidate : spec.signatures) {
    if (candidate.name == out->signature_name) signature = &candidate;
  }
  if (signature == nullptr || signature->inputs.empty()) return false;
  const uint32_t instances = Member(document, kRoot, "instances", &duplicated);
  const uint32_t inputs = Member(document, kRoot, "inputs", &duplicated);
  if (instances != 0) {
    if (inputs != 0 || document.nodes[instances].kind != Node::kArray || document.nodes[instances].count == 0) {
      return false;
    }
    out->format = JsonPredictFormat::kRow;
    return InputsFromInstances(document, instances, signature->inputs, &out->inputs);
  }
  if (inputs == 0) return false;
  out->format = JsonPredictFormat::kColumnar;
  return InputsFromColumns(document, inputs, signature->inputs, &out->inputs);
}

}  // namespace duo
