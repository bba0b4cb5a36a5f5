#include "common/host_tensor.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace duo {
namespace {

TEST(HostTensorTest, DTypeSizes) {
  EXPECT_EQ(DTypeSize(DType::kFloat), 4u);
  EXPECT_EQ(DTypeSize(DType::kDouble), 8u);
  EXPECT_EQ(DTypeSize(DType::kInt8), 1u);
  EXPECT_EQ(DTypeSize(DType::kBool), 1u);
  EXPECT_EQ(DTypeSize(DType::kHalf), 2u);
  EXPECT_EQ(DTypeSize(DType::kBFloat16), 2u);
  EXPECT_EQ(DTypeSize(DType::kComplex64), 8u);
  EXPECT_EQ(DTypeSize(DType::kComplex128), 16u);
  EXPECT_EQ(DTypeSize(DType::kUInt64), 8u);
  EXPECT_EQ(DTypeSize(DType::kString), 0u);
  EXPECT_EQ(DTypeSize(static_cast<DType>(20)), 0u);  // DT_RESOURCE: not carried
}

TEST(HostTensorTest, DTypeNamesAndSupport) {
  EXPECT_STREQ(DTypeName(DType::kFloat), "DT_FLOAT");
  EXPECT_STREQ(DTypeName(DType::kBFloat16), "DT_BFLOAT16");
  EXPECT_TRUE(IsSupportedDType(7));
  EXPECT_TRUE(IsSupportedDType(23));
  EXPECT_FALSE(IsSupportedDType(0));
  EXPECT_FALSE(IsSupportedDType(11));   // DT_QINT8
  EXPECT_FALSE(IsSupportedDType(101));  // DT_FLOAT_REF
}

TEST(HostTensorTest, ShapeNumElements) {
  EXPECT_EQ(ShapeNumElements({}), 1);
  EXPECT_EQ(ShapeNumElements({2, 3, 4}), 24);
  EXPECT_EQ(ShapeNumElements({2, 0, 4}), 0);
  EXPECT_EQ(ShapeNumElements({2, -1}), -1);
  EXPECT_EQ(ShapeNumElements({int64_t{1} << 32, int64_t{1} << 32}), -1);
}

TEST(HostTensorTest, AllocateIsAlignedAndZeroed) {
  for (int64_t n : {0, 1, 7, 1000, 100000}) {
    auto tensor = HostTensor::Allocate(DType::kFloat, {n});
    ASSERT_NE(tensor->data, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor->data) % kTensorAlignment, 0u);
    EXPECT_EQ(tensor->byte_size, static_cast<size_t>(n) * 4);
    EXPECT_EQ(tensor->NumElements(), n);
    const auto* bytes = static_cast<const uint8_t*>(tensor->data);
    for (size_t i = 0; i < tensor->byte_size; ++i) ASSERT_EQ(bytes[i], 0) << i;
  }
}

TEST(HostTensorTest, AllocateStrings) {
  auto tensor = HostTensor::Allocate(DType::kString, {2, 3});
  EXPECT_EQ(tensor->strings.size(), 6u);
  EXPECT_EQ(tensor->byte_size, 0u);
}

TEST(HostTensorTest, AllocateRejectsBadShapes) {
  EXPECT_THROW(HostTensor::Allocate(DType::kFloat, {-1}), std::invalid_argument);
  EXPECT_THROW(HostTensor::Allocate(DType::kInvalid, {1}), std::invalid_argument);
  EXPECT_THROW(HostTensor::Allocate(DType::kDouble, {int64_t{1} << 61}), std::bad_alloc);
}

TEST(HostTensorTest, CountedCopyCounts) {
  CopyStats& stats = GlobalCopyStats();
  const uint64_t copies = stats.copies.load();
  const uint64_t bytes = stats.bytes.load();
  const char source[5] = "abcd";
  char target[5] = {};
  CountedCopy(target, source, 5);
  EXPECT_STREQ(target, "abcd");
  EXPECT_EQ(stats.copies.load(), copies + 1);
  EXPECT_EQ(stats.bytes.load(), bytes + 5);
}

}  // namespace
}  // namespace duo
