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

// Argument readers for the addons' bindings: an argument of the wrong form is a bug of the
// TypeScript caller, thrown as a TypeError (never a Status).
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
std::string StringArg(Napi::Value value, const char* what);
Napi::Array ArrayArg(Napi::Value value, const char* what);

// TensorProto bytes, decoded on the worker thread.
struct ProtoBytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};
// {dtype, shape, data}: copied into an aligned HostTensor on the worker thread. For
// kString, `data` is raw BYTES contents (common/raw_bytes_contents.h), decoded there.
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

// JS thread: dim 0 of the tensor `value` (a TensorSource) stands for, read from its shape
// alone (of TensorProto bytes only tensor_shape is read, by the decoder's shape reader; no
// value is decoded or copied): -1 for a scalar, -2 when the shape cannot be read (the run
// says why). Throws Napi::TypeError when `value` has none of the TensorSource forms.
int64_t LeadingDim(Napi::Value value);

// Worker thread: the HostTensor `source` stands for.
Status MaterializeInput(const InputSource& source, HostTensorPtr* out);

// Worker thread: MaterializeInput for a caller that copies the tensor before the JS buffers
// `source` borrows can go (runBatch's merge): dense bytes and a TensorProto's tensor_content
// are viewed, not copied; kBool bytes are as sent (the copy makes them 0 or 1).
Status BorrowInput(const InputSource& source, HostTensorPtr* out);

// What the signature expects of one input, read from a run() input entry's optional tail
// ([name, source, dtype, shape, alias]): checked once, after the input is decoded.
struct ExpectedInput {
  int32_t dtype = 0;           // tensorflow.DataType; 0 (DT_INVALID): any
  bool check_shape = false;    // only AOTInductor packages compare shapes
  std::vector<int64_t> shape;  // -1: any size
  std::string alias;           // names the input in a shape error
};

// Reads entry[2..4] of a run() input (absent: nothing expected). Throws Napi::TypeError for
// a malformed one.
ExpectedInput ReadExpectedInput(Napi::Array entry);

// Worker thread: TF-Serving's words for an input that is not what the signature says
// ("Expects arg[0] to be float but int32 is provided", the session's message), and for an
// AOTInductor input whose shape its compiled code would misread.
Status CheckExpectedInput(size_t index, const ExpectedInput& expected, const HostTensor& tensor);

// A 'host' output: {dtype, shape, data?: ArrayBuffer viewing the tensor's memory,
// strings?: Buffer[], handle: HostTensorHandle}. The memory lives as long as any of them.
Napi::Object HostTensorToJs(Napi::Env env, const HostTensorPtr& tensor);
// A HostTensorHandle alone (the `handle` of a 'host' output), for a tensor JavaScript only passes on.
Napi::External<HostTensorPtr> HostTensorHandle(Napi::Env env, const HostTensorPtr& tensor);

// A 'raw' output: {dtype, shape, raw: Buffer of the Open Inference Protocol's raw contents}.
// Numeric: the tensor's bytes (small ones copied, counted, into a Buffer without a finalizer;
// larger ones viewed in place, kept alive by the Buffer alone). BYTES: `bytes`, the
// EncodeRawBytesContents made on the worker thread.
Napi::Object RawTensorToJs(Napi::Env env, const HostTensorPtr& tensor, std::unique_ptr<std::string> bytes);

// A Buffer over `bytes` that frees them when collected: encoded bytes are not copied.
Napi::Buffer<char> BufferTaking(Napi::Env env, std::unique_ptr<std::string> bytes);

}  // namespace duo
