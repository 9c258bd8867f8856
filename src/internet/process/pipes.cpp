// ChildReader and ChildWriter: the parent's ends of a child's pipes.
#include "pipes.hpp"

#include <unistd.h>

#include <cerrno>

#include "process.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted::process {

namespace {
// What one wake-up reads from a pipe at most: a child writing without
// pause cannot keep the reactor from its other descriptors.
constexpr std::size_t kReadSize = 64 * 1024;
}  // namespace

ChildPipe::~ChildPipe() {
  if (fd_ >= 0) ::close(fd_);
}

void ChildPipe::finish() {
  if (fd_ < 0) return;
  auto self = shared_from_this();  // the process may let go of this pipe below
  if (reactor_) {
    reactor_->removeReader(*this);
    reactor_->removeWriter(*this);
  }
  ::close(fd_);
  fd_ = -1;
  if (auto process = process_.lock()) process->childConnectionLost(childFD_);
}

void ChildPipe::connectionLost(const Failure&) {
  finish();
}

void ChildReader::begin(Reactor& reactor) {
  reactor_ = &reactor;
  if (!paused_) reactor.addReader(shared_from_this());
}

void ChildReader::pause() {
  paused_ = true;
  if (reactor_ && fd_ >= 0) reactor_->removeReader(*this);
}

void ChildReader::resume() {
  paused_ = false;
  if (reactor_ && fd_ >= 0) reactor_->addReader(shared_from_this());
}

IOResult ChildReader::doRead() {
  char buf[kReadSize];
  ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n > 0) {
    // The process may be gone (only the reactor keeps a closed pipe).
    if (auto process = process_.lock()) {
      process->childDataReceived(childFD_, std::string_view(buf, static_cast<std::size_t>(n)));
    }
    return {};
  }
  if (n == 0) return Failure::of(error::ConnectionDone());
  if (errno == EAGAIN || errno == EINTR) return {};
  return Failure::of(error::ConnectionLost());
}

void ChildWriter::begin(Reactor& reactor) {
  reactor_ = &reactor;
  reactor.addReader(shared_from_this());
}

void ChildWriter::write(std::string_view data) {
  if (fd_ < 0 || closing_ || data.empty()) return;
  if (queue_.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      finish();  // the child closed its end (EPIPE)
      return;
    }
    if (n > 0) data.remove_prefix(static_cast<std::size_t>(n));
    if (data.empty()) return;
  }
  queue_.append(data);
  reactor_->addWriter(shared_from_this());
}

IOResult ChildWriter::doWrite() {
  while (!queue_.empty()) {
    std::string_view pending = queue_.pending();
    ssize_t n = ::write(fd_, pending.data(), pending.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return {};
      return Failure::of(error::ConnectionLost());
    }
    queue_.consume(static_cast<std::size_t>(n));
  }
  reactor_->removeWriter(*this);
  if (closing_) finish();
  return {};
}

IOResult ChildWriter::doRead() {
  // Only reported once the child has closed its end: this pipe is done.
  return Failure::of(error::ConnectionLost());
}

void ChildWriter::close() {
  closing_ = true;
  if (queue_.empty()) finish();
}

}  // namespace twisted::process
