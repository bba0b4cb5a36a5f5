// The native Predict JSON codec (native/codec/): number formatting against printf itself,
// the reader's tensors and the cases it declines, and the writer's layout.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "codec/json_decimal.h"
#include "codec/predict_json.h"

namespace duo {
namespace {

// TF-Serving's WriteDecimal with glibc's printf and strtod: the reference to_chars must match.
template <typename T>
std::string ReferenceDecimal(T value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", static_cast<double>(value));
  const double back = std::strtod(buffer, nullptr);
  if (static_cast<T>(back) != value) {
    std::snprintf(buffer, sizeof buffer, "%.*g", std::numeric_limits<T>::max_digits10, static_cast<double>(value));
  }
  std::string text = buffer;
  if (text.find('.') == std::string::npos && text.find('e') == std::string::npos) text += ".0";
  return text;
}

std::string Float32Text(float value) {
  char buffer[kDecimalBufferSize];
  return {buffer, FormatFloat32(value, buffer)};
}
std::string Float64Text(double value) {
  char buffer[kDecimalBufferSize];
  return {buffer, FormatFloat64(value, buffer)};
}

TEST(JsonDecimalTest, MatchesPrintfOnFixedValues) {
  EXPECT_EQ(Float32Text(0.2f), "0.2");
  EXPECT_EQ(Float32Text(3.0f), "3.0");
  EXPECT_EQ(Float32Text(-0.0f), "-0.0");
  EXPECT_EQ(Float32Text(9000000.0f), "9e+06");
  EXPECT_EQ(Float32Text(0.00003f), "3e-05");
  EXPECT_EQ(Float32Text(1.0f / 3.0f), "0.333333343");
  EXPECT_EQ(Float32Text(NAN), "NaN");
  EXPECT_EQ(Float32Text(-INFINITY), "-Infinity");
  EXPECT_EQ(Float64Text(0.1), "0.1");
  EXPECT_EQ(Float64Text(1.0 / 3.0), "0.33333333333333331");
  EXPECT_EQ(Float64Text(1e300), "1e+300");
  // Exact ties at six digits round to even, as glibc's printf does.
  EXPECT_EQ(Float64Text(1234565.0), "1234565.0");
  EXPECT_EQ(Float64Text(0.5), "0.5");
  EXPECT_EQ(Float32Text(2.5e-5f), ReferenceDecimal(2.5e-5f));
}

TEST(JsonDecimalTest, MatchesPrintfOnRandomBitPatterns) {
  std::mt19937_64 random(20260914);
  for (int i = 0; i < 300000; ++i) {
    const uint64_t bits = random();
    float f;
    const auto low = static_cast<uint32_t>(bits);
    std::memcpy(&f, &low, sizeof f);
    ASSERT_EQ(Float32Text(f), ReferenceDecimal(f)) << "float bits " << low;
    double d;
    std::memcpy(&d, &bits, sizeof d);
    ASSERT_EQ(Float64Text(d), ReferenceDecimal(d)) << "double bits " << bits;
  }
}

// Floats with more than six significant digits take the double-arithmetic %.9g: every float
// of a random sample, and every float near powers of ten (the decade edges).
TEST(JsonDecimalTest, MatchesPrintfOnNineDigitFloats) {
  std::mt19937 random(3);
  for (int i = 0; i < 2000000; ++i) {
    const uint32_t bits = random();
    float f;
    std::memcpy(&f, &bits, sizeof f);
    ASSERT_EQ(Float32Text(f), ReferenceDecimal(f)) << "float bits " << bits;
  }
  for (int e = -45; e <= 38; ++e) {
    float f = std::nextafter(static_cast<float>(std::pow(10.0, e)), 0.0f);
    for (int i = 0; i < 64; ++i, f = std::nextafter(f, INFINITY)) ASSERT_EQ(Float32Text(f), ReferenceDecimal(f)) << f;
  }
}

TEST(JsonDecimalTest, MatchesPrintfOnLargeWholeNumbers) {
  EXPECT_EQ(Float32Text(-744979008.0f), "-7.44979e+08");  // six digits read back; all nine would be the plain form
  std::mt19937 random(11);
  for (int i = 0; i < 200000; ++i) {
    const double value = static_cast<double>(random() % 1000000) * std::pow(10.0, random() % 40);
    ASSERT_EQ(Float64Text(value), ReferenceDecimal(value)) << value;
    const auto single = static_cast<float>(value);
    ASSERT_EQ(Float32Text(single), ReferenceDecimal(single)) << value;
  }
}

TEST(JsonDecimalTest, MatchesPrintfOnShortDecimalsAndTies) {
  std::mt19937 random(7);
  for (int i = 0; i < 200000; ++i) {
    // Few significant digits and halves: where %.6g ties and round-trips happen.
    const double value = std::ldexp(static_cast<double>(random() % 20000001) - 10000000.0, -(random() % 12));
    ASSERT_EQ(Float64Text(value), ReferenceDecimal(value)) << value;
    const auto single = static_cast<float>(value);
    ASSERT_EQ(Float32Text(single), ReferenceDecimal(single)) << value;
  }
}

JsonPredictSpec Spec(std::vector<std::pair<std::string, DType>> inputs) {
  return {"serving_default", {{"serving_default", std::move(inputs)}, {"other", {{"z", DType::kInt32}}}}};
}

// {"inputs": [[1, 1, ... 30000 ones], 1, 1, ... 30000 ones]}: 60 kB for a [30001, 30000] layout.
std::string ShortBodyOfAHugeShape() {
  std::string ones;
  for (int i = 0; i < 30000; ++i) ones += ", 1";
  return R"({"inputs": [[1)" + ones + "]" + ones + "]}";
}

bool Read(const std::string& body, const JsonPredictSpec& spec, JsonPredictRequest* out) {
  return ReadPredictJson(body.data(), body.size(), spec, out);
}

std::vector<float> Floats(const HostTensor& tensor) {
  const auto* data = static_cast<const float*>(tensor.data);
  return {data, data + tensor.NumElements()};
}

TEST(PredictJsonReaderTest, ReadsRowFormatIntoTheSignaturesDtype) {
  JsonPredictRequest request;
  ASSERT_TRUE(Read(R"({"instances": [[1, 2.5], [-0, 1e2]]})", Spec({{"x", DType::kFloat}}), &request));
  EXPECT_EQ(request.signature_name, "serving_default");
  EXPECT_EQ(request.format, JsonPredictFormat::kRow);
  ASSERT_EQ(request.inputs.size(), 1u);
  const HostTensor& x = *request.inputs[0].tensor;
  EXPECT_EQ(x.dtype, DType::kFloat);
  EXPECT_EQ(x.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Floats(x), (std::vector<float>{1, 2.5, 0, 100}));
  EXPECT_TRUE(std::signbit(Floats(x)[2]));  // "-0" keeps its sign, as in JavaScript
  EXPECT_EQ(reinterpret_cast<uintptr_t>(x.data) % kTensorAlignment, 0u);
}

TEST(PredictJsonReaderTest, ReadsNamedInstancesAndColumns) {
  const JsonPredictSpec spec = Spec({{"a", DType::kInt64}, {"b", DType::kBool}});
  JsonPredictRequest row;
  ASSERT_TRUE(Read(R"({"instances": [{"b": true, "a": 9007199254740993}, {"a": -2, "b": false}]})", spec, &row));
  ASSERT_EQ(row.inputs.size(), 2u);
  EXPECT_EQ(static_cast<const int64_t*>(row.inputs[0].tensor->data)[0], 9007199254740993);
  EXPECT_EQ(static_cast<const int64_t*>(row.inputs[0].tensor->data)[1], -2);
  EXPECT_EQ(row.inputs[1].tensor->shape, (std::vector<int64_t>{2}));
  JsonPredictRequest columns;
  ASSERT_TRUE(
      Read(R"({"signature_name": "other", "inputs": {"z": [[1.0, 2e0]], "extra": "ignored"}})", spec, &columns));
  EXPECT_EQ(columns.signature_name, "other");
  EXPECT_EQ(columns.format, JsonPredictFormat::kColumnar);
  EXPECT_EQ(columns.inputs[0].tensor->shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(static_cast<const int32_t*>(columns.inputs[0].tensor->data)[1], 2);
}

TEST(PredictJsonReaderTest, ReadsNanAndInfinityAndInfersAnUnknownDtype) {
  JsonPredictRequest request;
  ASSERT_TRUE(Read(R"({"inputs": [NaN, -Infinity, Inf, -NaN]})", Spec({{"x", DType::kInvalid}}), &request));
  const std::vector<float> values = Floats(*request.inputs[0].tensor);
  EXPECT_TRUE(std::isnan(values[0]) && !std::signbit(values[0]));
  EXPECT_EQ(values[1], -INFINITY);
  EXPECT_EQ(values[2], INFINITY);
  EXPECT_TRUE(std::isnan(values[3]) && !std::signbit(values[3]));  // JavaScript's NaN has no sign
  JsonPredictRequest bools;
  ASSERT_TRUE(Read(R"({"inputs": [[true]]})", Spec({{"x", DType::kInvalid}}), &bools));
  EXPECT_EQ(bools.inputs[0].tensor->dtype, DType::kBool);
}

// Each of these the TypeScript reader either rejects (with TF-Serving's message) or reads in a
// way this one leaves to it; the native reader must decline every one.
TEST(PredictJsonReaderTest, DeclinesWhatTypeScriptReportsOrReads) {
  const JsonPredictSpec one = Spec({{"x", DType::kFloat}});
  const JsonPredictSpec two = Spec({{"a", DType::kFloat}, {"b", DType::kFloat}});
  const std::vector<std::pair<std::string, const JsonPredictSpec*>> declined = {
      {"", &one},
      {"[1]", &one},
      {R"({"instances": [1]} x)", &one},
      {std::string("{\"instances\": [1]}\0 ", 20), &one},  // rapidjson stops at NUL; JavaScript does not
      {R"({"instances": [1], "instances": [2]})", &one},   // duplicate keys: JavaScript keeps the last
      {R"({"instances": []})", &one},
      {R"({"instances": [1], "inputs": [1]})", &one},
      {R"({"signature_name": 1, "instances": [1]})", &one},
      {R"({"signature_name": "missing", "instances": [1]})", &one},
      {R"({"instances": [[1], [1, 2]]})", &one},
      {R"({"instances": [[1], 2]})", &one},
      {R"({"instances": [null]})", &one},
      {R"({"instances": ["a"]})", &one},
      {R"({"instances": [{"b64": "AA=="}]})", &one},
      {R"({"instances": [1e400]})", &one},
      {R"({"instances": [1, 2]})", &two},
      {R"({"instances": [{"a": 1}]})", &two},
      {R"({"instances": [{"a": 1, "b": 2, "c": 3}]})", &two},
      {R"({"instances": [{"a": 1, "a": 2}]})", &two},
      {R"({"inputs": {"a": 1}})", &two},
      {R"({"inputs": {"a": 1, "b": 2, "a": 3}})", &two},
      {R"({"inputs": [1]})", &two},
      {R"({"inputs": {"b64": "AA=="}})", &one},
      {R"({"nothing": 1})", &one},
      {R"({"inputs": [[1, 2], [3]]})", &one},
      // The shape follows first elements: a short body must not allocate what it cannot fill.
      {ShortBodyOfAHugeShape(), &one},
      {R"({"inputs": )" + std::string(255, '[') + "1" + std::string(255, ']') + "}", &one},
      {R"({"inputs": )" + std::string(100000, '[') + "}", &one},
  };
  for (const auto& [body, spec] : declined) {
    JsonPredictRequest request;
    EXPECT_FALSE(Read(body, *spec, &request)) << body.substr(0, 80);
  }
  const JsonPredictSpec ints = Spec({{"x", DType::kInt32}});
  for (const std::string body :
       {R"({"inputs": [1.5]})", R"({"inputs": [2147483648]})", R"({"inputs": [true]})", R"({"inputs": [NaN]})"}) {
    JsonPredictRequest request;
    EXPECT_FALSE(Read(body, ints, &request)) << body;
  }
  const JsonPredictSpec unsigned64 = Spec({{"x", DType::kUInt64}});
  JsonPredictRequest request;
  EXPECT_FALSE(Read(R"({"inputs": [-1]})", unsigned64, &request));
  ASSERT_TRUE(Read(R"({"inputs": [18446744073709551615, -0, 1.5e3]})", unsigned64, &request));
  EXPECT_EQ(static_cast<const uint64_t*>(request.inputs[0].tensor->data)[0], 18446744073709551615ULL);
  EXPECT_EQ(static_cast<const uint64_t*>(request.inputs[0].tensor->data)[2], 1500u);
}

NamedTensor FloatTensor(std::string name, std::vector<int64_t> shape, std::vector<float> values) {
  std::shared_ptr<HostTensor> tensor = HostTensor::Allocate(DType::kFloat, std::move(shape));
  std::memcpy(tensor->data, values.data(), values.size() * sizeof(float));
  return {std::move(name), std::move(tensor)};
}

// The layouts test/server/rest/json/json_tensors_response.test.ts pins for the TypeScript writer.
TEST(PredictJsonWriterTest, WritesPrettyWriterLayout) {
  std::string row;
  ASSERT_TRUE(WritePredictJson({FloatTensor("y", {3}, {2.5, 3, 4.5})}, JsonPredictFormat::kRow, &row));
  EXPECT_EQ(row, "{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}");
  std::string named;
  ASSERT_TRUE(WritePredictJson({FloatTensor("a", {2, 2}, {1, 2, 3, 4}), FloatTensor("b", {2}, {5, 6})},
                               JsonPredictFormat::kRow, &named));
  EXPECT_EQ(named,
            "{\n    \"predictions\": [\n        {\n            \"a\": [1.0, 2.0],\n            \"b\": 5.0\n        },\n"
            "        {\n            \"a\": [3.0, 4.0],\n            \"b\": 6.0\n        }\n    ]\n}");
  std::string columns;
  ASSERT_TRUE(WritePredictJson({FloatTensor("y", {2, 1}, {1, 2})}, JsonPredictFormat::kColumnar, &columns));
  EXPECT_EQ(
      columns,
      "{\n    \"outputs\": [\n        [\n            1.0\n        ],\n        [\n            2.0\n        ]\n    ]\n}");
}

TEST(PredictJsonWriterTest, DeclinesWhatTypeScriptReportsOrWrites) {
  std::string out;
  EXPECT_FALSE(WritePredictJson({}, JsonPredictFormat::kRow, &out));
  EXPECT_FALSE(WritePredictJson({FloatTensor("y", {}, {1})}, JsonPredictFormat::kRow, &out));
  EXPECT_FALSE(
      WritePredictJson({FloatTensor("a", {2}, {1, 2}), FloatTensor("b", {1}, {1})}, JsonPredictFormat::kRow, &out));
  EXPECT_FALSE(WritePredictJson({FloatTensor("a\"b", {1}, {1})}, JsonPredictFormat::kRow, &out));
  auto strings = HostTensor::Allocate(DType::kString, {1});
  EXPECT_FALSE(WritePredictJson({{"s", strings}}, JsonPredictFormat::kColumnar, &out));
}

}  // namespace
}  // namespace duo
