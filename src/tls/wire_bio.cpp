#include "wire_bio.hpp"

#include <algorithm>
#include <cstring>

#include "openssl_error.hpp"
#include "twisted/tls/error.hpp"

namespace twisted::tls::detail {

namespace {

// One method for every connection, made on first use (thread-safe).
const BIO_METHOD* wireMethod(int (*read)(BIO*, char*, int), int (*write)(BIO*, const char*, int),
                             long (*control)(BIO*, int, long, void*)) {
  static BIO_METHOD* method = [&] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "twisted wire");
    if (m && (BIO_meth_set_read(m, read) != 1 || BIO_meth_set_write(m, write) != 1 ||
              BIO_meth_set_ctrl(m, control) != 1)) {
      BIO_meth_free(m);
      m = nullptr;
    }
    return m;
  }();
  return method;
}

}  // namespace

WireBIO::WireBIO() {
  clearErrors();
  const BIO_METHOD* method = wireMethod(&WireBIO::read, &WireBIO::write, &WireBIO::control);
  bio_ = method ? BIO_new(method) : nullptr;
  if (!bio_) throwWithErrors<TLSError>("cannot make the connection's BIO");
  BIO_set_data(bio_, this);
  BIO_set_init(bio_, 1);
}

WireBIO::~WireBIO() {
  if (owned_) BIO_free(bio_);
}

bool WireBIO::inKept() const {
  return !kept_.empty() && in_.data() >= kept_.data() &&
         in_.data() + in_.size() == kept_.data() + kept_.size();
}

void WireBIO::feed(std::string_view data) {
  if (in_.empty()) {
    kept_.clear();
    in_ = data;  // the common case: read in place
    return;
  }
  // Unread bytes (kept, or a call's own, fed again before it returned) come first.
  keepRest();
  kept_.append(data);
  in_ = kept_;
}

void WireBIO::keepRest() {
  if (in_.empty()) {
    kept_.clear();
    in_ = {};
    return;
  }
  if (inKept()) {
    kept_.erase(0, static_cast<std::size_t>(in_.data() - kept_.data()));
  } else {
    kept_.assign(in_);
  }
  in_ = kept_;
}

int WireBIO::read(BIO* bio, char* buffer, int size) {
  auto* self = static_cast<WireBIO*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->in_.empty()) {
    BIO_set_retry_read(bio);  // more will come: not an end
    return -1;
  }
  std::size_t n = std::min(self->in_.size(), static_cast<std::size_t>(std::max(size, 0)));
  std::memcpy(buffer, self->in_.data(), n);
  self->in_.remove_prefix(n);
  return static_cast<int>(n);
}

int WireBIO::write(BIO* bio, const char* data, int size) {
  auto* self = static_cast<WireBIO*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (size <= 0) return 0;
  // No exception may cross OpenSSL's C frames: a failure here is a failed
  // write, which fails the connection.
  try {
    if (self->through_ && self->out_.empty()) {
      self->through_->write(std::string_view(data, static_cast<std::size_t>(size)));
      return size;
    }
    self->out_.append(data, static_cast<std::size_t>(size));
  } catch (...) {
    return -1;
  }
  return size;
}

long WireBIO::control(BIO* bio, int command, long number, void* pointer) {
  (void)number;
  (void)pointer;
  auto* self = static_cast<WireBIO*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // output is taken after each call anyway
    case BIO_CTRL_PENDING:
      return static_cast<long>(self->in_.size());
    case BIO_CTRL_WPENDING:
      return static_cast<long>(self->out_.size());
    default:
      return 0;  // no EOF, no reset, nothing else to tell
  }
}

}  // namespace twisted::tls::detail
