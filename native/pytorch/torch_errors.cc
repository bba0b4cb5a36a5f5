#include "pytorch/torch_errors.h"

#include <exception>
#include <new>
#include <string_view>

#include <c10/util/Exception.h>

namespace duo::pytorch {
namespace {

// The TorchScript interpreter wraps an op's error in two tracebacks, the second quoting the
// model author's Python source and paths. Clients get just the error, as TF-Serving's
// answers carry just the kernel's message.
std::string ConciseMessage(const c10::Error& error) {
  std::string message = error.what_without_backtrace();
  constexpr std::string_view kInterpreterPreamble = "The following operation failed in the TorchScript interpreter.";
  constexpr std::string_view kLastFrameMarker = "<--- HERE\n";
  constexpr std::string_view kRuntimeError = "RuntimeError: ";
  size_t marker = message.rfind(kLastFrameMarker);
  if (message.starts_with(kInterpreterPreamble) && marker != std::string::npos) {
    message.erase(0, marker + kLastFrameMarker.size());
    while (!message.empty() && (message.front() == '\n' || message.front() == ' ')) message.erase(0, 1);
    if (message.starts_with(kRuntimeError)) message.erase(0, kRuntimeError.size());
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace

Status StatusFromCurrentException(const std::string& context, Code other_code) {
  // Building the message may itself throw bad_alloc; the fallback keeps this noexcept-safe.
  try {
    try {
      throw;
    } catch (const c10::OutOfMemoryError& e) {
      return Status::Error(Code::kResourceExhausted, context + ": " + ConciseMessage(e));
    } catch (const c10::Error& e) {
      return Status::Error(Code::kInvalidArgument, context + ": " + ConciseMessage(e));
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
