// Status values that cross from the frameworks to TypeScript. Codes are the canonical
// google.rpc codes (the ones TF_Code and gRPC share); TypeScript maps each to its gRPC
// status and HTTP status in one table (src/errors/).
#pragma once
#include <string>
#include <utility>

namespace duo {

enum class Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

struct Status {
  Code code = Code::kOk;
  std::string message;

  bool ok() const { return code == Code::kOk; }
  static Status Ok() { return {}; }
  static Status Error(Code code, std::string message) { return {code, std::move(message)}; }
};

// "INVALID_ARGUMENT" etc.: the canonical name TypeScript receives as the error's `code`.
const char* CodeName(Code code);

#define DUO_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::duo::Status _duo_status = (expr);        \
    if (!_duo_status.ok()) return _duo_status; \
  } while (0)

}  // namespace duo
