#include "common/promise_worker.h"

#include <exception>
#include <new>
#include <string>

namespace duo {

PromiseWorker::PromiseWorker(Napi::Env env, const char* resource_name)
    : Napi::AsyncWorker(env, resource_name),
      deferred_(Napi::Promise::Deferred::New(env)),
      call_site_(Napi::Persistent(Napi::Error::New(env, "").Value())) {}

void PromiseWorker::Execute() {
  if (!status_.ok()) return;
  // Nothing may escape a worker thread: an exception here would end the process.
  try {
    status_ = Work();
  } catch (const std::bad_alloc&) {
    status_ = Status::Error(Code::kResourceExhausted, "out of memory");
  } catch (const std::exception& e) {
    status_ = Status::Error(Code::kInternal, std::string("native exception: ") + e.what());
  } catch (...) {
    status_ = Status::Error(Code::kInternal, "unknown native exception");
  }
}

void PromiseWorker::OnOK() {
  if (!status_.ok()) return Reject(status_);
  Napi::Env env = Env();
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (const std::bad_alloc&) {
    Reject(Status::Error(Code::kResourceExhausted, "out of memory"));
  } catch (const std::exception& e) {
    Reject(Status::Error(Code::kInternal, std::string("native exception: ") + e.what()));
  }
}

// Only reached if node-addon-api itself reports an error; Execute() never sets one.
void PromiseWorker::OnError(const Napi::Error& error) { Reject(Status::Error(Code::kInternal, error.Message())); }

void PromiseWorker::Reject(const Status& status) {
  deferred_.Reject(StatusError(Env(), status, call_site_.Value()).Value());
}

namespace {

// Gives `error` the message and `code` of `status` and the frames of `call_site`'s stack.
Napi::Error WithCallerStack(Napi::Env env, Napi::Object error, const Status& status, Napi::Object call_site) {
  error.Set("message", status.message);
  error.Set("code", CodeName(status.code));
  // The captured stack starts with the line "Error" (made without a message); the frames
  // after it are the caller's.
  std::string stack = "Error: " + status.message;
  Napi::Value captured = call_site.Get("stack");
  if (captured.IsString()) {
    const std::string frames = captured.As<Napi::String>().Utf8Value();
    const size_t first_frame = frames.find('\n');
    if (first_frame != std::string::npos) stack += frames.substr(first_frame);
  }
  error.Set("stack", stack);
  return Napi::Error(env, error);
}

}  // namespace

Napi::Error PromiseWorker::CallerError(Napi::Env env, const Status& status) const {
  return WithCallerStack(env, Napi::Error::New(env, "").Value(), status, call_site_.Value());
}

Napi::Error StatusError(Napi::Env env, const Status& status, Napi::Object call_site) {
  return WithCallerStack(env, call_site, status, call_site);
}

void ThrowStatus(Napi::Env env, const Status& status) {
  Napi::Error error = Napi::Error::New(env, status.message);
  error.Set("code", CodeName(status.code));
  throw error;
}

}  // namespace duo
