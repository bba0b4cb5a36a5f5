// TF_Status -> duo::Status. TF_Code and duo::Code share the canonical numbering.
#pragma once
#include <string_view>

#include <tensorflow/c/tf_status.h>

#include "common/status.h"

namespace duo::tf {

// `context` (may be empty) prefixes TF's message, e.g. "loading SavedModel from /m/1".
Status FromTfStatus(const TF_Status* status, std::string_view context = {});

}  // namespace duo::tf
