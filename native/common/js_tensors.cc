#include "common/js_tensors.h"

#include <cctype>
#include <cmath>
#include <memory>

#include "common/raw_bytes_contents.h"
#include "common/tensor_proto.h"

namespace duo {

[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

std::string StringArg(Napi::Value value, const char* what) {
  if (!value.IsString()) ThrowTypeError(value.Env(), std::string(what) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

Napi::Array ArrayArg(Napi::Value value, const char* what) {
  if (!value.IsArray()) ThrowTypeError(value.Env(), std::string(what) + " must be an array");
  return value.As<Napi::Array>();
}

namespace {

// Tags a HostTensorHandle, so that any other External is refused rather than misread.
constexpr napi_type_tag kHostTensorTag = {0x2f6a'0c1d'8e54'b7a3ULL, 0x91c4'7e20'5db8'f613ULL};

// 2^53: the largest dim a JS number carries exactly.
constexpr double kMaxExactDim = 9007199254740992.0;

Status Invalid(std::string message) { return Status::Error(Code::kInvalidArgument, std::move(message)); }

// The bytes a Uint8Array (or Buffer) views; false for any other value.
bool Uint8View(Napi::Value value, const uint8_t** data, size_t* size) {
  if (!value.IsTypedArray()) return false;
  napi_typedarray_type type;
  void* bytes = nullptr;
  size_t length = 0;
  NAPI_THROW_IF_FAILED(value.Env(),
                       napi_get_typedarray_info(value.Env(), value, &type, &length, &bytes, nullptr, nullptr), false);
  if (type != napi_uint8_array) return false;
  *data = static_cast<const uint8_t*>(bytes);
  *size = length;
  return true;
}

// The bytes any ArrayBufferView (typed array or DataView) views.
void ViewBytes(Napi::Value value, const void** data, size_t* size) {
  Napi::Env env = value.Env();
  void* bytes = nullptr;
  if (value.IsTypedArray()) {
    napi_typedarray_type type;
    size_t length = 0;
    NAPI_THROW_IF_FAILED_VOID(env, napi_get_typedarray_info(env, value, &type, &length, &bytes, nullptr, nullptr));
    *size = value.As<Napi::TypedArray>().ByteLength();
  } else if (value.IsDataView()) {
    NAPI_THROW_IF_FAILED_VOID(env, napi_get_dataview_info(env, value, size, &bytes, nullptr, nullptr));
  } else {
    ThrowTypeError(env, "TensorSource.data must be an ArrayBufferView");
  }
  *data = bytes;
}

Status ReadShape(Napi::Value value, std::vector<int64_t>* shape) {
  if (!value.IsArray()) ThrowTypeError(value.Env(), "TensorSource.shape must be an array of numbers");
  Napi::Array dims = value.As<Napi::Array>();
  const uint32_t rank = dims.Length();
  if (rank > kMaxDims) {
    return Invalid("shape has " + std::to_string(rank) + " dims; at most " + std::to_string(kMaxDims) + " are allowed");
  }
  shape->reserve(rank);
  for (uint32_t i = 0; i < rank; ++i) {
    Napi::Value dim = dims.Get(i);
    if (!dim.IsNumber()) ThrowTypeError(value.Env(), "TensorSource.shape must be an array of numbers");
    const double size = dim.As<Napi::Number>().DoubleValue();
    if (!(size >= 0 && size <= kMaxExactDim && std::floor(size) == size)) {
      return Invalid("shape dim " + std::to_string(i) + " is " + std::to_string(size) +
                     "; dims must be whole numbers >= 0");
    }
    shape->push_back(static_cast<int64_t>(size));
  }
  if (ShapeNumElements(*shape) < 0) return Invalid("shape " + ShapeString(*shape) + " has too many elements");
  return Status::Ok();
}

HostTensorPtr HostTensorOfHandle(Napi::Value value) {
  auto handle = value.As<Napi::External<HostTensorPtr>>();
  if (!handle.CheckTypeTag(&kHostTensorTag)) {
    ThrowTypeError(value.Env(), "TensorSource is an External but not a HostTensorHandle");
  }
  return *handle.Data();
}

// Strings are copied here, on the JS thread, element by element (a conversion, not counted).
Status ReadStrings(Napi::Value value, std::vector<int64_t> shape, InputSource* out) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) ThrowTypeError(env, "TensorSource.strings must be an array of Uint8Array");
  Napi::Array list = value.As<Napi::Array>();
  const int64_t elements = ShapeNumElements(shape);
  if (static_cast<int64_t>(list.Length()) != elements) {
    return Invalid("strings has " + std::to_string(list.Length()) + " values but shape " + ShapeString(shape) +
                   " has " + std::to_string(elements) + " elements");
  }
  auto tensor = std::make_shared<HostTensor>();
  tensor->dtype = DType::kString;
  tensor->shape = std::move(shape);
  tensor->strings.resize(static_cast<size_t>(elements));
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const uint8_t* data = nullptr;
    size_t size = 0;
    if (!Uint8View(list.Get(i), &data, &size)) {
      ThrowTypeError(env, "TensorSource.strings must be an array of Uint8Array");
    }
    tensor->strings[i].assign(reinterpret_cast<const char*>(data), size);
  }
  *out = HostTensorPtr(std::move(tensor));
  return Status::Ok();
}

// An ArrayBuffer over the tensor's own memory, which it keeps alive.
Napi::ArrayBuffer ArrayBufferOver(Napi::Env env, const HostTensorPtr& tensor) {
  if (tensor->byte_size == 0) return Napi::ArrayBuffer::New(env, 0);
  auto kept = std::make_unique<HostTensorPtr>(tensor);
  napi_value buffer;
  const napi_status status = napi_create_external_arraybuffer(
      env, tensor->data, tensor->byte_size,
      [](napi_env, void*, void* hint) { delete static_cast<HostTensorPtr*>(hint); }, kept.get(), &buffer);
  if (status == napi_ok) {
    kept.release();
    return Napi::ArrayBuffer(env, buffer);
  }
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) throw Napi::Error::New(env);
  // A runtime that refuses external buffers gets a copy, counted like any other.
  Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, tensor->byte_size);
  CountedCopy(copy.Data(), tensor->data, tensor->byte_size);
  return copy;
}

// The dtype as TensorFlow's messages spell it (DataTypeString): "float", "int64", "half".
std::string DTypeShortName(DType dtype) {
  std::string name = DTypeName(dtype);
  if (name.rfind("DT_", 0) == 0) name.erase(0, 3);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

bool ShapeFits(const std::vector<int64_t>& shape, const std::vector<int64_t>& expected) {
  if (shape.size() != expected.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (expected[i] != -1 && expected[i] != shape[i]) return false;
  }
  return true;
}

}  // namespace

ExpectedInput ReadExpectedInput(Napi::Array entry) {
  ExpectedInput expected;
  const uint32_t length = entry.Length();
  if (length <= 2) return expected;
  Napi::Value dtype = entry.Get(2u);
  if (!dtype.IsNumber()) ThrowTypeError(entry.Env(), "an input's expected dtype must be a number");
  expected.dtype = dtype.As<Napi::Number>().Int32Value();
  if (length <= 3 || entry.Get(3u).IsNull() || entry.Get(3u).IsUndefined()) return expected;
  Napi::Value shape = entry.Get(3u);
  if (!shape.IsArray()) ThrowTypeError(entry.Env(), "an input's expected shape must be an array of numbers");
  Napi::Array dims = shape.As<Napi::Array>();
  expected.check_shape = true;
  expected.shape.reserve(dims.Length());
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value dim = dims.Get(i);
    if (!dim.IsNumber()) ThrowTypeError(entry.Env(), "an input's expected shape must be an array of numbers");
    expected.shape.push_back(dim.As<Napi::Number>().Int64Value());
  }
  if (length > 4) expected.alias = entry.Get(4u).ToString().Utf8Value();
  return expected;
}

Status CheckExpectedInput(size_t index, const ExpectedInput& expected, const HostTensor& tensor) {
  if (expected.dtype != 0 && static_cast<int32_t>(tensor.dtype) != expected.dtype) {
    return Invalid("Expects arg[" + std::to_string(index) + "] to be " +
                   DTypeShortName(static_cast<DType>(expected.dtype)) + " but " + DTypeShortName(tensor.dtype) +
                   " is provided");
  }
  if (expected.check_shape && !ShapeFits(tensor.shape, expected.shape)) {
    return Invalid("input " + expected.alias + ": shape " + ShapeString(tensor.shape) +
                   " does not match the signature's " + ShapeString(expected.shape) + " (-1: any size)");
  }
  return Status::Ok();
}

Napi::External<HostTensorPtr> HostTensorHandle(Napi::Env env, const HostTensorPtr& tensor) {
  auto owned = std::make_unique<HostTensorPtr>(tensor);
  auto handle =
      Napi::External<HostTensorPtr>::New(env, owned.get(), [](Napi::Env, HostTensorPtr* kept) { delete kept; });
  owned.release();
  handle.TypeTag(&kHostTensorTag);
  return handle;
}

Napi::Buffer<char> BufferTaking(Napi::Env env, std::unique_ptr<std::string> bytes) {
  std::string* raw = bytes.get();
  auto buffer = Napi::Buffer<char>::New(
      env, raw->data(), raw->size(), [](Napi::Env, char*, std::string* owned) { delete owned; }, raw);
  bytes.release();
  return buffer;
}

Status ReadTensorSource(Napi::Value value, InputSource* out, std::vector<Napi::ObjectReference>* keep_alive) {
  Napi::Env env = value.Env();
  if (value.IsExternal()) {
    *out = HostTensorOfHandle(value);
    return Status::Ok();
  }
  const uint8_t* proto = nullptr;
  size_t proto_size = 0;
  if (Uint8View(value, &proto, &proto_size)) {
    keep_alive->push_back(Napi::Persistent(value.As<Napi::Object>()));
    *out = ProtoBytes{proto, proto_size};
    return Status::Ok();
  }
  if (!value.IsObject() || value.IsTypedArray()) {
    ThrowTypeError(env,
                   "a TensorSource is TensorProto bytes (Uint8Array), {dtype, shape, data}, "
                   "{dtype: 7, shape, strings}, {dtype: 7, shape, data} or a HostTensorHandle");
  }
  Napi::Object source = value.As<Napi::Object>();
  Napi::Value dtype_value = source.Get("dtype");
  if (!dtype_value.IsNumber()) ThrowTypeError(env, "TensorSource.dtype must be a number");
  const int32_t dtype_number = dtype_value.As<Napi::Number>().Int32Value();
  std::vector<int64_t> shape;
  DUO_RETURN_IF_ERROR(ReadShape(source.Get("shape"), &shape));
  if (!IsSupportedDType(dtype_number)) {
    return Invalid("dtype " + std::to_string(dtype_number) + " is not supported");
  }
  const auto dtype = static_cast<DType>(dtype_number);
  Napi::Value data = source.Get("data");
  DenseBytes dense{dtype, std::move(shape), nullptr, 0};
  if (dtype == DType::kString) {
    if (data.IsUndefined()) return ReadStrings(source.Get("strings"), std::move(dense.shape), out);
    // Raw BYTES contents: checked and decoded on the worker thread (MaterializeInput).
    const uint8_t* bytes = nullptr;
    if (!Uint8View(data, &bytes, &dense.size)) {
      ThrowTypeError(env, "TensorSource.data of a DT_STRING tensor must be a Uint8Array");
    }
    dense.data = bytes;
    keep_alive->push_back(Napi::Persistent(data.As<Napi::Object>()));
    *out = std::move(dense);
    return Status::Ok();
  }
  ViewBytes(data, &dense.data, &dense.size);
  const uint64_t needed = static_cast<uint64_t>(ShapeNumElements(dense.shape)) * DTypeSize(dtype);
  if (dense.size != needed) {
    return Invalid("data has " + std::to_string(dense.size) + " bytes but shape " + ShapeString(dense.shape) + " of " +
                   DTypeName(dtype) + " needs " + std::to_string(needed));
  }
  keep_alive->push_back(Napi::Persistent(data.As<Napi::Object>()));
  *out = std::move(dense);
  return Status::Ok();
}

int64_t LeadingDim(Napi::Value value) {
  std::vector<int64_t> shape;
  const uint8_t* proto = nullptr;
  size_t proto_size = 0;
  if (value.IsExternal()) {
    shape = HostTensorOfHandle(value)->shape;
  } else if (Uint8View(value, &proto, &proto_size)) {
    if (!ReadTensorProtoShape(proto, proto_size, &shape).ok()) return -2;
  } else if (value.IsObject() && !value.IsTypedArray()) {
    if (!ReadShape(value.As<Napi::Object>().Get("shape"), &shape).ok()) return -2;
  } else {
    ThrowTypeError(value.Env(), "leadingDim() takes a TensorSource");
  }
  return shape.empty() ? -1 : shape[0];
}

Status MaterializeInput(const InputSource& source, HostTensorPtr* out) {
  if (const auto* ready = std::get_if<HostTensorPtr>(&source)) {
    *out = *ready;
    return Status::Ok();
  }
  if (const auto* proto = std::get_if<ProtoBytes>(&source)) {
    return DecodeTensorProto(proto->data, proto->size, out);
  }
  const auto& dense = std::get<DenseBytes>(source);
  if (dense.dtype == DType::kString) {
    return DecodeRawBytesContents(static_cast<const uint8_t*>(dense.data), dense.size, dense.shape, out);
  }
  std::shared_ptr<HostTensor> tensor = HostTensor::Allocate(dense.dtype, dense.shape);
  if (tensor->byte_size != dense.size) {
    return Status::Error(Code::kInternal, "dense input size changed after it was checked");
  }
  if (dense.size > 0) CountedCopy(tensor->data, dense.data, dense.size);
  NormalizeBools(tensor.get());
  *out = std::move(tensor);
  return Status::Ok();
}

Status BorrowInput(const InputSource& source, HostTensorPtr* out) {
  if (const auto* proto = std::get_if<ProtoBytes>(&source)) {
    return DecodeTensorProtoBorrowing(proto->data, proto->size, out);
  }
  const auto* dense = std::get_if<DenseBytes>(&source);
  // Strings are decoded into their own memory either way.
  if (dense == nullptr || dense->dtype == DType::kString) return MaterializeInput(source, out);
  auto view = std::make_shared<HostTensor>();
  view->dtype = dense->dtype;
  view->shape = dense->shape;
  view->data = const_cast<void*>(dense->data);  // read only, as every HostTensor
  view->byte_size = dense->size;
  *out = std::move(view);
  return Status::Ok();
}

Napi::Object HostTensorToJs(Napi::Env env, const HostTensorPtr& tensor) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("dtype", Napi::Number::New(env, static_cast<int32_t>(tensor->dtype)));
  Napi::Array shape = Napi::Array::New(env, tensor->shape.size());
  for (size_t i = 0; i < tensor->shape.size(); ++i) {
    shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(tensor->shape[i])));
  }
  result.Set("shape", shape);
  if (tensor->dtype == DType::kString) {
    // Element by element (a conversion, not counted): one external Buffer per string would
    // cost more than copying the typical short string.
    Napi::Array strings = Napi::Array::New(env, tensor->strings.size());
    for (size_t i = 0; i < tensor->strings.size(); ++i) {
      const std::string& value = tensor->strings[i];
      strings.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, value.data(), value.size()));
    }
    result.Set("strings", strings);
  } else {
    result.Set("data", ArrayBufferOver(env, tensor));
  }
  result.Set("handle", HostTensorHandle(env, tensor));
  return result;
}

// Below this, copying a numeric output into a plain Buffer costs less than an external one
// (whose finalizer the GC must run); above it the copy costs more.
constexpr size_t kRawCopyBelowBytes = 16 * 1024;

Napi::Object RawTensorToJs(Napi::Env env, const HostTensorPtr& tensor, std::unique_ptr<std::string> bytes) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("dtype", Napi::Number::New(env, static_cast<int32_t>(tensor->dtype)));
  Napi::Array shape = Napi::Array::New(env, tensor->shape.size());
  for (size_t i = 0; i < tensor->shape.size(); ++i) {
    shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(tensor->shape[i])));
  }
  result.Set("shape", shape);
  if (tensor->dtype == DType::kString) {
    result.Set("raw", BufferTaking(env, std::move(bytes)));
  } else if (tensor->byte_size < kRawCopyBelowBytes) {
    Napi::Buffer<char> copy = Napi::Buffer<char>::New(env, tensor->byte_size);
    if (tensor->byte_size > 0) CountedCopy(copy.Data(), tensor->data, tensor->byte_size);
    result.Set("raw", copy);
  } else {
    auto kept = std::make_unique<HostTensorPtr>(tensor);
    HostTensorPtr* hint = kept.get();
    auto view = Napi::Buffer<char>::NewOrCopy(
        env, static_cast<char*>(tensor->data), tensor->byte_size,
        [](Napi::Env, char*, HostTensorPtr* owned) { delete owned; }, hint);
    kept.release();
    result.Set("raw", view);
  }
  return result;
}

}  // namespace duo
