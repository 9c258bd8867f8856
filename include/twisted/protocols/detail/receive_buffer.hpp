// The input buffer shared by the framing protocols (LineReceiver,
// IntNStringReceiver, NetstringReceiver). Not part of the public API.
//
// Why it exists: a framing protocol hands each message to user code as a
// string_view, and that code may, during the call, feed the protocol more
// bytes (setLineMode(extra), a nested dataReceived), clear its buffer, or
// pause it. So the bytes being parsed must never move while a view of them
// is out. Here they do not: new bytes that arrive during a callback wait in
// `pending_` and join the window only after the callback has returned, and
// clearing only moves the read offset.
//
// It also avoids copying in the common case: when nothing is buffered, the
// parser works directly on the caller's `data`, and only an incomplete tail
// is copied.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace twisted::detail {

class ReceiveBuffer {
 public:
  /// Starts parsing `data` after what is buffered. Returns false (and keeps
  /// `data` for later) when a parse is already running: the caller is being
  /// re-entered from one of its own callbacks and must return at once.
  bool enter(std::string_view data) {
    if (busy_) {
      if (isConsumedTail(data)) {
        // rawDataReceived handing back the unused end of what it was given
        // (setLineMode(data.substr(n))): un-consume it instead of copying,
        // so flipping modes many times over one buffer stays linear.
        offset_ = static_cast<std::size_t>(data.data() - window_.data());
      } else {
        pending_.append(data);
      }
      return false;
    }
    busy_ = true;
    if (buf_.empty()) {
      window_ = data;  // parse in place; nothing is copied unless a tail remains
      external_ = true;
    } else {
      buf_.append(data);
      window_ = buf_;
      external_ = false;
    }
    offset_ = 0;
    return true;
  }

  /// The bytes not yet consumed.
  std::string_view rest() const { return window_.substr(offset_); }
  std::size_t size() const { return window_.size() - offset_; }
  bool empty() const { return offset_ == window_.size(); }
  /// Marks `n` bytes of rest() as consumed.
  void consume(std::size_t n) { offset_ += n; }

  /// Returns everything buffered (also what arrived during a callback) and
  /// empties the buffer (LineReceiver.clearLineBuffer).
  std::string take() {
    std::string all(busy_ ? rest() : std::string_view(buf_));
    all.append(pending_);
    pending_.clear();
    if (busy_) {
      offset_ = window_.size();
    } else {
      buf_.clear();
      window_ = {};
      offset_ = 0;
    }
    return all;
  }

  /// After a callback returned: bytes that arrived during it join the
  /// window (no view into the window is held by anyone now).
  void afterCallback() {
    if (pending_.empty()) return;
    if (external_) {
      buf_.assign(rest());
      external_ = false;
    } else {
      buf_.erase(0, offset_);
    }
    buf_.append(pending_);
    pending_.clear();
    window_ = buf_;
    offset_ = 0;
  }

  /// Ends the parse: keeps what was not consumed for the next enter().
  void leave() {
    afterCallback();
    if (external_) {
      buf_.assign(rest());
    } else {
      buf_.erase(0, offset_);
    }
    // One huge message must not pin its memory for the connection's life.
    if (buf_.capacity() > kShrinkAbove && buf_.size() < buf_.capacity() / 4) buf_.shrink_to_fit();
    window_ = {};
    offset_ = 0;
    external_ = false;
    busy_ = false;
  }

  /// Bytes buffered between calls (for tests and limits).
  std::size_t buffered() const { return busy_ ? size() + pending_.size() : buf_.size(); }

 private:
  bool isConsumedTail(std::string_view data) const {
    const char* end = window_.data() + window_.size();
    return pending_.empty() && !data.empty() && offset_ == window_.size() &&
           std::less_equal<const char*>()(window_.data(), data.data()) &&
           data.data() + data.size() == end;
  }

  static constexpr std::size_t kShrinkAbove = 1 << 20;
  std::string buf_;          // owned bytes: the tail kept between calls
  std::string pending_;      // bytes that arrived during a callback
  std::string_view window_;  // what is being parsed: buf_ or the caller's data
  std::size_t offset_ = 0;   // consumed part of window_
  bool external_ = false;    // window_ is the caller's data, not buf_
  bool busy_ = false;
};

/// Leaves the buffer when a parse ends, also when user code throws.
class ReceiveScope {
 public:
  explicit ReceiveScope(ReceiveBuffer& b) : b_(b) {}
  ~ReceiveScope() { b_.leave(); }
  ReceiveScope(const ReceiveScope&) = delete;
  ReceiveScope& operator=(const ReceiveScope&) = delete;

 private:
  ReceiveBuffer& b_;
};

}  // namespace twisted::detail
