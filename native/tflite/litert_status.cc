#include "tflite/litert_handles.h"

namespace duo::tflite {

namespace {

// libLiteRt.so does not export LiteRtGetStatusString (declared in litert_common.h), so the
// names of the enumerators are spelled here.
const char* StatusName(LiteRtStatus status) {
  switch (status) {
    case kLiteRtStatusOk: return "ok";
    case kLiteRtStatusErrorInvalidArgument: return "invalid argument";
    case kLiteRtStatusErrorMemoryAllocationFailure: return "memory allocation failure";
    case kLiteRtStatusErrorRuntimeFailure: return "runtime failure";
    case kLiteRtStatusErrorMissingInputTensor: return "missing input tensor";
    case kLiteRtStatusErrorUnsupported: return "unsupported";
    case kLiteRtStatusErrorNotFound: return "not found";
    case kLiteRtStatusErrorTimeoutExpired: return "timeout expired";
    case kLiteRtStatusErrorWrongVersion: return "wrong version";
    case kLiteRtStatusErrorFileIO: return "file I/O error";
    case kLiteRtStatusErrorInvalidFlatbuffer: return "invalid flatbuffer";
    case kLiteRtStatusErrorDynamicLoading: return "dynamic loading error";
    case kLiteRtStatusErrorCompilation: return "compilation error";
    case kLiteRtStatusErrorIndexOOB: return "index out of bounds";
    case kLiteRtStatusErrorUnsupportedOpShapeInferer: return "unsupported op shape inferer";
    default: return "error";
  }
}

Code CodeFor(LiteRtStatus status) {
  switch (status) {
    case kLiteRtStatusErrorInvalidArgument:
    case kLiteRtStatusErrorMissingInputTensor:
    case kLiteRtStatusErrorIndexOOB: return Code::kInvalidArgument;
    case kLiteRtStatusErrorNotFound:
    case kLiteRtStatusErrorFileIO: return Code::kNotFound;
    case kLiteRtStatusErrorUnsupported: return Code::kUnimplemented;
    case kLiteRtStatusErrorMemoryAllocationFailure: return Code::kResourceExhausted;
    case kLiteRtStatusErrorTimeoutExpired: return Code::kDeadlineExceeded;
    case kLiteRtStatusCancelled: return Code::kCancelled;
    default: return Code::kInternal;
  }
}

}  // namespace

Status FromLiteRtStatus(LiteRtStatus status, const std::string& what) {
  return Status::Error(CodeFor(status),
                       what + ": LiteRT " + StatusName(status) + " (" + std::to_string(static_cast<int>(status)) + ")");
}

}  // namespace duo::tflite
