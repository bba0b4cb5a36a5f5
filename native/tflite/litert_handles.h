// Owning handles and status conversion for LiteRT's C API (litert/c/*.h, see
// third_party/README.md for where the headers and libLiteRt.so come from).
#pragma once
#include <memory>
#include <string>

#include "common/status.h"
#include "litert/c/litert_common.h"
#include "litert/c/litert_compiled_model.h"
#include "litert/c/litert_environment.h"
#include "litert/c/litert_model.h"
#include "litert/c/litert_options.h"
#include "litert/c/litert_tensor_buffer.h"

namespace duo::tflite {

template <typename Handle, void (*Destroy)(Handle)>
struct HandleDeleter {
  void operator()(Handle handle) const {
    if (handle != nullptr) Destroy(handle);
  }
};
// LiteRt* handles are pointers to opaque structs; the unique_ptr holds the pointee type.
template <typename Handle, void (*Destroy)(Handle)>
using HandlePtr = std::unique_ptr<std::remove_pointer_t<Handle>, HandleDeleter<Handle, Destroy>>;

using EnvironmentPtr = HandlePtr<LiteRtEnvironment, LiteRtDestroyEnvironment>;
using ModelPtr = HandlePtr<LiteRtModel, LiteRtDestroyModel>;
using OptionsPtr = HandlePtr<LiteRtOptions, LiteRtDestroyOptions>;
using CompiledModelPtr = HandlePtr<LiteRtCompiledModel, LiteRtDestroyCompiledModel>;
using TensorBufferPtr = HandlePtr<LiteRtTensorBuffer, LiteRtDestroyTensorBuffer>;

// A failed LiteRT call as a Status: `what` says what was being done; the code follows the
// LiteRtStatus (invalid arguments and missing tensors are the caller's, the rest INTERNAL).
Status FromLiteRtStatus(LiteRtStatus status, const std::string& what);

#define DUO_RETURN_IF_LITERT_ERROR(expr, what)                                                             \
  do {                                                                                                     \
    LiteRtStatus _litert_status = (expr);                                                                  \
    if (_litert_status != kLiteRtStatusOk) return ::duo::tflite::FromLiteRtStatus(_litert_status, (what)); \
  } while (0)

}  // namespace duo::tflite
