// Streams: the io_uring poller's connected stream sockets, received and
// sent through the kernel (Completions::startStream). Each has a multishot
// receive into the shared BufferRing while it is watched for reading, its
// results queued here in order, and at most one send job in flight whose
// bytes it holds. It tells the poller what to report: readable while
// results wait, writable while no send is in flight. Ownership and the
// rules for cancelling: docs/architecture.md, "The io_uring backend: its
// design".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "../poller/poller.hpp"
#include "../stream/write_queue.hpp"
#include "buffer_ring.hpp"
#include "op_tag.hpp"
#include "ring.hpp"

namespace twisted::detail::uring {

class Streams {
 public:
  /// Sends of at least this many bytes are zero-copy (IORING_OP_SEND_ZC):
  /// below it, pinning pages and the extra notification cost more than the
  /// copy they save.
  static constexpr std::size_t kZeroCopyFrom = 256 * 1024;
  /// A stream with this many results not taken has its receive cancelled
  /// until it takes them (a fair share of the ring).
  static constexpr std::size_t kMostWaiting = 32;

  explicit Streams(Ring& ring) : ring_(ring) {}
  /// After the ring has exited (the poller's order).
  ~Streams();
  Streams(const Streams&) = delete;
  Streams& operator=(const Streams&) = delete;

  /// Starts `fd` (interest `mask`); false where the kernel cannot.
  bool start(int fd, unsigned mask);
  bool has(int fd) const {
    return static_cast<std::size_t>(fd) < byFd_.size() && byFd_[static_cast<std::size_t>(fd)];
  }
  /// The reactor's interest in a started `fd` changed.
  void update(int fd, unsigned mask) {
    Stream& s = *byFd_[static_cast<std::size_t>(fd)];
    s.mask = mask;
    touch(s);
  }
  std::optional<Completions::Received> take(int fd);
  void release(std::uint16_t buffer);
  void send(int fd, WriteBuffer& bytes);
  void sendReceived(int fd, std::string_view data, std::uint16_t buffer);
  std::optional<long> takeSent(int fd);
  /// Cancels what `fd` has in flight (submitted, to be run by the caller).
  void stop(int fd);

  /// Before a wait: arms and cancels receives as interests changed; true if
  /// something is to be reported already (the wait must not block).
  bool prepare();
  /// A receive's or a send's completion.
  void completed(std::uint64_t data, int res, unsigned flags);
  /// Whether bytes of a zero-copy send still wait for the kernel's notification.
  bool pinsPending() const;
  /// After the completions: what to report this turn.
  void report(FiredList& fired);
  Completions::Counters counters() const {
    Completions::Counters c = counters_;
    c.orphans = orphans_.size();
    c.buffersFree = buffers_ ? buffers_->available() : 0;
    return c;
  }

 private:
  struct Waiting {
    int result;            // > 0: bytes in `buffer`; 0: the end; < 0: -errno
    std::uint16_t buffer;  // < BufferRing::kCount: the ring's; above: a copy (copies_)
  };
  struct Stream {
    int fd = -1;
    std::uint32_t seq = 0;
    unsigned mask = 0;
    int ops = 0;             // submissions whose main completion has not come
    bool touched = false;    // listed in touched_
    bool recvArmed = false;  // a multishot receive in flight
    bool recvCancelling = false;
    bool recvEnded = false;  // the end or an error came: never armed again
    bool starved = false;    // ENOBUFS: armed again once a buffer comes back
    bool parked = false;     // listed in parked_
    bool sending = false;    // a send job not yet taken (takeSent)
    bool sendDone = false;   // ... and finished, with sendResult
    bool sendZc = false;     // the send in flight is zero-copy
    bool noZc = false;       // the socket refused zero-copy: plain sends only
    // An earlier job's bytes are still pinned: the next jobs are plain
    // sends, so that what the kernel holds of ours stays one job's worth
    // (zero-copy bytes sit in the socket's queue until delivered).
    bool pinOut = false;
    long sendResult = 0;
    std::vector<Waiting> received;
    std::size_t head = 0;  // first result not taken
    // The job: `left` bytes at `at`, in `out`, in pin `pin` (once a
    // zero-copy send took them) or in received buffer `held`.
    WriteBuffer out;
    const char* at = nullptr;
    std::size_t left = 0;
    long total = 0;
    int held = -1;
    int pin = -1;
  };
  // A job's bytes once a zero-copy send has them: the kernel may read them
  // until that send's notification, after the job itself has ended (the
  // peer's acknowledgement), so they are kept apart from the stream.
  struct Pin {
    int fd = -1;
    std::uint32_t seq = 0;
    int refs = 0;         // sends from these bytes whose last completion has not come
    bool active = false;  // the job is still the stream's
    WriteBuffer bytes;
  };

  void touch(Stream& s) {
    if (s.touched) return;
    s.touched = true;
    touched_.push_back(s.fd);
  }
  // Armed only once what it received is taken: the results waiting (in
  // ring buffers, or copies) are bounded by one ring's worth per arming,
  // whatever the transport's pauses.
  static bool needsArm(const Stream& s) {
    return (s.mask & kRead) && !s.recvArmed && !s.recvEnded && !s.starved &&
           s.head == s.received.size();
  }
  // What a stream is reported as: readable while results wait (or its job
  // ended, so that the transport takes the result with the read), writable
  // while no send is in flight.
  static unsigned events(const Stream& s) {
    bool inFlight = s.sending && !s.sendDone;
    return ((s.mask & kRead) && (s.head < s.received.size() || (s.sending && s.sendDone)) ? kRead
                                                                                          : 0u) |
           ((s.mask & kWrite) && !inFlight ? kWrite : 0u);
  }
  const char* dataOf(std::uint16_t buffer) const {
    return buffer < BufferRing::kCount ? buffers_->data(buffer)
                                       : copies_[buffer - BufferRing::kCount].get();
  }
  void arm(Stream& s);
  void copyWaiting(Stream& s);
  void submitSend(Stream& s);
  void finishSend(Stream& s, long result);
  int pinJob(Stream& s);
  void unpin(int pin);
  void cancel(std::uint64_t target);
  void sendCompleted(Stream& s, int res, unsigned flags);
  void orphanCompleted(Kind kind, int fd, std::uint32_t seq, unsigned flags);

  Ring& ring_;
  std::unique_ptr<BufferRing> buffers_;  // made with the first stream
  bool unavailable_ = false;             // the kernel refused the buffers
  std::vector<std::unique_ptr<Stream>> byFd_;
  // Stopped streams with operations still in flight, until their last
  // completion.
  std::vector<std::unique_ptr<Stream>> orphans_;
  std::vector<std::unique_ptr<Pin>> pins_;  // by index; null: free
  std::vector<int> freePins_;
  // Received bytes copied out of the ring (a stream that stopped reading
  // gives its buffers back): ids BufferRing::kCount + index.
  std::vector<std::unique_ptr<char[]>> copies_;
  std::vector<std::uint16_t> freeCopies_;
  std::vector<int> touched_;  // to look at in the next prepare and report
  std::vector<int> starved_;  // waiting for a buffer
  std::vector<int> parked_;   // not reading, with results in ring buffers
  std::uint32_t nextSeq_ = 0;
  Completions::Counters counters_;
};

}  // namespace twisted::detail::uring
