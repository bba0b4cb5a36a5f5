// One asynchronous addon call: Work() runs on a libuv worker thread, Result() back on the
// JS thread settles the promise. Every failure (a Status from Work, any exception) rejects
// with an Error whose `code` is the Status code name and whose stack is the JS caller's,
// captured when the call was made, so a native failure points at the code that asked.
#pragma once
#include <memory>

#include <napi.h>

#include "common/status.h"

namespace duo {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // On the JS thread, inside the binding the caller called.
  PromiseWorker(Napi::Env env, const char* resource_name);

  Napi::Promise Promise() const { return deferred_.Promise(); }
  // A failure found while reading the arguments: rejects without running Work().
  void FailEarly(Status status) { status_ = std::move(status); }

 protected:
  // JS thread: a fresh Error for `status` with the caller's stack, for a result that carries
  // failures of its own (runBatch's tasks) beside what it resolves.
  Napi::Error CallerError(Napi::Env env, const Status& status) const;
  // Worker thread. May throw; exceptions become kInternal (kResourceExhausted for bad_alloc).
  virtual Status Work() = 0;
  // JS thread, after Work() succeeded.
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& error) final;
  void Reject(const Status& status);

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference call_site_;  // an Error made at call time, for its stack
  Status status_;
};

// An Error carrying `status` (message and `code`) with the stack of `call_site`, an Error
// created earlier on the JS thread.
Napi::Error StatusError(Napi::Env env, const Status& status, Napi::Object call_site);
// Throws `status` as a JS Error from a synchronous binding (the stack is the current one).
[[noreturn]] void ThrowStatus(Napi::Env env, const Status& status);

// Starts a worker built on the JS thread and returns its promise: the queue owns it from here on.
template <typename Worker>
Napi::Promise Start(std::unique_ptr<Worker> worker) {
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  worker.release();
  return promise;
}

}  // namespace duo
