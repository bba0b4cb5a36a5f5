// The Open Inference Protocol's raw BYTES contents -> a DT_STRING HostTensor. Each element is
// a 4-byte little-endian length, then that many bytes, elements back to back in row-major
// order (raw_input_contents over gRPC, the binary tensor extension over REST).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/host_tensor.h"
#include "common/status.h"

namespace duo {

// Decodes `size` bytes at `data` into a kString tensor of `shape` (whose dims are >= 0). The
// bytes must hold exactly ShapeNumElements(shape) elements: a length past the end, too few
// or too many elements, or bytes left over are kInvalidArgument, saying where (never quoting
// the contents); kResourceExhausted when the memory is not there. Runs on any thread.
Status DecodeRawBytesContents(const uint8_t* data, size_t size, std::vector<int64_t> shape, HostTensorPtr* out);

// The other way: a kString tensor's elements as raw BYTES contents (a conversion of its
// elements, like typed proto fields, so not a counted copy). Runs on any thread.
std::unique_ptr<std::string> EncodeRawBytesContents(const HostTensor& tensor);

}  // namespace duo
