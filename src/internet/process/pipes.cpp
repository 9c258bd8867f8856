// ChildReader and ChildWriter: pipe ends, for a child process or for
// StandardIO.
#include "pipes.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted::process {

namespace {
// What one wake-up reads from a pipe at most: a peer writing without pause
// cannot keep the reactor from its other descriptors.
constexpr std::size_t kReadSize = 64 * 1024;

Failure done() {
  return Failure::of(error::ConnectionDone());
}
Failure lost(int err) {
  return Failure::of(error::ConnectionLost(std::string("pipe: ") + std::strerror(err)));
}

bool isFifo(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}
}  // namespace

ChildPipe::ChildPipe(std::weak_ptr<PipeOwner> owner, int name, int fd, PipeOptions options)
    : owner_(std::move(owner)), name_(name), fd_(fd), options_(options) {
  if (!options_.owned) originalFlags_ = ::fcntl(fd_, F_GETFL);
  // A lent descriptor is non-blocking only while it is served here.
  if (options_.pollable) ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

ChildPipe::~ChildPipe() {
  if (fd_ < 0) return;
  if (options_.owned) {
    ::close(fd_);
  } else if (originalFlags_ >= 0) {
    ::fcntl(fd_, F_SETFL, originalFlags_);
  }
}

void ChildPipe::finish(const Failure& reason) {
  if (fd_ < 0) return;
  auto self = shared_from_this();  // the owner may let go of this end below
  if (reactor_) {
    reactor_->removeReader(*this);
    reactor_->removeWriter(*this);
  }
  if (options_.owned) {
    ::close(fd_);
  } else {
    if (originalFlags_ >= 0) ::fcntl(fd_, F_SETFL, originalFlags_);
    // A writer's peer sees the end of the stream only once no descriptor
    // of ours refers to it any more: a socket is shut, and a pipe or a
    // socket is replaced by /dev/null, keeping the number taken (so no
    // later open becomes "stdout" by accident). A terminal or a file is
    // left as it is.
    if (isWriter()) {
      struct stat st {};
      if (::fstat(fd_, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
        if (S_ISSOCK(st.st_mode)) ::shutdown(fd_, SHUT_WR);
        int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
          ::dup3(null, fd_, 0);
          ::close(null);
        }
      }
    }
  }
  fd_ = -1;
  if (auto owner = owner_.lock()) owner->pipeConnectionLost(name_, reason);
}

IOResult ChildPipe::readAvailable() {
  char buf[kReadSize];
  ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n > 0) {
    // The owner may be gone (only the reactor keeps a closed end).
    if (auto owner = owner_.lock()) {
      owner->pipeDataReceived(name_, std::string_view(buf, static_cast<std::size_t>(n)));
    }
    return {};
  }
  // A PTY's master reads EIO once the child's side has closed: its end.
  if (n == 0 || errno == EIO) return done();
  if (errno == EAGAIN || errno == EINTR) return {};
  return lost(errno);
}

void ChildPipe::abort() {
  finish(done());
}

void ChildPipe::connectionLost(const Failure& reason) {
  finish(reason);
}

// ---- ChildReader ---------------------------------------------------------------

void ChildReader::begin(Reactor& reactor) {
  reactor_ = &reactor;
  if (paused_) return;
  if (options_.pollable) {
    reactor.addReader(shared_from_this());
  } else {
    schedule();
  }
}

void ChildReader::schedule() {
  std::weak_ptr<ChildPipe> weak = weak_from_this();
  next_ = reactor_->callLater(0, [weak] {
    auto self = std::static_pointer_cast<ChildReader>(weak.lock());
    if (!self || self->fd_ < 0 || self->paused_) return;
    IOResult result = self->doRead();
    if (result) {
      self->finish(*result);
    } else if (self->fd_ >= 0 && !self->paused_) {
      self->schedule();
    }
  });
}

void ChildReader::pause() {
  paused_ = true;
  if (!reactor_ || fd_ < 0) return;
  if (options_.pollable) {
    reactor_->removeReader(*this);
  } else if (next_.active()) {
    next_.cancel();
  }
}

void ChildReader::resume() {
  if (!paused_) return;
  paused_ = false;
  if (reactor_ && fd_ >= 0) begin(*reactor_);
}

void ChildReader::close() {
  finish(done());
}

IOResult ChildReader::doRead() {
  return readAvailable();
}

// ---- ChildWriter ---------------------------------------------------------------

ChildWriter::ChildWriter(std::weak_ptr<PipeOwner> owner, int name, int fd, PipeOptions options,
                         bool readsToo)
    : ChildPipe(std::move(owner), name, fd, options), readsToo_(readsToo) {
  watchesClose_ = !readsToo && options.pollable && isFifo(fd);
}

void ChildWriter::begin(Reactor& reactor) {
  reactor_ = &reactor;
  watchReading();
}

void ChildWriter::watchReading() {
  if (fd_ >= 0 && (watchesClose_ || (readsToo_ && !paused_))) {
    reactor_->addReader(shared_from_this());
  }
}

void ChildWriter::pause() {
  paused_ = true;
  if (readsToo_ && reactor_ && fd_ >= 0) reactor_->removeReader(*this);
}

void ChildWriter::resume() {
  if (!paused_) return;
  paused_ = false;
  if (reactor_) watchReading();
}

void ChildWriter::write(std::string_view data) {
  if (fd_ < 0 || closing_ || data.empty()) return;
  if (queue_.empty()) {
    // Unpollable (a regular file): written at once, as a blocking write.
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN && options_.pollable) break;
        finish(lost(errno));  // the reader has gone (EPIPE), or worse
        return;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
      if (options_.pollable) break;
    }
    if (data.empty()) return;
  }
  queue_.append(data);
  reactor_->addWriter(shared_from_this());
}

IOResult ChildWriter::doWrite() {
  std::size_t before = queue_.size();
  while (!queue_.empty()) {
    std::string_view pending = queue_.pending();
    ssize_t n = ::write(fd_, pending.data(), pending.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return lost(errno);
    }
    queue_.consume(static_cast<std::size_t>(n));
    // A short write filled the pipe: trying again would only be EAGAIN.
    if (static_cast<std::size_t>(n) < pending.size()) break;
  }
  auto self = shared_from_this();
  if (queue_.empty()) reactor_->removeWriter(*this);
  if (queue_.size() != before) {
    if (auto owner = owner_.lock()) owner->pipeQueueShrank(name_, queue_.size());
  }
  if (queue_.empty() && closing_) finish(done());
  return {};
}

IOResult ChildWriter::doRead() {
  if (!readsToo_) return lost(EPIPE);  // the reader closed its end
  return readAvailable();
}

void ChildWriter::close() {
  closing_ = true;
  if (queue_.empty()) finish(done());
}

}  // namespace twisted::process
