#include "tensorflow/status_conversion.h"

#include <string>

namespace duo::tf {

namespace {

static_assert(TF_INVALID_ARGUMENT == static_cast<int>(Code::kInvalidArgument) &&
              TF_NOT_FOUND == static_cast<int>(Code::kNotFound) && TF_DATA_LOSS == static_cast<int>(Code::kDataLoss));

Code ToCode(TF_Code code) {
  const int value = static_cast<int>(code);
  // TF_UNAUTHENTICATED (16) has no counterpart in duo::Code; nothing on the serving path
  // produces it.
  if (value < 0 || value > static_cast<int>(Code::kDataLoss)) return Code::kUnknown;
  return static_cast<Code>(value);
}

}  // namespace

Status FromTfStatus(const TF_Status* status, std::string_view context) {
  const TF_Code code = TF_GetCode(status);
  if (code == TF_OK) return Status::Ok();
  std::string message;
  if (!context.empty()) {
    message.append(context);
    message.append(": ");
  }
  message.append(TF_Message(status));
  return Status::Error(ToCode(code), std::move(message));
}

}  // namespace duo::tf
