// HostTensor: the framework-neutral tensor every backend reads and writes.
//
// Numeric data is dense, row-major, and owned by `owner`, which may be an aligned buffer
// decoded from a request, a TF_Tensor or an at::Tensor. Backends wrap `data` without copying
// (TF_NewTensor with a deallocator, at::from_blob with a deleter) and return their outputs
// the same way, so a tensor passes from one framework to another without a copy.
// HostTensors are immutable once built and shared via HostTensorPtr across threads.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace duo {

// Numbered as tensorflow.DataType, the enum on the wire in TensorProto.
enum class DType : int32_t {
  kInvalid = 0,
  kFloat = 1,
  kDouble = 2,
  kInt32 = 3,
  kUInt8 = 4,
  kInt16 = 5,
  kInt8 = 6,
  kString = 7,
  kComplex64 = 8,
  kInt64 = 9,
  kBool = 10,
  kBFloat16 = 14,
  kUInt16 = 17,
  kComplex128 = 18,
  kHalf = 19,
  kUInt32 = 22,
  kUInt64 = 23,
};

// Bytes per element; 0 for kString and for dtypes duoserve does not carry.
size_t DTypeSize(DType dtype);
// "DT_FLOAT" etc., for error messages.
const char* DTypeName(DType dtype);
// Whether `dtype` is one of the enumerators above (other than kInvalid).
bool IsSupportedDType(int32_t dtype);

// The most dims a tensor may have: TensorFlow's TensorShape::MaxDimensions(), past which
// TensorFlow aborts the process. Every shape a request brings is checked against it.
inline constexpr size_t kMaxDims = 254;

// Elements in a tensor of `shape` (1 for a scalar), or -1 when a dim is negative or the
// count overflows int64.
int64_t ShapeNumElements(const std::vector<int64_t>& shape);
// "[2,3]", for error messages.
std::string ShapeString(const std::vector<int64_t>& shape);

// TF's kernels want 64-byte aligned buffers (EIGEN_MAX_ALIGN_BYTES); TF_NewTensor copies
// anything less aligned. Every buffer duoserve allocates uses this alignment.
inline constexpr size_t kTensorAlignment = 64;

struct HostTensor {
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;
  void* data = nullptr;              // numeric dtypes only
  size_t byte_size = 0;              // numeric dtypes only
  std::vector<std::string> strings;  // kString only, row-major
  std::shared_ptr<void> owner;       // keeps `data` alive

  int64_t NumElements() const;
  // A zero-filled, kTensorAlignment-aligned tensor of `dtype` and `shape`; for kString,
  // NumElements() empty strings. Throws std::invalid_argument for a negative or overflowing
  // shape or a dtype without a size, std::bad_alloc when the memory is not there.
  static std::shared_ptr<HostTensor> Allocate(DType dtype, std::vector<int64_t> shape);
};
using HostTensorPtr = std::shared_ptr<const HostTensor>;

// kBool elements are the bytes 0 and 1, as TF and torch assume; raw bytes from outside
// (tensor_content, a JS view) pass through this while the tensor is still being built.
void NormalizeBools(HostTensor* tensor);

// Copies of tensor payloads on the request path are counted, so a test can fail when a
// change adds one (see test/native/copy_budget.test.ts). Every memcpy of tensor data in
// native/ goes through CountedCopy. Conversions (typed proto fields, string elements) are
// not copies and are not counted.
struct CopyStats {
  std::atomic<uint64_t> copies{0};
  std::atomic<uint64_t> bytes{0};
};
CopyStats& GlobalCopyStats();
void CountedCopy(void* dst, const void* src, size_t bytes);

}  // namespace duo
