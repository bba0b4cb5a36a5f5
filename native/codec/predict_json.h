// Predict's JSON both ways, in C++: TF-Serving's request formats read straight into
// HostTensors of the signature's dtypes, and outputs written with its layout and number
// formatting (json_tensor.cc FillPredictRequestFromJson / MakeJsonFromTensors).
//
// Both cover the common, well-formed case and decline the rest (return false), which the
// TypeScript codec (src/server/rest/json/) then reads or writes with TF-Serving's exact error
// messages: so a body this reader declines is never an error of its own, and a body it reads
// gives exactly the tensors the TypeScript reader would. Declined: malformed or invalid
// bodies, DT_STRING/half/bfloat16/complex inputs, duplicate object keys, numbers that overflow
// a double, DT_STRING outputs, and output aliases that JSON would have to escape.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/backend.h"
#include "common/host_tensor.h"

namespace duo {

enum class JsonPredictFormat { kRow, kColumnar };

// A signature's inputs as reading needs them: alias and dtype (kInvalid: inferred from the
// first value, as TF-Serving does for an unknown dtype), in the signature's order.
struct JsonSignatureInputs {
  std::string name;
  std::vector<std::pair<std::string, DType>> inputs;
};
struct JsonPredictSpec {
  std::string default_signature;
  std::vector<JsonSignatureInputs> signatures;
};

struct JsonPredictRequest {
  std::string signature_name;  // resolved: the default when the body names none
  JsonPredictFormat format = JsonPredictFormat::kRow;
  std::vector<NamedTensor> inputs;  // by alias, in the signature's order
};

// Reads a Predict body; false: declined (see above), `out` unspecified.
bool ReadPredictJson(const char* body, size_t size, const JsonPredictSpec& spec, JsonPredictRequest* out);

// Appends the response body for `outputs` (by alias, in response order) to `out`; false:
// declined, `out` unspecified.
bool WritePredictJson(const std::vector<NamedTensor>& outputs, JsonPredictFormat format, std::string* out);

}  // namespace duo
