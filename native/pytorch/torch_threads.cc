#include "pytorch/torch_threads.h"

#include <atomic>
#include <mutex>
#include <string>

#include <ATen/Parallel.h>

namespace duo::pytorch {
namespace {

std::mutex configure_mutex;
TorchThreads applied;  // guarded by configure_mutex
// Bumped by every intra-op change, so that each worker thread re-reads the setting once.
std::atomic<int> intra_op_generation{0};

}  // namespace

Status ConfigureTorchThreads(const TorchThreads& wanted) {
  std::lock_guard<std::mutex> lock(configure_mutex);
  if (wanted.inter_op > 0 && wanted.inter_op != applied.inter_op) {
    if (applied.inter_op != 0) {
      return Status::Error(Code::kFailedPrecondition,
                           "libtorch's inter-op threads are already " + std::to_string(applied.inter_op) +
                               " in this process; they cannot change to " + std::to_string(wanted.inter_op));
    }
    at::set_num_interop_threads(wanted.inter_op);  // throws c10::Error once inter-op work has started
    applied.inter_op = wanted.inter_op;
  }
  if (wanted.intra_op > 0 && wanted.intra_op != applied.intra_op) {
    at::set_num_threads(wanted.intra_op);
    applied.intra_op = wanted.intra_op;
    intra_op_generation.fetch_add(1, std::memory_order_release);
  }
  return Status::Ok();
}

void UseTorchThreadsOnThisThread() {
  thread_local int seen_generation = 0;
  const int generation = intra_op_generation.load(std::memory_order_acquire);
  if (generation == seen_generation) return;
  // Sets this thread's OpenMP and MKL counts from at::set_num_threads's process-wide value.
  at::init_num_threads();
  seen_generation = generation;
}

}  // namespace duo::pytorch
