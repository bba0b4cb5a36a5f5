#include "common/tensor_proto.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <protozero/pbf_writer.hpp>

namespace duo {
namespace {

// Wire bytes as protobuf serializes them (checked once against python's
// tensorflow.core.framework.tensor_pb2 SerializeToString(), which TF-Serving's C++ matches).
std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string text;
  for (unsigned char c : bytes) {
    text += digits[c >> 4];
    text += digits[c & 15];
  }
  return text;
}

std::string Unhex(const std::string& text) {
  std::string bytes;
  for (size_t i = 0; i + 1 < text.size(); i += 2) bytes += static_cast<char>(std::stoi(text.substr(i, 2), nullptr, 16));
  return bytes;
}

Status Decode(const std::string& bytes, HostTensorPtr* out) {
  return DecodeTensorProto(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out);
}

HostTensorPtr MustDecode(const std::string& bytes) {
  HostTensorPtr tensor;
  Status status = Decode(bytes, &tensor);
  EXPECT_TRUE(status.ok()) << status.message;
  return tensor;
}

std::string Encode(const HostTensor& tensor, ProtoEncoding encoding) {
  std::string out;
  EncodeTensorProto(tensor, encoding, &out);
  return out;
}

template <typename T>
std::shared_ptr<HostTensor> MakeTensor(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  auto tensor = HostTensor::Allocate(dtype, std::move(shape));
  EXPECT_EQ(tensor->byte_size, values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(tensor->data, values.data(), tensor->byte_size);
  return tensor;
}

template <typename T>
std::vector<T> Values(const HostTensor& tensor) {
  std::vector<T> values(tensor.byte_size / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), tensor.data, tensor.byte_size);
  return values;
}

// A TensorProto header written field by field, for inputs the encoder never produces.
struct ProtoBuilder {
  std::string bytes;
  protozero::pbf_writer writer{bytes};

  ProtoBuilder(int32_t dtype, const std::vector<int64_t>& shape) {
    writer.add_enum(1, dtype);
    std::string shape_bytes;
    protozero::pbf_writer shape_writer(shape_bytes);
    for (int64_t size : shape) {
      std::string dim;
      protozero::pbf_writer(dim).add_int64(1, size);
      shape_writer.add_message(2, dim);
    }
    writer.add_message(2, shape_bytes);
  }
};

void ExpectInvalid(const std::string& bytes, const std::string& message_part) {
  HostTensorPtr tensor;
  Status status = Decode(bytes, &tensor);
  EXPECT_EQ(status.code, Code::kInvalidArgument) << status.message;
  EXPECT_NE(status.message.find(message_part), std::string::npos) << status.message;
  EXPECT_EQ(tensor, nullptr);
}

// --- exact wire form -------------------------------------------------------------------------

TEST(EncodeTensorProtoTest, TypedFieldsMatchTensorFlowBytes) {
  EXPECT_EQ(Hex(Encode(*MakeTensor<float>(DType::kFloat, {2}, {1.5f, -2.0f}), ProtoEncoding::kTypedFields)),
            "08011204120208022a080000c03f000000c0");
  EXPECT_EQ(Hex(Encode(*MakeTensor<int32_t>(DType::kInt32, {2}, {-1, 300}), ProtoEncoding::kTypedFields)),
            "08031204120208023a0cffffffffffffffffff01ac02");
  EXPECT_EQ(Hex(Encode(*MakeTensor<int64_t>(DType::kInt64, {}, {5}), ProtoEncoding::kTypedFields)), "08091200520105");
  EXPECT_EQ(Hex(Encode(*MakeTensor<float>(DType::kFloat, {0, 3}, {}), ProtoEncoding::kTypedFields)),
            "08011206120012020803");
  EXPECT_EQ(Hex(Encode(*MakeTensor<uint8_t>(DType::kBool, {3}, {1, 0, 1}), ProtoEncoding::kTypedFields)),
            "080a1204120208035a03010001");
  EXPECT_EQ(Hex(Encode(*MakeTensor<uint16_t>(DType::kHalf, {2}, {0x3c00, 0xc000}), ProtoEncoding::kTypedFields)),
            "08131204120208026a058078808003");
  EXPECT_EQ(Hex(Encode(*MakeTensor<uint64_t>(DType::kUInt64, {1}, {~uint64_t{0}}), ProtoEncoding::kTypedFields)),
            "08171204120208018a010affffffffffffffffff01");
  EXPECT_EQ(Hex(Encode(*MakeTensor<float>(DType::kComplex64, {1}, {1.0f, -1.0f}), ProtoEncoding::kTypedFields)),
            "08081204120208014a080000803f000080bf");
}

TEST(EncodeTensorProtoTest, TensorContentMatchesTensorFlowBytes) {
  EXPECT_EQ(Hex(Encode(*MakeTensor<float>(DType::kFloat, {2}, {1.5f, -2.0f}), ProtoEncoding::kTensorContent)),
            "080112041202080222080000c03f000000c0");
}

TEST(EncodeTensorProtoTest, StringsUseStringValInBothEncodings) {
  auto tensor = HostTensor::Allocate(DType::kString, {2});
  tensor->strings = {"ab", ""};
  EXPECT_EQ(Hex(Encode(*tensor, ProtoEncoding::kTypedFields)), "0807120412020802420261624200");
  EXPECT_EQ(Hex(Encode(*tensor, ProtoEncoding::kTensorContent)), "0807120412020802420261624200");
}

TEST(DecodeTensorProtoTest, DecodesMakeTensorProtoOutput) {
  // tf.make_tensor_proto(np.array([[1,2],[3,4]], np.float32))
  auto matrix = MustDecode(Unhex("08011208120208021202080222100000803f000000400000404000008040"));
  EXPECT_EQ(matrix->dtype, DType::kFloat);
  EXPECT_EQ(matrix->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values<float>(*matrix), (std::vector<float>{1, 2, 3, 4}));
  // tf.make_tensor_proto(7.0, shape=[2,3]): one float_val broadcast to all six elements
  auto broadcast = MustDecode(Unhex("0801120812020802120208032a040000e040"));
  EXPECT_EQ(broadcast->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values<float>(*broadcast), std::vector<float>(6, 7.0f));
  // tf.make_tensor_proto([b'x', b'yz'])
  auto strings = MustDecode(Unhex("08071204120208024201784202797a"));
  EXPECT_EQ(strings->dtype, DType::kString);
  EXPECT_EQ(strings->strings, (std::vector<std::string>{"x", "yz"}));
}

// --- round trips -----------------------------------------------------------------------------

struct DTypeCase {
  DType dtype;
  std::vector<uint8_t> element_bytes;  // three elements' worth, distinct and non-zero
};

// Values chosen so each element's wire form differs: negative ints, bits with the top set.
std::vector<DTypeCase> AllNumericDTypes() {
  auto bytes_of = [](auto... values) {
    std::vector<uint8_t> out;
    (([&] {
       const auto* p = reinterpret_cast<const uint8_t*>(&values);
       out.insert(out.end(), p, p + sizeof(values));
     }()),
     ...);
    return out;
  };
  return {
      {DType::kFloat, bytes_of(1.5f, -0.25f, 3e38f)},
      {DType::kDouble, bytes_of(1.5, -1e300, 0.1)},
      {DType::kInt32, bytes_of(int32_t{-7}, int32_t{1} << 30, int32_t{0})},
      {DType::kUInt8, bytes_of(uint8_t{255}, uint8_t{0}, uint8_t{128})},
      {DType::kInt16, bytes_of(int16_t{-32768}, int16_t{32767}, int16_t{-1})},
      {DType::kInt8, bytes_of(int8_t{-128}, int8_t{127}, int8_t{-1})},
      {DType::kComplex64, bytes_of(1.0f, -2.0f, 3.5f, 0.0f, -0.5f, 8.0f)},
      {DType::kInt64, bytes_of(int64_t{-1}, int64_t{1} << 62, int64_t{42})},
      {DType::kBool, bytes_of(uint8_t{1}, uint8_t{0}, uint8_t{1})},
      {DType::kBFloat16, bytes_of(uint16_t{0x3f80}, uint16_t{0xbf80}, uint16_t{0xffff})},
      {DType::kUInt16, bytes_of(uint16_t{65535}, uint16_t{0}, uint16_t{1234})},
      {DType::kComplex128, bytes_of(1.0, -2.0, 3.5, 0.0, -0.5, 8.0)},
      {DType::kHalf, bytes_of(uint16_t{0x3c00}, uint16_t{0xfbff}, uint16_t{0x8001})},
      {DType::kUInt32, bytes_of(uint32_t{0xffffffff}, uint32_t{0}, uint32_t{1} << 31)},
      {DType::kUInt64, bytes_of(~uint64_t{0}, uint64_t{0}, uint64_t{1} << 63)},
  };
}

TEST(TensorProtoRoundTripTest, EveryNumericDTypeInBothEncodings) {
  for (const DTypeCase& c : AllNumericDTypes()) {
    for (ProtoEncoding encoding : {ProtoEncoding::kTypedFields, ProtoEncoding::kTensorContent}) {
      SCOPED_TRACE(std::string(DTypeName(c.dtype)) +
                   (encoding == ProtoEncoding::kTypedFields ? " fields" : " content"));
      auto tensor = MakeTensor<uint8_t>(c.dtype, {1, 3}, c.element_bytes);
      const std::string bytes = Encode(*tensor, encoding);
      auto decoded = MustDecode(bytes);
      ASSERT_NE(decoded, nullptr);
      EXPECT_EQ(decoded->dtype, c.dtype);
      EXPECT_EQ(decoded->shape, (std::vector<int64_t>{1, 3}));
      EXPECT_EQ(Values<uint8_t>(*decoded), c.element_bytes);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(decoded->data) % kTensorAlignment, 0u);
      // The content encoding carries the memory as is.
      if (encoding == ProtoEncoding::kTensorContent) {
        const std::string raw(c.element_bytes.begin(), c.element_bytes.end());
        EXPECT_NE(bytes.find(raw), std::string::npos);
      }
    }
  }
}

TEST(TensorProtoRoundTripTest, EmptyAndScalarTensors) {
  for (ProtoEncoding encoding : {ProtoEncoding::kTypedFields, ProtoEncoding::kTensorContent}) {
    auto empty = MustDecode(Encode(*HostTensor::Allocate(DType::kInt64, {3, 0}), encoding));
    EXPECT_EQ(empty->shape, (std::vector<int64_t>{3, 0}));
    EXPECT_EQ(empty->byte_size, 0u);
    auto scalar = MustDecode(Encode(*MakeTensor<double>(DType::kDouble, {}, {-3.25}), encoding));
    EXPECT_TRUE(scalar->shape.empty());
    EXPECT_EQ(Values<double>(*scalar), (std::vector<double>{-3.25}));
  }
}

TEST(TensorProtoRoundTripTest, Strings) {
  auto tensor = HostTensor::Allocate(DType::kString, {3, 1});
  tensor->strings = {"hello", "", std::string("\0\xff\x01", 3)};
  for (ProtoEncoding encoding : {ProtoEncoding::kTypedFields, ProtoEncoding::kTensorContent}) {
    auto decoded = MustDecode(Encode(*tensor, encoding));
    EXPECT_EQ(decoded->dtype, DType::kString);
    EXPECT_EQ(decoded->shape, (std::vector<int64_t>{3, 1}));
    EXPECT_EQ(decoded->strings, tensor->strings);
  }
}

TEST(TensorProtoRoundTripTest, LargeTensorInBothEncodings) {
  std::vector<float> values(100000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f - 7.0f;
  auto tensor = MakeTensor<float>(DType::kFloat, {1000, 100}, values);
  for (ProtoEncoding encoding : {ProtoEncoding::kTypedFields, ProtoEncoding::kTensorContent}) {
    EXPECT_EQ(Values<float>(*MustDecode(Encode(*tensor, encoding))), values);
  }
}

// --- what clients may send -------------------------------------------------------------------

TEST(DecodeTensorProtoTest, UnpackedNumericFields) {
  ProtoBuilder floats(1, {3});
  for (float v : {1.0f, 2.0f, 3.0f}) floats.writer.add_float(5, v);  // one fixed32 per value
  EXPECT_EQ(Values<float>(*MustDecode(floats.bytes)), (std::vector<float>{1, 2, 3}));

  ProtoBuilder ints(3, {2});
  ints.writer.add_int32(7, -5);
  ints.writer.add_int32(7, 9);
  EXPECT_EQ(Values<int32_t>(*MustDecode(ints.bytes)), (std::vector<int32_t>{-5, 9}));

  ProtoBuilder bools(10, {2});
  bools.writer.add_bool(11, false);
  bools.writer.add_bool(11, true);
  EXPECT_EQ(Values<uint8_t>(*MustDecode(bools.bytes)), (std::vector<uint8_t>{0, 1}));

  ProtoBuilder doubles(2, {1});
  doubles.writer.add_double(6, 2.5);
  EXPECT_EQ(Values<double>(*MustDecode(doubles.bytes)), (std::vector<double>{2.5}));
}

TEST(DecodeTensorProtoTest, PackedAndUnpackedRunsConcatenate) {
  ProtoBuilder proto(9, {4});
  const int64_t first[] = {1, -2};
  proto.writer.add_packed_int64(10, std::begin(first), std::end(first));
  proto.writer.add_int64(10, 3);
  const int64_t last[] = {4};
  proto.writer.add_packed_int64(10, std::begin(last), std::end(last));
  EXPECT_EQ(Values<int64_t>(*MustDecode(proto.bytes)), (std::vector<int64_t>{1, -2, 3, 4}));
}

TEST(DecodeTensorProtoTest, NarrowIntegersComeFromIntVal) {
  ProtoBuilder u8(4, {2});
  u8.writer.add_int32(7, 200);
  u8.writer.add_int32(7, 7);
  EXPECT_EQ(Values<uint8_t>(*MustDecode(u8.bytes)), (std::vector<uint8_t>{200, 7}));
  ProtoBuilder i8(6, {1});
  i8.writer.add_int32(7, -100);
  EXPECT_EQ(Values<int8_t>(*MustDecode(i8.bytes)), (std::vector<int8_t>{-100}));
  ProtoBuilder bf16(14, {1});
  bf16.writer.add_int32(13, 0xbf80);
  EXPECT_EQ(Values<uint16_t>(*MustDecode(bf16.bytes)), (std::vector<uint16_t>{0xbf80}));
}

TEST(DecodeTensorProtoTest, FewerValuesRepeatTheLast) {
  ProtoBuilder proto(3, {2, 3});
  const int32_t given[] = {4, 5};
  proto.writer.add_packed_int32(7, std::begin(given), std::end(given));
  EXPECT_EQ(Values<int32_t>(*MustDecode(proto.bytes)), (std::vector<int32_t>{4, 5, 5, 5, 5, 5}));

  ProtoBuilder complex(8, {3});
  const float pair[] = {1.0f, -1.0f};
  complex.writer.add_packed_float(9, std::begin(pair), std::end(pair));
  EXPECT_EQ(Values<float>(*MustDecode(complex.bytes)), (std::vector<float>{1, -1, 1, -1, 1, -1}));

  ProtoBuilder strings(7, {3});
  strings.writer.add_bytes(8, "a");
  strings.writer.add_bytes(8, "b");
  EXPECT_EQ(MustDecode(strings.bytes)->strings, (std::vector<std::string>{"a", "b", "b"}));
}

TEST(DecodeTensorProtoTest, NoValuesMeansZeros) {
  ProtoBuilder proto(1, {4});
  EXPECT_EQ(Values<float>(*MustDecode(proto.bytes)), std::vector<float>(4, 0.0f));
  ProtoBuilder strings(7, {2});
  EXPECT_EQ(MustDecode(strings.bytes)->strings, (std::vector<std::string>{"", ""}));
  // Half a complex value is no value at all.
  ProtoBuilder complex(8, {2});
  complex.writer.add_float(9, 5.0f);
  EXPECT_EQ(Values<float>(*MustDecode(complex.bytes)), std::vector<float>(4, 0.0f));
}

TEST(DecodeTensorProtoTest, ExtraValuesAreIgnoredLikeTensorFlow) {
  ProtoBuilder proto(1, {2});
  const float given[] = {1, 2, 3};
  proto.writer.add_packed_float(5, std::begin(given), std::end(given));
  EXPECT_EQ(Values<float>(*MustDecode(proto.bytes)), (std::vector<float>{1, 2}));
}

TEST(DecodeTensorProtoTest, FieldsInAnyOrder) {
  std::string bytes;
  protozero::pbf_writer writer(bytes);
  writer.add_float(5, 9.0f);
  std::string dim, shape;
  protozero::pbf_writer(dim).add_int64(1, 2);
  protozero::pbf_writer(shape).add_message(2, dim);
  writer.add_message(2, shape);
  writer.add_enum(1, 1);
  EXPECT_EQ(Values<float>(*MustDecode(bytes)), (std::vector<float>{9, 9}));
}

TEST(DecodeTensorProtoTest, ContentWinsOverTypedFields) {
  ProtoBuilder proto(3, {1});
  proto.writer.add_int32(7, 1);
  const int32_t content = 77;
  proto.writer.add_bytes(4, reinterpret_cast<const char*>(&content), sizeof(content));
  EXPECT_EQ(Values<int32_t>(*MustDecode(proto.bytes)), (std::vector<int32_t>{77}));
}

TEST(DecodeTensorProtoTest, StringTensorContentInTensorFlowsEncoding) {
  // Tensor::AsProtoTensorContent for strings: every length as a varint, then the bytes.
  ProtoBuilder proto(7, {3});
  proto.writer.add_bytes(4, std::string("\x02\x00\x03"
                                        "abxyz",
                                        8));
  EXPECT_EQ(MustDecode(proto.bytes)->strings, (std::vector<std::string>{"ab", "", "xyz"}));
  ProtoBuilder short_content(7, {2});
  short_content.writer.add_bytes(4, std::string("\x02\x03"
                                                "ab",
                                                4));
  ExpectInvalid(short_content.bytes, "does not hold 2 strings");
}

TEST(DecodeTensorProtoTest, BoolContentBytesBecomeZeroOrOne) {
  ProtoBuilder proto(10, {3});
  proto.writer.add_bytes(4, std::string("\x00\x0b\x01", 3));
  EXPECT_EQ(Values<uint8_t>(*MustDecode(proto.bytes)), (std::vector<uint8_t>{0, 1, 1}));
}

// --- what is refused ---------------------------------------------------------------------------

TEST(DecodeTensorProtoTest, ContentLengthMismatch) {
  ProtoBuilder proto(1, {2, 3});
  proto.writer.add_bytes(4, std::string(20, '\0'));
  ExpectInvalid(proto.bytes, "tensor_content has 20 bytes but shape [2,3] of DT_FLOAT needs 24");
}

TEST(DecodeTensorProtoTest, NegativeDim) {
  ProtoBuilder proto(1, {2, -1});
  ExpectInvalid(proto.bytes, "dim 1 is -1");
}

TEST(DecodeTensorProtoTest, OverflowingDims) {
  ProtoBuilder proto(1, {int64_t{1} << 40, int64_t{1} << 40});
  ExpectInvalid(proto.bytes, "more elements than an int64 holds");
  ProtoBuilder huge(2, {int64_t{1} << 62});  // the count fits, the bytes do not
  huge.writer.add_double(6, 1.0);
  ExpectInvalid(huge.bytes, "too large");
}

TEST(DecodeTensorProtoTest, BroadcastBeyondTheRequestLimitIsRefused) {
  ProtoBuilder big(1, {int64_t{1} << 30});  // 4 GiB of float from one value
  big.writer.add_float(5, 1.0f);
  ExpectInvalid(big.bytes, "at most 2147483647 bytes");
  ProtoBuilder strings(7, {int64_t{1} << 30});
  strings.writer.add_bytes(8, "a");
  ExpectInvalid(strings.bytes, "too large");
}

TEST(DecodeTensorProtoTest, TooManyDims) {
  ProtoBuilder proto(1, std::vector<int64_t>(255, 1));
  ExpectInvalid(proto.bytes, "at most 254");
}

TEST(DecodeTensorProtoTest, UnsupportedDTypes) {
  ExpectInvalid(ProtoBuilder(0, {1}).bytes, "dtype 0 (DT_INVALID) is not supported");
  ExpectInvalid(ProtoBuilder(20, {1}).bytes, "dtype 20 is not supported");    // DT_RESOURCE
  ExpectInvalid(ProtoBuilder(101, {1}).bytes, "dtype 101 is not supported");  // DT_FLOAT_REF
  ExpectInvalid(std::string(), "dtype 0");                                    // an empty message
}

TEST(DecodeTensorProtoTest, MalformedBytes) {
  const std::string good = Encode(*MakeTensor<float>(DType::kFloat, {2}, {1, 2}), ProtoEncoding::kTypedFields);
  for (size_t cut = 1; cut < good.size(); ++cut) {
    HostTensorPtr tensor;
    Status status = Decode(good.substr(0, cut), &tensor);
    // Some prefixes are whole messages (fewer values); the rest must fail cleanly.
    if (!status.ok()) {
      EXPECT_EQ(status.code, Code::kInvalidArgument) << status.message;
    }
  }
  ExpectInvalid("\x08", "malformed TensorProto");
  ExpectInvalid(std::string("\x0d\x01\x00\x00\x00", 5), "malformed TensorProto");  // dtype as fixed32
  ProtoBuilder wrong_wire(1, {1});
  wrong_wire.writer.add_int32(5, 3);  // float_val as a varint
  ExpectInvalid(wrong_wire.bytes, "wrong wire type");
}

// --- the shape alone (batching's row count) ----------------------------------------------------

std::vector<int64_t> ShapeOf(const std::string& bytes, Status* status) {
  std::vector<int64_t> shape;
  *status = ReadTensorProtoShape(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &shape);
  return shape;
}

TEST(ReadTensorProtoShapeTest, ReadsTheShapeTheDecoderGives) {
  Status status;
  ProtoBuilder proto(1, {3, 2});
  proto.writer.add_bytes(4, std::string(24, '\0'));
  EXPECT_EQ(ShapeOf(proto.bytes, &status), (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(status.ok());
  // Repeated tensor_shape fields merge, as in the full decode.
  ProtoBuilder twice(1, {3});
  std::string dim;
  protozero::pbf_writer(dim).add_int64(1, 5);
  std::string shape;
  protozero::pbf_writer(shape).add_message(2, dim);
  twice.writer.add_message(2, shape);
  EXPECT_EQ(ShapeOf(twice.bytes, &status), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(MustDecode(twice.bytes)->shape, (std::vector<int64_t>{3, 5}));
  EXPECT_TRUE(ShapeOf(ProtoBuilder(1, {}).bytes, &status).empty());
  EXPECT_TRUE(status.ok());
}

TEST(ReadTensorProtoShapeTest, RefusesWhatTheDecoderRefusesAboutTheShape) {
  Status status;
  ShapeOf(ProtoBuilder(1, {2, -1}).bytes, &status);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_NE(status.message.find("dim 1 is -1"), std::string::npos) << status.message;
  ShapeOf(ProtoBuilder(1, std::vector<int64_t>(255, 1)).bytes, &status);
  EXPECT_NE(status.message.find("at most 254"), std::string::npos) << status.message;
  ShapeOf("\x12\x05\x12", &status);  // tensor_shape cut short
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_NE(status.message.find("malformed TensorProto"), std::string::npos) << status.message;
  ShapeOf(std::string("\x15\x01\x00\x00\x00", 5), &status);  // tensor_shape as fixed32
  EXPECT_NE(status.message.find("tensor_shape is not a message"), std::string::npos) << status.message;
}

TEST(ReadTensorProtoShapeTest, CopiesNoValues) {
  const std::string bytes =
      Encode(*MakeTensor<float>(DType::kFloat, {2, 2}, {1, 2, 3, 4}), ProtoEncoding::kTensorContent);
  const uint64_t before = GlobalCopyStats().copies.load();
  Status status;
  EXPECT_EQ(ShapeOf(bytes, &status), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(GlobalCopyStats().copies.load(), before);
}

TEST(DecodeTensorProtoBorrowingTest, ViewsTensorContentAndDecodesTypedFields) {
  const std::string content =
      Encode(*MakeTensor<float>(DType::kFloat, {2, 2}, {1, 2, 3, 4}), ProtoEncoding::kTensorContent);
  const uint64_t before = GlobalCopyStats().copies.load();
  HostTensorPtr view;
  ASSERT_TRUE(DecodeTensorProtoBorrowing(reinterpret_cast<const uint8_t*>(content.data()), content.size(), &view).ok());
  EXPECT_EQ(GlobalCopyStats().copies.load(), before);
  EXPECT_GE(static_cast<const char*>(view->data), content.data());
  EXPECT_LT(static_cast<const char*>(view->data), content.data() + content.size());
  EXPECT_EQ(Values<float>(*view), (std::vector<float>{1, 2, 3, 4}));
  const std::string fields = Encode(*MakeTensor<float>(DType::kFloat, {2}, {5, 6}), ProtoEncoding::kTypedFields);
  HostTensorPtr decoded;
  ASSERT_TRUE(
      DecodeTensorProtoBorrowing(reinterpret_cast<const uint8_t*>(fields.data()), fields.size(), &decoded).ok());
  EXPECT_EQ(Values<float>(*decoded), (std::vector<float>{5, 6}));
  ProtoBuilder short_content(1, {2});
  short_content.writer.add_bytes(4, std::string(4, '\0'));
  HostTensorPtr refused;
  Status status = DecodeTensorProtoBorrowing(reinterpret_cast<const uint8_t*>(short_content.bytes.data()),
                                             short_content.bytes.size(), &refused);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
}

// --- the copy budget -------------------------------------------------------------------------

struct CopyCounter {
  uint64_t copies = GlobalCopyStats().copies.load();
  uint64_t bytes = GlobalCopyStats().bytes.load();
  uint64_t NewCopies() const { return GlobalCopyStats().copies.load() - copies; }
  uint64_t NewBytes() const { return GlobalCopyStats().bytes.load() - bytes; }
};

TEST(TensorProtoCopyBudgetTest, DecodingTensorContentIsOneCopy) {
  const std::string bytes = Encode(*MakeTensor<float>(DType::kFloat, {4}, {1, 2, 3, 4}), ProtoEncoding::kTensorContent);
  CopyCounter counter;
  MustDecode(bytes);
  EXPECT_EQ(counter.NewCopies(), 1u);
  EXPECT_EQ(counter.NewBytes(), 16u);
}

TEST(TensorProtoCopyBudgetTest, EncodingTensorContentIsOneCopy) {
  auto tensor = MakeTensor<int64_t>(DType::kInt64, {3}, {1, 2, 3});
  CopyCounter counter;
  Encode(*tensor, ProtoEncoding::kTensorContent);
  EXPECT_EQ(counter.NewCopies(), 1u);
  EXPECT_EQ(counter.NewBytes(), 24u);
}

TEST(TensorProtoCopyBudgetTest, TypedFieldsAreConversionsNotCopies) {
  auto tensor = MakeTensor<float>(DType::kFloat, {3}, {1, 2, 3});
  CopyCounter counter;
  MustDecode(Encode(*tensor, ProtoEncoding::kTypedFields));
  EXPECT_EQ(counter.NewCopies(), 0u);
}

}  // namespace
}  // namespace duo
