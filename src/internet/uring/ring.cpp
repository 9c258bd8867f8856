// Ring set-up: the newest flags first, then what older kernels have; every
// refusal turned into a sentence for the log, never an exit.
#include "ring.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "../errno_text.hpp"

namespace twisted::detail::uring {
namespace {

// Why io_uring_setup said no, with the usual reason for each answer.
std::string setupRefusal(int err) {
  std::string why = "io_uring_setup: " + errnoText(err);
  if (err == ENOSYS) return why + " (a kernel without io_uring, or a seccomp profile)";
  if (err == ENOMEM) return why + " (the locked-memory limit, RLIMIT_MEMLOCK?)";
  if (err != EPERM) return why;
  std::ifstream sysctl("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  if (sysctl >> disabled && disabled == 2) return why + " (kernel.io_uring_disabled is 2)";
  if (disabled == 1) {
    return why +
           " (kernel.io_uring_disabled is 1 and this process is not in kernel.io_uring_group)";
  }
  return why + " (a seccomp profile, as in a container's default one?)";
}

}  // namespace

std::unique_ptr<Ring> Ring::open(unsigned entries, std::string& whyNot) {
  std::unique_ptr<Ring> ring(new Ring);
  // Disabled until the loop's first wait: the thread that runs the loop,
  // not the one that made the reactor, is the ring's single issuer. A
  // completion queue 16 times the submission queue: a turn that arms
  // hundreds of polls gets all their answers without an overflow.
  io_uring_params p{};
  p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = entries * 16;
  int rc = io_uring_queue_init_params(entries, &ring->ring_, &p);
  if (rc == -EINVAL) {
    // Before Linux 6.1: no single issuer, no deferred task running.
    p = io_uring_params{};
    p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 16;
    rc = io_uring_queue_init_params(entries, &ring->ring_, &p);
  }
  if (rc < 0) {
    whyNot = setupRefusal(-rc);
    return nullptr;
  }
  ring->set_ = true;
  if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_EXT_ARG)) {
    whyNot =
        "the kernel's io_uring lacks a feature the reactor needs (IORING_FEAT_NODROP, "
        "IORING_FEAT_EXT_ARG: Linux 5.11)";
    return nullptr;
  }
  ring->skipSuccess_ = (p.features & IORING_FEAT_CQE_SKIP) != 0;
  io_uring_probe* probe = io_uring_get_probe_ring(&ring->ring_);
  if (!probe) {
    whyNot = "the kernel would not list its io_uring operations (IORING_REGISTER_PROBE)";
    return nullptr;
  }
  struct Needed {
    int op;
    const char* name;
  };
  for (Needed n :
       {Needed{IORING_OP_POLL_ADD, "POLL_ADD"}, Needed{IORING_OP_POLL_REMOVE, "POLL_REMOVE"}}) {
    if (!io_uring_opcode_supported(probe, n.op)) {
      io_uring_free_probe(probe);
      whyNot = std::string("the kernel's io_uring lacks the operation ") + n.name;
      return nullptr;
    }
  }
  // Multishot accept came with Linux 5.19, as IORING_OP_SOCKET did; that
  // operation is what the probe can see.
  ring->multishotAccept_ = io_uring_opcode_supported(probe, IORING_OP_SOCKET) &&
                           io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL);
  // Multishot receive came with Linux 6.0, as IORING_OP_SEND_ZC did.
  ring->stream_ = ring->multishotAccept_ && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
  io_uring_free_probe(probe);
  return ring;
}

Ring::~Ring() {
  if (set_) io_uring_queue_exit(&ring_);
}

void Ring::enableNow() {
  // liburing 2.3 declares io_uring_enable_rings but does not export it
  // (its symbol map leaves it out): the register call it would make.
  long rc =
      ::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (rc < 0)
    throw std::system_error(errno, std::generic_category(), "io_uring_register(ENABLE_RINGS)");
  enabled_ = true;
  issuer_ = std::this_thread::get_id();
}

io_uring_sqe* Ring::sqeAfterSubmit() {
  int rc = io_uring_submit(&ring_);
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_submit");
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (!s) throw std::system_error(EBUSY, std::generic_category(), "io_uring_get_sqe");
  return s;
}

}  // namespace twisted::detail::uring
