// The tensor work of batching, framework-neutral: several requests' tensors of one input
// merged on dim 0 into the one tensor a model runs on, and its outputs split back by rows.
// The rules and messages are TF-Serving's (batching_session.cc, batching_util.cc): padding of
// dims >= 1 for pad_variable_length_inputs, rows added for allowed_batch_sizes, the checks
// an output must pass to be split. Runs on any thread; nothing here knows Node or a framework.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/host_tensor.h"
#include "common/status.h"

namespace duo {

// allowed_batch_sizes: the first allowed size >= rows; rows itself when none is (or the list
// is empty), as RoundToLowestAllowedBatchSize does.
int64_t RoundToAllowedBatchSize(const std::vector<int64_t>& allowed, int64_t rows);

// Whether `tensor` (a task's input `name`) can join a batch whose first task's tensor of that
// name is `first`. Without padding its dims >= 1 must equal first's (FAILED_PRECONDITION, TF's
// message). With padding it needs a rank of 1..6 (TF pads no other, INVALID_ARGUMENT) equal
// to first's.
Status CheckJoinsBatch(const std::string& name, const HostTensor& first, const HostTensor& tensor, bool pad);

// With padding: the largest size of each dim >= 1 over `tensors` (one input of every task);
// dim 0 is left 0. All have one rank (CheckJoinsBatch).
std::vector<int64_t> LargestDims(const std::vector<HostTensorPtr>& tensors);

// With padding: whether `tensor` can be padded to `largest` (LargestDims): a tensor that needs
// padding must have an element to pad with (INVALID_ARGUMENT, TF's message).
Status CheckPaddable(const HostTensor& tensor, const std::vector<int64_t>& largest);

// The batch tensor of one input: `tensors` (one per task, in order) concatenated on dim 0,
// each padded at the end of every dim >= 1 up to `largest` (empty: no padding, all equal
// already) with its own first element, then `padding_rows` copies of the last tensor's first
// (padded) row. Numeric data is copied once per tensor (once per contiguous run when padded)
// and once per padding row, through CountedCopy; strings are assigned element by element.
// kBool bytes are made 0 or 1 (a tensor may view a client's raw bytes).
// The tensors have passed CheckJoinsBatch and CheckPaddable; the last one has a row when
// padding_rows > 0. Throws std::bad_alloc when the memory is not there.
HostTensorPtr MergeBatch(const std::vector<HostTensorPtr>& tensors, const std::vector<int64_t>& largest,
                         int64_t padding_rows);

// One output of the batch split by the tasks' rows (`task_rows`, in order), the trailing
// `padding_rows` dropped. FAILED_PRECONDITION with TF's messages for a rank-0 output and for
// one whose dim 0 is not the batch's rows. Numeric parts are views of `output` (sharing its
// owner, no copy); string parts hold copies of their elements.
Status SplitBatch(const HostTensorPtr& output, const std::vector<int64_t>& task_rows, int64_t padding_rows,
                  std::vector<HostTensorPtr>* parts);

}  // namespace duo
