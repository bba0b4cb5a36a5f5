// libtorch's CPU threads. Both settings are process-wide, shared by every PyTorch model:
//   intra-op: the OpenMP team (and MKL's threads) one op of one run may use, at::set_num_threads;
//   inter-op: the pool that runs torch.jit.fork / at::launch work, at::set_num_interop_threads,
//             which libtorch takes once per process and only before any inter-op work.
// TypeScript derives both from the thread budget (src/config/thread_budget.ts) and passes them
// with every load; the first load applies them, later ones find them applied.
#pragma once

#include "common/status.h"

namespace duo::pytorch {

struct TorchThreads {
  int intra_op = 0;  // 0: keep libtorch's default (one per core)
  int inter_op = 0;  // 0: keep libtorch's default (one per core)
};

// Applies the settings that are not 0. Called again with the same values it does nothing; a
// different intra-op count is applied (runs pick it up at their next start); a different
// inter-op count once one is set is kFailedPrecondition, as libtorch cannot change it.
Status ConfigureTorchThreads(const TorchThreads& wanted);

// OpenMP's thread count is a per-thread setting (an ICV), and MKL's is per thread too
// (mkl_set_num_threads_local): a libuv worker starts with OpenMP's default, whatever
// at::set_num_threads did on another thread. Every run calls this first, on its worker thread;
// it costs a thread-local compare once the thread is up to date.
void UseTorchThreadsOnThisThread();

}  // namespace duo::pytorch
