// Tensors crossing between JavaScript and C++ in run(): the TensorSource forms an input may
// take, and the 'host' form of an output. JS values are only read on the JS thread; bytes
// the worker thread needs later are borrowed, with a reference that keeps their buffer alive.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <napi.h>

#include "common/host_tensor.h"
#include "common/status.h"

namespace duo {

// TensorProto bytes, decoded on the worker thread.
struct ProtoBytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};
// {dtype, shape, data}: copied into an aligned HostTensor on the worker thread.
struct DenseBytes {
  DType dtype = DType::kInvalid;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t size = 0;
};
// A HostTensorHandle, or a string tensor already copied on the JS thread.
using InputSource = std::variant<HostTensorPtr, ProtoBytes, DenseBytes>;

// Reads one TensorSource (see addon_kit.h). Throws Napi::TypeError when `value` does not
// have one of the documented forms (a bug in the TypeScript caller); returns
// kInvalidArgument for data that cannot be a tensor. JS buffers whose bytes `out` borrows
// are added to `keep_alive`, which must outlive the use of `out`.
Status ReadTensorSource(Napi::Value value, InputSource* out, std::vector<Napi::ObjectReference>* keep_alive);

// Worker thread: the HostTensor `source` stands for.
Status MaterializeInput(const InputSource& source, HostTensorPtr* out);

// A 'host' output: {dtype, shape, data?: ArrayBuffer viewing the tensor's memory,
// strings?: Buffer[], handle: HostTensorHandle}. The memory lives as long as any of them.
Napi::Object HostTensorToJs(Napi::Env env, const HostTensorPtr& tensor);
// A HostTensorHandle alone (the `handle` of a 'host' output), for a tensor JavaScript only passes on.
Napi::External<HostTensorPtr> HostTensorHandle(Napi::Env env, const HostTensorPtr& tensor);

// A Buffer over `bytes` that frees them when collected: encoded bytes are not copied.
Napi::Buffer<char> BufferTaking(Napi::Env env, std::unique_ptr<std::string> bytes);

}  // namespace duo
