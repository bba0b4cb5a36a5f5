#include "common/host_tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace duo {

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kBool:
    case DType::kInt8:
    case DType::kUInt8: return 1;
    case DType::kInt16:
    case DType::kUInt16:
    case DType::kHalf:
    case DType::kBFloat16: return 2;
    case DType::kFloat:
    case DType::kInt32:
    case DType::kUInt32: return 4;
    case DType::kDouble:
    case DType::kInt64:
    case DType::kUInt64:
    case DType::kComplex64: return 8;
    case DType::kComplex128: return 16;
    case DType::kString:
    case DType::kInvalid: return 0;
  }
  return 0;
}

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kInvalid: return "DT_INVALID";
    case DType::kFloat: return "DT_FLOAT";
    case DType::kDouble: return "DT_DOUBLE";
    case DType::kInt32: return "DT_INT32";
    case DType::kUInt8: return "DT_UINT8";
    case DType::kInt16: return "DT_INT16";
    case DType::kInt8: return "DT_INT8";
    case DType::kString: return "DT_STRING";
    case DType::kComplex64: return "DT_COMPLEX64";
    case DType::kInt64: return "DT_INT64";
    case DType::kBool: return "DT_BOOL";
    case DType::kBFloat16: return "DT_BFLOAT16";
    case DType::kUInt16: return "DT_UINT16";
    case DType::kComplex128: return "DT_COMPLEX128";
    case DType::kHalf: return "DT_HALF";
    case DType::kUInt32: return "DT_UINT32";
    case DType::kUInt64: return "DT_UINT64";
  }
  return "DT_UNSUPPORTED";
}

bool IsSupportedDType(int32_t dtype) {
  const auto d = static_cast<DType>(dtype);
  return d != DType::kInvalid && (d == DType::kString || DTypeSize(d) != 0);
}

int64_t ShapeNumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(n, dim, &n)) return -1;
  }
  return n;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

int64_t HostTensor::NumElements() const { return ShapeNumElements(shape); }

std::shared_ptr<HostTensor> HostTensor::Allocate(DType dtype, std::vector<int64_t> shape) {
  const int64_t n = ShapeNumElements(shape);
  if (n < 0) throw std::invalid_argument("tensor shape has a negative dim or too many elements");
  auto tensor = std::make_shared<HostTensor>();
  tensor->dtype = dtype;
  tensor->shape = std::move(shape);
  if (dtype == DType::kString) {
    tensor->strings.resize(static_cast<size_t>(n));
    return tensor;
  }
  const size_t element_size = DTypeSize(dtype);
  if (element_size == 0) {
    throw std::invalid_argument(std::string("cannot allocate a tensor of ") + DTypeName(dtype));
  }
  if (static_cast<uint64_t>(n) > (SIZE_MAX - kTensorAlignment) / element_size) throw std::bad_alloc();
  const size_t bytes = static_cast<size_t>(n) * element_size;
  // calloc rather than aligned_alloc + memset: large blocks come straight from mmap already
  // zeroed, so the zero-fill costs nothing where it would cost most. The slack aligns `data`.
  void* raw = std::calloc(1, bytes + kTensorAlignment);
  if (raw == nullptr) throw std::bad_alloc();
  const auto address = reinterpret_cast<uintptr_t>(raw);
  // NOLINTNEXTLINE(performance-no-int-to-ptr): rounding an address up is integer arithmetic.
  tensor->data = reinterpret_cast<void*>((address + kTensorAlignment - 1) & ~(kTensorAlignment - 1));
  tensor->byte_size = bytes;
  tensor->owner = std::shared_ptr<void>(raw, std::free);
  return tensor;
}

void NormalizeBools(HostTensor* tensor) {
  if (tensor->dtype != DType::kBool) return;
  auto* bytes = static_cast<uint8_t*>(tensor->data);
  for (size_t i = 0; i < tensor->byte_size; ++i) bytes[i] = bytes[i] != 0;
}

CopyStats& GlobalCopyStats() {
  static CopyStats stats;
  return stats;
}

void CountedCopy(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
  CopyStats& stats = GlobalCopyStats();
  stats.copies.fetch_add(1, std::memory_order_relaxed);
  stats.bytes.fetch_add(bytes, std::memory_order_relaxed);
}

}  // namespace duo
