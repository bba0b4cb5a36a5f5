#include "common/batch_tensors.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace duo {
namespace {

HostTensorPtr Floats(std::vector<int64_t> shape, const std::vector<float>& values) {
  auto tensor = HostTensor::Allocate(DType::kFloat, std::move(shape));
  EXPECT_EQ(tensor->byte_size, values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(tensor->data, values.data(), tensor->byte_size);
  return tensor;
}

HostTensorPtr Strings(std::vector<int64_t> shape, std::vector<std::string> values) {
  auto tensor = HostTensor::Allocate(DType::kString, std::move(shape));
  EXPECT_EQ(tensor->strings.size(), values.size());
  tensor->strings = std::move(values);
  return tensor;
}

std::vector<float> Values(const HostTensor& tensor) {
  std::vector<float> values(tensor.byte_size / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), tensor.data, tensor.byte_size);
  return values;
}

uint64_t Copies() { return GlobalCopyStats().copies.load(); }

TEST(RoundToAllowedBatchSize, TakesTheFirstSizeThatHoldsTheRows) {
  EXPECT_EQ(RoundToAllowedBatchSize({}, 3), 3);
  EXPECT_EQ(RoundToAllowedBatchSize({2, 4, 8}, 3), 4);
  EXPECT_EQ(RoundToAllowedBatchSize({2, 4, 8}, 4), 4);
  EXPECT_EQ(RoundToAllowedBatchSize({2, 4, 8}, 9), 9);  // none fits: TF runs the rows as they are
}

TEST(MergeBatch, ConcatenatesOnDimZeroWithOneCopyPerTensor) {
  const uint64_t before = Copies();
  HostTensorPtr batch = MergeBatch({Floats({1, 2}, {1, 2}), Floats({2, 2}, {3, 4, 5, 6})}, {}, 0);
  EXPECT_EQ(Copies() - before, 2u);
  EXPECT_EQ(batch->shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values(*batch), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(batch->data) % kTensorAlignment, 0u);
}

TEST(MergeBatch, PaddingRowsRepeatTheLastTasksFirstRow) {
  HostTensorPtr batch = MergeBatch({Floats({1, 2}, {1, 2}), Floats({2, 2}, {3, 4, 5, 6})}, {}, 2);
  EXPECT_EQ(batch->shape, (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(Values(*batch), (std::vector<float>{1, 2, 3, 4, 5, 6, 3, 4, 3, 4}));
}

TEST(MergeBatch, PaddingRowsSkipATrailingTaskWithoutRows) {
  HostTensorPtr batch = MergeBatch({Floats({1, 2}, {1, 2}), Floats({0, 2}, {})}, {}, 1);
  EXPECT_EQ(Values(*batch), (std::vector<float>{1, 2, 1, 2}));
}

TEST(MergeBatch, PadsDimsAfterTheFirstWithEachTensorsOwnFirstElement) {
  std::vector<HostTensorPtr> tensors = {Floats({1, 1, 2}, {7, 8}), Floats({1, 2, 1}, {5, 6})};
  for (const HostTensorPtr& tensor : tensors) ASSERT_TRUE(CheckJoinsBatch("x", *tensors[0], *tensor, true).ok());
  const std::vector<int64_t> largest = LargestDims(tensors);
  EXPECT_EQ(largest, (std::vector<int64_t>{0, 2, 2}));
  HostTensorPtr batch = MergeBatch(tensors, largest, 1);
  EXPECT_EQ(batch->shape, (std::vector<int64_t>{3, 2, 2}));
  // [[7,8],[7,7]] then [[5,5],[6,5]], then the last task's first (padded) row again.
  EXPECT_EQ(Values(*batch), (std::vector<float>{7, 8, 7, 7, 5, 5, 6, 5, 5, 5, 6, 5}));
}

TEST(MergeBatch, StringsMergeAndPadElementByElement) {
  std::vector<HostTensorPtr> tensors = {Strings({1, 1}, {"a"}), Strings({2, 2}, {"b", "c", "d", "e"})};
  const uint64_t before = Copies();
  HostTensorPtr batch = MergeBatch(tensors, LargestDims(tensors), 1);
  EXPECT_EQ(Copies(), before);  // string elements are conversions, not counted copies
  EXPECT_EQ(batch->shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(batch->strings, (std::vector<std::string>{"a", "a", "b", "c", "d", "e", "b", "c"}));
}

TEST(MergeBatch, BoolsFromRawBytesBecomeZeroOrOne) {
  uint8_t raw[] = {0, 2, 255};
  auto view = std::make_shared<HostTensor>();  // as BorrowInput makes it: a client's bytes
  view->dtype = DType::kBool;
  view->shape = {3};
  view->data = raw;
  view->byte_size = sizeof(raw);
  HostTensorPtr batch = MergeBatch({view}, {}, 0);
  const auto* bytes = static_cast<const uint8_t*>(batch->data);
  EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + 3), (std::vector<uint8_t>{0, 1, 1}));
}

TEST(CheckJoinsBatch, WithoutPaddingDimsAfterTheFirstMustMatch) {
  HostTensorPtr first = Floats({1, 2}, {1, 2});
  EXPECT_TRUE(CheckJoinsBatch("x", *first, *Floats({3, 2}, {1, 2, 3, 4, 5, 6}), false).ok());
  Status status = CheckJoinsBatch("x", *first, *Floats({1, 3}, {1, 2, 3}), false);
  EXPECT_EQ(status.code, Code::kFailedPrecondition);
  EXPECT_EQ(status.message,
            "Tensors with name 'x' from different tasks have different shapes and padding is turned off. Set "
            "pad_variable_length_inputs to true, or ensure that all tensors with the same name have equal "
            "dimensions starting with the first dim.");
  EXPECT_EQ(CheckJoinsBatch("x", *first, *Floats({1, 2, 1}, {1, 2}), false).code, Code::kFailedPrecondition);
}

TEST(CheckJoinsBatch, PaddingTakesRanksOneToSixOnly) {
  HostTensorPtr rank6 = Floats({1, 1, 1, 1, 1, 1}, {1});
  HostTensorPtr rank7 = Floats({1, 1, 1, 1, 1, 1, 1}, {1});
  EXPECT_TRUE(CheckJoinsBatch("x", *rank6, *rank6, true).ok());
  Status status = CheckJoinsBatch("x", *rank7, *rank7, true);  // even when nothing needs padding
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message, "Only tensors with rank from 1 to 6 can be padded.");
  EXPECT_EQ(CheckJoinsBatch("x", *Floats({}, {1}), *Floats({}, {1}), true).code, Code::kInvalidArgument);
  EXPECT_EQ(CheckJoinsBatch("x", *rank6, *Floats({1, 1}, {1}), true).code, Code::kInvalidArgument);
}

TEST(CheckPaddable, AnEmptyTensorThatNeedsPaddingIsRefused) {
  std::vector<HostTensorPtr> tensors = {Floats({1, 3}, {1, 2, 3}), Floats({1, 0}, {})};
  const std::vector<int64_t> largest = LargestDims(tensors);
  EXPECT_TRUE(CheckPaddable(*tensors[0], largest).ok());
  Status status = CheckPaddable(*tensors[1], largest);
  EXPECT_EQ(status.code, Code::kInvalidArgument);
  EXPECT_EQ(status.message, "Got empty tensor in batch of non-empty tensors.");
  // An empty tensor that needs no padding joins as it is.
  EXPECT_TRUE(CheckPaddable(*Floats({0, 3}, {}), largest).ok());
}

TEST(SplitBatch, NumericPartsAreViewsOfTheOutput) {
  HostTensorPtr output = Floats({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  std::vector<HostTensorPtr> parts;
  const uint64_t before = Copies();
  ASSERT_TRUE(SplitBatch(output, {1, 2}, 1, &parts).ok());
  EXPECT_EQ(Copies(), before);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0]->shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Values(*parts[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(parts[1]->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values(*parts[1]), (std::vector<float>{3, 4, 5, 6}));
  EXPECT_EQ(parts[1]->data, static_cast<const char*>(output->data) + 2 * sizeof(float));
  // A part keeps the output's memory alive on its own.
  const void* data = output->data;
  output.reset();
  EXPECT_EQ(parts[0]->data, data);
  EXPECT_EQ(Values(*parts[0]), (std::vector<float>{1, 2}));
}

TEST(SplitBatch, StringPartsAreCopies) {
  std::vector<HostTensorPtr> parts;
  ASSERT_TRUE(SplitBatch(Strings({3}, {"a", "b", "c"}), {2, 1}, 0, &parts).ok());
  EXPECT_EQ(parts[0]->strings, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parts[1]->strings, (std::vector<std::string>{"c"}));
}

TEST(SplitBatch, RefusesOutputsThatCannotBeSplitWithTfsMessages) {
  std::vector<HostTensorPtr> parts;
  Status scalar = SplitBatch(Floats({}, {1}), {1}, 0, &parts);
  EXPECT_EQ(scalar.code, Code::kFailedPrecondition);
  EXPECT_EQ(scalar.message, "Batched output tensor has 0 dimensions");
  Status rows = SplitBatch(Floats({2}, {1, 2}), {1, 2}, 0, &parts);
  EXPECT_EQ(rows.code, Code::kFailedPrecondition);
  EXPECT_EQ(rows.message,
            "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes of the input "
            "tensors");
}

}  // namespace
}  // namespace duo
