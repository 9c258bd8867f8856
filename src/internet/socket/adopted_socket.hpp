// AdoptedSocket: the check and duplicate every IReactorSocket call starts
// with. Internal. See docs/architecture.md, "Adopted and inherited sockets".
#pragma once

namespace twisted::detail {

/// A socket handed to the reactor by its caller, checked and duplicated:
/// the caller's descriptor is never kept, closed or changed beyond the
/// O_NONBLOCK their open file description shares.
class AdoptedSocket {
 public:
  /// What the call needs the socket to be.
  enum class Kind { ListeningStream, ConnectedStream, Datagram };

  /// Checks that `fd` is a socket of `family` and of `kind` and duplicates
  /// it (close-on-exec, non-blocking). `call` names the call in messages.
  /// @throws error::CannotAdoptError saying why it is not.
  AdoptedSocket(int fd, int family, Kind kind, const char* call);
  ~AdoptedSocket();
  AdoptedSocket(AdoptedSocket&& other) noexcept : fd_(other.fd_), family_(other.family_) {
    other.fd_ = -1;
  }
  AdoptedSocket& operator=(AdoptedSocket&&) = delete;
  AdoptedSocket(const AdoptedSocket&) = delete;
  AdoptedSocket& operator=(const AdoptedSocket&) = delete;

  /// Hands the duplicate over (once; -1 afterwards).
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// The duplicate, still owned here (-1 once released).
  int fd() const { return fd_; }
  int family() const { return family_; }

 private:
  int fd_ = -1;
  int family_;
};

}  // namespace twisted::detail
