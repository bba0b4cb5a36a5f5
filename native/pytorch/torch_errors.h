// Exception translation: nothing libtorch throws may cross Load/Run, so every call into it
// goes through CallTorch, which turns an exception into a Status.
#pragma once
#include <string>
#include <utility>

#include "common/status.h"

namespace duo::pytorch {

// The Status for the exception being handled (call only inside a catch block):
//   c10::OutOfMemoryError, std::bad_alloc  -> kResourceExhausted
//   c10::Error (TORCH_CHECK, TorchScript runtime errors: nearly always the input's fault, a
//     wrong shape or dtype)                -> kInvalidArgument, with the error itself (not the
//                                             TorchScript tracebacks, which quote model source)
//   any other exception                    -> `other_code`
// `context` prefixes the message ("forward() failed", "cannot load /m/1/model.pt").
Status StatusFromCurrentException(const std::string& context, Code other_code);

// Runs `fn` (returning Status), converting anything it throws. Load passes
// kInvalidArgument as `other_code` (a bad file is the cause), Run passes kInternal.
template <typename Fn>
Status CallTorch(const std::string& context, Code other_code, Fn&& fn) noexcept {
  try {
    return std::forward<Fn>(fn)();
  } catch (...) {
    return StatusFromCurrentException(context, other_code);
  }
}

}  // namespace duo::pytorch
