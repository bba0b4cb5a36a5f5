// Turns a Backend into a Node-API module. The JavaScript surface, identical for every
// framework (typed in src/native/backend_addon.ts):
//
//   load(path: string, options: {[key]: string | Buffer}): Promise<ModelHandle>
//   describe(model: ModelHandle): Buffer
//   run(model, inputs: [name, TensorSource, dtype?, shape?, alias?][], outputNames: string[], encoding,
//       deadline?: number, cancelled?: Int32Array): Promise<[name, Output][]>
//       dtype (tensorflow.DataType, 0: any) and shape (-1: any size; null: not checked) are what
//       the signature expects of the input: checked once, after decoding, with TF's message
//       ("Expects arg[i] to be float but int32 is provided"); alias names the input in a shape
//       error. deadline: microseconds on process.hrtime()'s clock; a run still queued then is
//       not started and rejects with DEADLINE_EXCEEDED. cancelled: a flag the caller sets
//       (element 0 nonzero, with Atomics.store) when it stops listening; a run still queued
//       then is not started and rejects with CANCELLED.
//       TensorSource: Buffer (TensorProto bytes, decoded on the worker thread)
//                   | {dtype, shape, data: ArrayBufferView}  (numeric)
//                   | {dtype: 7, shape, strings: Buffer[]}   (DT_STRING)
//                   | HostTensorHandle                       (an earlier run's 'host' output)
//       encoding: 'fields' -> Output is a Buffer holding a TensorProto with typed fields
//                 'content' -> Output is a Buffer holding a TensorProto with tensor_content
//                 'host'    -> Output is {dtype, shape, data?: ArrayBuffer, strings?: Buffer[],
//                              handle: HostTensorHandle}; `data` views the tensor's memory
//   runBatch(model, tasks: {inputs, deadlineUs?, cancelled?}[], outputNames, encoding,
//            options: {allowedBatchSizes: number[], padVariableLengthInputs: boolean})
//       : Promise<{results: ([name, Output][] | Error)[], batchRows, paddingRows}>
//       several run()s as one: each task's inputs (as run()'s, same names in the same order)
//       are decoded and checked, merged on dim 0 into one tensor per input, run once, and each
//       output is split back by the tasks' rows (common/batch_tensors.h). A task that cannot
//       join (expired, cancelled, bad input, shape unlike the first task's) gets its own Error in
//       `results`; the batch rejects as a whole when the run or an output's split fails.
//   unload(model): void    (the model is freed once the runs in flight finish)
//   (the tensor kit, decode/encode/copyStats and the REST JSON codec, is its own addon:
//   native/codec/codec_addon.cc)
//
// Errors reject with an Error whose `code` is the Status code name ('INVALID_ARGUMENT',
// 'NOT_FOUND', ...) and whose stack is the caller's (captured before the async call); an
// input's error message starts with "input '<tensor name>': ". Arguments of the wrong form
// (a bug in the TypeScript caller) throw a TypeError synchronously. `data` of a 'host'
// output is the tensor's own memory, shared with any run it is chained into: read only.
#pragma once
#include <memory>

#include <napi.h>

#include "common/backend.h"

namespace duo {

Napi::Object InitBackendAddon(Napi::Env env, Napi::Object exports, std::unique_ptr<Backend> backend);

}  // namespace duo

// One registration per framework folder.
#define DUOSERVE_BACKEND_ADDON(BackendClass)                                        \
  static Napi::Object DuoserveInit(Napi::Env env, Napi::Object exports) {           \
    return ::duo::InitBackendAddon(env, exports, std::make_unique<BackendClass>()); \
  }                                                                                 \
  NODE_API_MODULE(NODE_GYP_MODULE_NAME, DuoserveInit)
