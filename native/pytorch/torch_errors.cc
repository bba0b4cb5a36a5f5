#include "pytorch/torch_errors.h"

#include <exception>
#include <new>

#include <c10/util/Exception.h>

namespace duo::pytorch {

Status StatusFromCurrentException(const std::string& context, Code other_code) {
  // Building the message may itself throw bad_alloc; the fallback keeps this noexcept-safe.
  try {
    try {
      throw;
    } catch (const c10::OutOfMemoryError& e) {
      return Status::Error(Code::kResourceExhausted, context + ": " + e.what_without_backtrace());
    } catch (const c10::Error& e) {
      return Status::Error(Code::kInvalidArgument, context + ": " + e.what_without_backtrace());
    } catch (const std::bad_alloc&) {
      return Status::Error(Code::kResourceExhausted, context + ": out of memory");
    } catch (const std::exception& e) {
      return Status::Error(other_code, context + ": " + e.what());
    } catch (...) {
      return Status::Error(other_code, context + ": unknown exception");
    }
  } catch (...) {
    return Status::Error(Code::kResourceExhausted, "out of memory while reporting an error");
  }
}

}  // namespace duo::pytorch
