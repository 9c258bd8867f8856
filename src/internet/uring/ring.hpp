// Ring: one io_uring, set up and probed for what the reactor needs.
//
// A reactor on the io_uring backend owns one Ring for its life (through its
// poller). See docs/architecture.md, "The io_uring backend: its design".
#pragma once

#include <liburing.h>

#include <memory>
#include <string>
#include <thread>

namespace twisted::detail::uring {

class Ring {
 public:
  /// A ring of `entries` submission slots, probed; nullptr if this process
  /// cannot have one that does all the reactor needs, and then `whyNot`
  /// says why in a few words ("io_uring_setup: Operation not permitted
  /// (a seccomp profile?)"). Never throws for a refusal by the kernel.
  static std::unique_ptr<Ring> open(unsigned entries, std::string& whyNot);

  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  io_uring* get() { return &ring_; }

  /// The calling thread becomes the ring's one issuer: called by every wait
  /// (the loop's thread), a no-op after the first.
  void enable() {
    if (!enabled_) [[unlikely]]
      enableNow();
  }
  bool enabled() const { return enabled_; }
  /// Whether the calling thread may submit: the ring is not enabled yet
  /// (the first wait's thread will submit), or this is its issuer.
  bool onIssuerThread() const { return !enabled_ || issuer_ == std::this_thread::get_id(); }

  /// A free submission slot: when the queue is full, what is in it is
  /// submitted first. Throws std::system_error if that submission fails.
  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    return s ? s : sqeAfterSubmit();
  }

  /// Whether a successful submission may skip its completion
  /// (IOSQE_CQE_SKIP_SUCCESS, kernel 5.17).
  bool canSkipSuccess() const { return skipSuccess_; }
  /// Whether the kernel accepts in multishot (IORING_ACCEPT_MULTISHOT,
  /// Linux 5.19) and cancels (IORING_OP_ASYNC_CANCEL).
  bool canAcceptMultishot() const { return multishotAccept_; }
  /// Whether the kernel receives in multishot into provided buffers and
  /// cancels by descriptor (Linux 6.0, seen as IORING_OP_SEND_ZC).
  bool canStream() const { return stream_; }

 private:
  Ring() = default;
  void enableNow();
  io_uring_sqe* sqeAfterSubmit();

  io_uring ring_{};
  bool set_ = false;  // io_uring_queue_init succeeded
  bool enabled_ = false;
  std::thread::id issuer_;
  bool skipSuccess_ = false;
  bool multishotAccept_ = false;
  bool stream_ = false;
};

}  // namespace twisted::detail::uring
