#include "common/raw_bytes_contents.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace duo {
namespace {

// The raw BYTES form of `elements`: each a 4-byte little-endian length, then its bytes.
std::vector<uint8_t> Raw(const std::vector<std::string>& elements) {
  std::vector<uint8_t> raw;
  for (const std::string& element : elements) {
    const auto length = static_cast<uint32_t>(element.size());
    for (int shift = 0; shift < 32; shift += 8) raw.push_back(static_cast<uint8_t>(length >> shift));
    raw.insert(raw.end(), element.begin(), element.end());
  }
  return raw;
}

Status Decode(const std::vector<uint8_t>& raw, std::vector<int64_t> shape, HostTensorPtr* out) {
  return DecodeRawBytesContents(raw.data(), raw.size(), std::move(shape), out);
}

TEST(RawBytesContentsTest, DecodesEveryElementInOrder) {
  const std::vector<std::string> elements = {"duo",          "",        std::string("a\0b", 3), std::string(300, 'x'),
                                             "s\xc3\xa9rve", "\xff\xfe"};
  HostTensorPtr tensor;
  ASSERT_TRUE(Decode(Raw(elements), {2, 3}, &tensor).ok());
  EXPECT_EQ(tensor->dtype, DType::kString);
  EXPECT_EQ(tensor->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(tensor->strings, elements);
}

TEST(RawBytesContentsTest, ScalarAndEmpty) {
  HostTensorPtr tensor;
  ASSERT_TRUE(Decode(Raw({"one"}), {}, &tensor).ok());
  EXPECT_EQ(tensor->shape, std::vector<int64_t>{});
  EXPECT_EQ(tensor->strings, std::vector<std::string>{"one"});

  ASSERT_TRUE(DecodeRawBytesContents(nullptr, 0, {0, 4}, &tensor).ok());
  EXPECT_EQ(tensor->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(tensor->strings.empty());
}

TEST(RawBytesContentsTest, EncodesWhatItDecodes) {
  const std::vector<std::string> elements = {"duo", "", std::string("a\0b", 3), std::string(70000, 'x'), "\xff\xfe"};
  HostTensorPtr tensor;
  ASSERT_TRUE(Decode(Raw(elements), {5}, &tensor).ok());
  const std::unique_ptr<std::string> encoded = EncodeRawBytesContents(*tensor);
  const std::vector<uint8_t> expected = Raw(elements);
  EXPECT_EQ(*encoded, std::string(expected.begin(), expected.end()));

  HostTensor empty;
  empty.dtype = DType::kString;
  empty.shape = {0};
  EXPECT_EQ(*EncodeRawBytesContents(empty), "");
}

TEST(RawBytesContentsTest, LengthPastTheEnd) {
  std::vector<uint8_t> raw = Raw({"ab", "cdef"});
  raw.pop_back();
  HostTensorPtr tensor;
  Status status = Decode(raw, {2}, &tensor);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message, "raw BYTES contents: element 1 of 2 says 4 bytes but only 3 remain");
  EXPECT_EQ(tensor, nullptr);
}

TEST(RawBytesContentsTest, HugeLengthIsRefusedNotAllocated) {
  const std::vector<uint8_t> raw = {0xff, 0xff, 0xff, 0xff, 'x'};
  HostTensorPtr tensor;
  Status status = Decode(raw, {1}, &tensor);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message, "raw BYTES contents: element 0 of 1 says 4294967295 bytes but only 1 remain");
}

TEST(RawBytesContentsTest, TruncatedLength) {
  std::vector<uint8_t> raw = Raw({"ab", "cd"});
  raw.resize(raw.size() - 4);  // element 1 keeps half of its length
  raw.push_back(0);
  HostTensorPtr tensor;
  Status status = Decode(Raw({"abcdef", "c"}), {3}, &tensor);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message, "raw BYTES contents: element 2 of 3 has no 4-byte length (0 bytes remain)");
  status = Decode(raw, {2}, &tensor);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message, "raw BYTES contents: element 1 of 2 has no 4-byte length (3 bytes remain)");
}

TEST(RawBytesContentsTest, TrailingBytes) {
  std::vector<uint8_t> raw = Raw({"ab", "cd", "ef"});
  HostTensorPtr tensor;
  Status status = Decode(raw, {2}, &tensor);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message, "raw BYTES contents: 6 bytes remain after the 2 elements of shape [2]");
  raw.push_back(0);
  status = Decode(raw, {3}, &tensor);
  EXPECT_EQ(status.message, "raw BYTES contents: 1 bytes remain after the 3 elements of shape [3]");
}

TEST(RawBytesContentsTest, ShapeLargerThanTheBytesCanHold) {
  HostTensorPtr tensor;
  Status status = Decode(Raw({"a", "b"}), {int64_t{1} << 40}, &tensor);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message,
            "raw BYTES contents: 10 bytes cannot hold the 1099511627776 elements of shape [1099511627776] "
            "(each takes a 4-byte length at least)");
  status = Decode(Raw({"a"}), {int64_t{1} << 32, int64_t{1} << 32}, &tensor);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message, "raw BYTES contents: shape [4294967296,4294967296] has too many elements");
}

// Seeded: random buffers, valid ones cut short or grown, and random shapes never crash, never
// read outside the buffer (the copy below is exactly its size, so ASan/valgrind would see it),
// and always give a Status; a valid buffer decodes to what was encoded.
TEST(RawBytesContentsTest, FuzzedBuffersAlwaysGiveAStatus) {
  std::mt19937 rng(20261201);
  std::uniform_int_distribution<int> byte(0, 255);
  int decoded = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::string> elements(rng() % 6);
    for (std::string& element : elements) {
      element.resize(rng() % 12);
      for (char& c : element) c = static_cast<char>(byte(rng));
    }
    std::vector<uint8_t> raw = Raw(elements);
    const bool valid = rng() % 4 == 0;
    if (!valid) {
      switch (rng() % 4) {
        case 0:
          raw.resize(raw.empty() ? 0 : rng() % raw.size());  // truncated
          break;
        case 1:
          for (int i = 0, n = static_cast<int>(rng() % 5) + 1; i < n; ++i) raw.push_back(byte(rng));
          break;
        case 2:
          if (!raw.empty()) raw[rng() % raw.size()] = static_cast<uint8_t>(byte(rng));  // a flipped byte
          break;
        default:
          raw.assign(rng() % 40, 0);
          for (uint8_t& b : raw) b = static_cast<uint8_t>(byte(rng));
      }
    }
    std::vector<int64_t> shape = {static_cast<int64_t>(elements.size())};
    if (!valid && rng() % 3 == 0) shape = {static_cast<int64_t>(rng() % 8), static_cast<int64_t>(rng() % 3)};
    const std::vector<uint8_t> exact(raw.begin(), raw.end());
    HostTensorPtr tensor;
    Status status = Decode(exact, shape, &tensor);
    if (status.ok()) {
      ++decoded;
      ASSERT_NE(tensor, nullptr);
      ASSERT_EQ(static_cast<int64_t>(tensor->strings.size()), ShapeNumElements(shape));
      if (valid) EXPECT_EQ(tensor->strings, elements);
    } else {
      ASSERT_EQ(status.code, Code::kInvalidArgument) << status.message;
      ASSERT_LE(status.message.size(), 200u) << status.message;
      ASSERT_EQ(status.message.rfind("raw BYTES contents: ", 0), 0u) << status.message;
      ASSERT_FALSE(valid) << status.message;
    }
  }
  EXPECT_GT(decoded, 5000);  // the valid quarter, and whatever mangled buffers still parse
}

}  // namespace
}  // namespace duo
