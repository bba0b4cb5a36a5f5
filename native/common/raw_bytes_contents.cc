#include "common/raw_bytes_contents.h"

#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace duo {
namespace {

constexpr size_t kLengthBytes = 4;

Status Invalid(std::string message) {
  return Status::Error(Code::kInvalidArgument, "raw BYTES contents: " + std::move(message));
}

uint32_t ReadLength(const uint8_t* at) {
  return static_cast<uint32_t>(at[0]) | static_cast<uint32_t>(at[1]) << 8 | static_cast<uint32_t>(at[2]) << 16 |
         static_cast<uint32_t>(at[3]) << 24;
}

}  // namespace

Status DecodeRawBytesContents(const uint8_t* data, size_t size, std::vector<int64_t> shape, HostTensorPtr* out) {
  const int64_t elements = ShapeNumElements(shape);
  if (elements < 0) return Invalid("shape " + ShapeString(shape) + " has too many elements");
  // Every element takes at least its length, so a shape this large cannot fit: refused before
  // anything is allocated for it.
  if (static_cast<uint64_t>(elements) > size / kLengthBytes) {
    return Invalid(std::to_string(size) + " bytes cannot hold the " + std::to_string(elements) + " elements of shape " +
                   ShapeString(shape) + " (each takes a 4-byte length at least)");
  }
  try {
    auto tensor = std::make_shared<HostTensor>();
    tensor->dtype = DType::kString;
    tensor->strings.resize(static_cast<size_t>(elements));
    size_t offset = 0;
    for (size_t i = 0; i < tensor->strings.size(); ++i) {
      if (size - offset < kLengthBytes) {
        return Invalid("element " + std::to_string(i) + " of " + std::to_string(elements) + " has no 4-byte length (" +
                       std::to_string(size - offset) + " bytes remain)");
      }
      const uint32_t length = ReadLength(data + offset);
      offset += kLengthBytes;
      if (length > size - offset) {
        return Invalid("element " + std::to_string(i) + " of " + std::to_string(elements) + " says " +
                       std::to_string(length) + " bytes but only " + std::to_string(size - offset) + " remain");
      }
      tensor->strings[i].assign(reinterpret_cast<const char*>(data + offset), length);
      offset += length;
    }
    if (offset != size) {
      return Invalid(std::to_string(size - offset) + " bytes remain after the " + std::to_string(elements) +
                     " elements of shape " + ShapeString(shape));
    }
    tensor->shape = std::move(shape);
    *out = std::move(tensor);
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return Status::Error(Code::kResourceExhausted, "out of memory decoding raw BYTES contents");
  } catch (const std::length_error&) {
    return Status::Error(Code::kResourceExhausted, "raw BYTES contents too large to decode");
  }
}

std::unique_ptr<std::string> EncodeRawBytesContents(const HostTensor& tensor) {
  size_t size = 0;
  for (const std::string& element : tensor.strings) size += kLengthBytes + element.size();
  auto bytes = std::make_unique<std::string>();
  bytes->reserve(size);
  for (const std::string& element : tensor.strings) {
    const auto length = static_cast<uint32_t>(element.size());
    const char prefix[kLengthBytes] = {static_cast<char>(length & 0xff), static_cast<char>((length >> 8) & 0xff),
                                       static_cast<char>((length >> 16) & 0xff), static_cast<char>(length >> 24)};
    bytes->append(prefix, kLengthBytes);
    bytes->append(element);
  }
  return bytes;
}

}  // namespace duo
