#include "common/batch_tensors.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace duo {
namespace {

// TF pads with Eigen's pad op, which has ranks 1..6 only (batching_util.cc).
constexpr size_t kMaxPaddedRank = 6;

Status Invalid(std::string message) { return Status::Error(Code::kInvalidArgument, std::move(message)); }

bool SameDimsAfterFirst(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  return a.size() == b.size() && std::equal(a.begin() + (a.empty() ? 0 : 1), a.end(), b.begin() + (b.empty() ? 0 : 1));
}

// Elements in one row (dim 0 index) of a tensor of `shape`.
int64_t RowElements(const std::vector<int64_t>& shape) {
  return ShapeNumElements(std::vector<int64_t>(shape.begin() + 1, shape.end()));
}

// Visits the innermost runs of a tensor of `shape` laid out inside a larger one of `largest`
// (same rank >= 2, every dim <= largest's): visit(source element offset, destination element
// offset within the padded tensor, run length).
template <typename Visit>
void ForEachRun(const std::vector<int64_t>& shape, const std::vector<int64_t>& largest, Visit visit) {
  const size_t rank = shape.size();
  const int64_t run = shape[rank - 1];
  if (ShapeNumElements(shape) == 0) return;
  std::vector<int64_t> index(rank - 1, 0);
  int64_t source = 0;
  while (true) {
    int64_t destination = 0;
    for (size_t d = 0; d + 1 < rank; ++d) destination = destination * largest[d] + index[d];
    visit(source, destination * largest[rank - 1], run);
    source += run;
    size_t d = rank - 1;
    while (d > 0 && ++index[d - 1] == shape[d - 1]) index[--d] = 0;
    if (d == 0) return;
  }
}

// Fills `count` elements of `size` bytes at `dst` with the element at `value`: padding is
// written value by value (a fill, not a copy of the payload, so not counted).
template <typename T>
void FillAs(void* dst, const void* value, int64_t count) {
  T element;
  std::memcpy(&element, value, sizeof(T));
  std::fill_n(static_cast<T*>(dst), count, element);
}

struct Bytes16 {
  uint64_t low, high;
};

void FillElements(void* dst, const void* value, size_t size, int64_t count) {
  switch (size) {
    case 1: return FillAs<uint8_t>(dst, value, count);
    case 2: return FillAs<uint16_t>(dst, value, count);
    case 4: return FillAs<uint32_t>(dst, value, count);
    case 8: return FillAs<uint64_t>(dst, value, count);
    case 16: return FillAs<Bytes16>(dst, value, count);
    default: throw std::logic_error("FillElements: unexpected element size");
  }
}

// Writes `tensor` at element `offset` of `batch`, padded to `largest`'s dims >= 1 (or as is
// when it has them already).
void PlaceTensor(const HostTensor& tensor, const std::vector<int64_t>& largest, int64_t offset, HostTensor* batch) {
  std::vector<int64_t> padded = largest;
  if (!padded.empty()) padded[0] = tensor.shape[0];
  const bool needs_padding = !padded.empty() && !SameDimsAfterFirst(tensor.shape, padded);
  if (batch->dtype == DType::kString) {
    std::string* dst = batch->strings.data() + offset;
    if (!needs_padding) {
      std::copy(tensor.strings.begin(), tensor.strings.end(), dst);
      return;
    }
    std::fill_n(dst, ShapeNumElements(padded), tensor.strings[0]);
    ForEachRun(tensor.shape, padded, [&](int64_t from, int64_t to, int64_t run) {
      std::copy_n(tensor.strings.begin() + from, run, dst + to);
    });
    return;
  }
  const size_t size = DTypeSize(batch->dtype);
  char* dst = static_cast<char*>(batch->data) + offset * size;
  if (!needs_padding) {
    if (tensor.byte_size > 0) CountedCopy(dst, tensor.data, tensor.byte_size);
    return;
  }
  const char* src = static_cast<const char*>(tensor.data);
  FillElements(dst, src, size, ShapeNumElements(padded));
  ForEachRun(tensor.shape, padded, [&](int64_t from, int64_t to, int64_t run) {
    CountedCopy(dst + to * size, src + from * size, run * size);
  });
}

}  // namespace

int64_t RoundToAllowedBatchSize(const std::vector<int64_t>& allowed, int64_t rows) {
  for (int64_t size : allowed) {
    if (size >= rows) return size;
  }
  return rows;
}

Status CheckJoinsBatch(const std::string& name, const HostTensor& first, const HostTensor& tensor, bool pad) {
  if (pad) {
    // TF checks the rank of every tensor when padding is on, even one that needs none.
    if (tensor.shape.empty() || tensor.shape.size() > kMaxPaddedRank) {
      return Invalid("Only tensors with rank from 1 to 6 can be padded.");
    }
    // TF's padding assumes one rank per name (it indexes past the end otherwise).
    if (tensor.shape.size() != first.shape.size()) {
      return Invalid("Tensors with name '" + name + "' from different tasks have different ranks (" +
                     std::to_string(first.shape.size()) + " and " + std::to_string(tensor.shape.size()) +
                     "), which padding cannot make equal.");
    }
    return Status::Ok();
  }
  if (!SameDimsAfterFirst(first.shape, tensor.shape)) {
    return Status::Error(Code::kFailedPrecondition,
                         "Tensors with name '" + name +
                             "' from different tasks have different shapes and padding is turned off. Set "
                             "pad_variable_length_inputs to true, or ensure that all tensors with the same name have "
                             "equal dimensions starting with the first dim.");
  }
  return Status::Ok();
}

std::vector<int64_t> LargestDims(const std::vector<HostTensorPtr>& tensors) {
  std::vector<int64_t> largest(tensors.empty() ? 0 : tensors[0]->shape.size(), 0);
  for (const HostTensorPtr& tensor : tensors) {
    for (size_t d = 1; d < largest.size(); ++d) largest[d] = std::max(largest[d], tensor->shape[d]);
  }
  return largest;
}

Status CheckPaddable(const HostTensor& tensor, const std::vector<int64_t>& largest) {
  std::vector<int64_t> padded = largest;
  padded[0] = tensor.shape[0];
  if (ShapeNumElements(padded) != tensor.NumElements() && tensor.NumElements() < 1) {
    return Invalid("Got empty tensor in batch of non-empty tensors.");
  }
  return Status::Ok();
}

HostTensorPtr MergeBatch(const std::vector<HostTensorPtr>& tensors, const std::vector<int64_t>& largest,
                         int64_t padding_rows) {
  const HostTensor& first = *tensors[0];
  std::vector<int64_t> shape = largest.empty() ? first.shape : largest;
  int64_t rows = 0;
  for (const HostTensorPtr& tensor : tensors) rows += tensor->shape[0];
  shape[0] = rows + padding_rows;
  std::shared_ptr<HostTensor> batch = HostTensor::Allocate(first.dtype, shape);
  const int64_t row_elements = RowElements(shape);
  int64_t offset = 0;
  int64_t last_row = -1;  // element offset of the first row of the last tensor that has one
  for (const HostTensorPtr& tensor : tensors) {
    PlaceTensor(*tensor, largest, offset, batch.get());
    if (tensor->shape[0] > 0) last_row = offset;
    offset += tensor->shape[0] * row_elements;
  }
  // Inputs may view bytes as a client sent them (BorrowInput); the batch's bools are 0 or 1.
  NormalizeBools(batch.get());
  // TF pads with the first row of the last task; with no row anywhere the padding stays zeros.
  if (last_row >= 0 && row_elements > 0) {
    for (int64_t r = 0; r < padding_rows; ++r, offset += row_elements) {
      if (batch->dtype == DType::kString) {
        std::copy_n(batch->strings.begin() + last_row, row_elements, batch->strings.begin() + offset);
      } else {
        const size_t row_bytes = row_elements * DTypeSize(batch->dtype);
        char* data = static_cast<char*>(batch->data);
        CountedCopy(data + offset * DTypeSize(batch->dtype), data + last_row * DTypeSize(batch->dtype), row_bytes);
      }
    }
  }
  return batch;
}

Status SplitBatch(const HostTensorPtr& output, const std::vector<int64_t>& task_rows, int64_t padding_rows,
                  std::vector<HostTensorPtr>* parts) {
  if (output->shape.empty()) {
    return Status::Error(Code::kFailedPrecondition, "Batched output tensor has 0 dimensions");
  }
  int64_t rows = padding_rows;
  for (int64_t task : task_rows) rows += task;
  if (output->shape[0] != rows) {
    return Status::Error(Code::kFailedPrecondition,
                         "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes of "
                         "the input tensors");
  }
  const int64_t row_elements = RowElements(output->shape);
  const size_t element_size = DTypeSize(output->dtype);
  parts->clear();
  parts->reserve(task_rows.size());
  int64_t offset = 0;
  for (int64_t task : task_rows) {
    auto part = std::make_shared<HostTensor>();
    part->dtype = output->dtype;
    part->shape = output->shape;
    part->shape[0] = task;
    const int64_t elements = task * row_elements;
    if (output->dtype == DType::kString) {
      part->strings.assign(output->strings.begin() + offset, output->strings.begin() + offset + elements);
    } else {
      // A view: the part keeps the whole output (and so its owner) alive.
      part->data = static_cast<char*>(output->data) + offset * element_size;
      part->byte_size = elements * element_size;
      part->owner = std::shared_ptr<void>(output, part->data);
    }
    parts->push_back(std::move(part));
    offset += elements;
  }
  return Status::Ok();
}

}  // namespace duo
