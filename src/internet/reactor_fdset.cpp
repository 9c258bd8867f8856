// IReactorFDSet: registration and dispatch of readiness events.
#include <stdexcept>
#include <string>

#include "hot_path.hpp"
#include "reactor_impl.hpp"
#include "twisted/internet/error.hpp"

namespace twisted {

using detail::kError;
using detail::kHangup;
using detail::kInvalid;
using detail::kRead;
using detail::kWrite;

namespace {
const IFileDescriptor* asFile(const std::shared_ptr<IReadDescriptor>& r) {
  return r ? static_cast<const IFileDescriptor*>(r.get()) : nullptr;
}
const IFileDescriptor* asFile(const std::shared_ptr<IWriteDescriptor>& w) {
  return w ? static_cast<const IFileDescriptor*>(w.get()) : nullptr;
}
// Out of line: building a Failure inlines a throw's worth of code.
[[gnu::cold, gnu::noinline]] Failure fdWentAway() {
  return Failure::of(error::ConnectionFdescWentAway());
}
}  // namespace

Reactor::Impl::Slot& Reactor::Impl::slotFor(int fd) {
  if (fd < 0) throw std::invalid_argument("descriptor has no file descriptor (fileno() < 0)");
  if (static_cast<std::size_t>(fd) >= slots.size()) slots.resize(fd + 1);
  return slots[fd];
}

int Reactor::Impl::findFd(const IFileDescriptor& d) const {
  int fd = d.fileno();
  auto holds = [&](const Slot& s) { return asFile(s.reader) == &d || asFile(s.writer) == &d; };
  if (fd >= 0 && static_cast<std::size_t>(fd) < slots.size() && holds(slots[fd])) return fd;
  // fileno() may already say -1 (or another number): find it by identity.
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (holds(slots[i])) return static_cast<int>(i);
  }
  return -1;
}

void Reactor::Impl::setMask(int fd, Slot& slot, unsigned mask) {
  if (mask == slot.mask) return;
  unsigned extra = slot.exclusive ? detail::kExclusive : 0u;
  // Throws before anything changed.
  poller->update(fd, slot.mask ? slot.mask | extra : 0u, mask ? mask | extra : 0u);
  slot.mask = mask;
  if (mask == 0) slot.exclusive = false;  // the next user of the number is not
}

detail::Completions* detail::ReactorTransportHost::completions() {
  return impl_.poller->completions();
}

void detail::ReactorTransportHost::addExclusiveReader(std::shared_ptr<IReadDescriptor> reader) {
  impl_.checkThread("Reactor::addReader");
  if (!reader) throw std::invalid_argument("addReader(nullptr)");
  Reactor::Impl::Slot& slot = impl_.slotFor(reader->fileno());
  // Only a first registration can be exclusive (epoll's rule).
  bool marked = slot.mask == 0 && !slot.exclusive;
  if (marked) slot.exclusive = true;
  try {
    reactor_.addReader(std::move(reader));
  } catch (...) {
    if (marked && slot.mask == 0) slot.exclusive = false;
    throw;
  }
}

void Reactor::addReader(std::shared_ptr<IReadDescriptor> reader) {
  impl_->checkThread("Reactor::addReader");
  if (!reader) throw std::invalid_argument("addReader(nullptr)");
  int fd = reader->fileno();
  Impl& im = *impl_;
  Impl::Slot& slot = im.slotFor(fd);
  if (slot.reader == reader) return;
  im.setMask(fd, slot, slot.mask | kRead);
  if (slot.reader) {  // another object had this fd: it is replaced
    im.graveyard.push_back(std::move(slot.reader));
    ++slot.generation;
  }
  slot.reader = std::move(reader);
}

void Reactor::addWriter(std::shared_ptr<IWriteDescriptor> writer) {
  impl_->checkThread("Reactor::addWriter");
  if (!writer) throw std::invalid_argument("addWriter(nullptr)");
  int fd = writer->fileno();
  Impl& im = *impl_;
  Impl::Slot& slot = im.slotFor(fd);
  if (slot.writer == writer) return;
  im.setMask(fd, slot, slot.mask | kWrite);
  if (slot.writer) {
    im.graveyard.push_back(std::move(slot.writer));
    ++slot.generation;
  }
  slot.writer = std::move(writer);
}

void Reactor::Impl::dropReader(int fd, Slot& slot) {
  // Kernel first: if it refuses, the reader stays registered.
  setMask(fd, slot, slot.mask & ~kRead);
  graveyard.push_back(std::move(slot.reader));
  slot.reader = nullptr;
  ++slot.generation;
}

void Reactor::Impl::dropWriter(int fd, Slot& slot) {
  setMask(fd, slot, slot.mask & ~kWrite);
  graveyard.push_back(std::move(slot.writer));
  slot.writer = nullptr;
  ++slot.generation;
}

void Reactor::removeReader(const IReadDescriptor& reader) {
  impl_->checkThread("Reactor::removeReader");
  Impl& im = *impl_;
  int fd = im.findFd(reader);
  if (fd < 0) return;
  Impl::Slot& slot = im.slots[fd];
  if (slot.reader.get() == &reader) im.dropReader(fd, slot);
}

void Reactor::removeWriter(const IWriteDescriptor& writer) {
  impl_->checkThread("Reactor::removeWriter");
  Impl& im = *impl_;
  int fd = im.findFd(writer);
  if (fd < 0) return;
  Impl::Slot& slot = im.slots[fd];
  if (slot.writer.get() == &writer) im.dropWriter(fd, slot);
}

std::vector<std::shared_ptr<IFileDescriptor>> Reactor::removeAll() {
  impl_->checkThread("Reactor::removeAll");
  Impl& im = *impl_;
  std::vector<std::shared_ptr<IFileDescriptor>> removed;
  for (std::size_t fd = 0; fd < im.slots.size(); ++fd) {
    Impl::Slot& slot = im.slots[fd];
    if (slot.internal || !slot.mask) continue;
    std::shared_ptr<IFileDescriptor> r = slot.reader;
    std::shared_ptr<IFileDescriptor> w = slot.writer;
    if (r) removed.push_back(r);
    if (w && w != r) removed.push_back(w);
    if (slot.reader) im.dropReader(static_cast<int>(fd), slot);
    if (slot.writer) im.dropWriter(static_cast<int>(fd), slot);
  }
  return removed;
}

std::vector<std::shared_ptr<IReadDescriptor>> Reactor::getReaders() const {
  impl_->checkThread("Reactor::getReaders");
  std::vector<std::shared_ptr<IReadDescriptor>> out;
  for (const Impl::Slot& slot : impl_->slots) {
    if (slot.reader && !slot.internal) out.push_back(slot.reader);
  }
  return out;
}

std::vector<std::shared_ptr<IWriteDescriptor>> Reactor::getWriters() const {
  impl_->checkThread("Reactor::getWriters");
  std::vector<std::shared_ptr<IWriteDescriptor>> out;
  for (const Impl::Slot& slot : impl_->slots) {
    if (slot.writer && !slot.internal) out.push_back(slot.writer);
  }
  return out;
}

// ---- dispatch -------------------------------------------------------------

// Inlined into doIteration, below: one frame fewer on every event.
[[gnu::always_inline]] inline void Reactor::Impl::dispatch(const detail::FiredEvent& e) {
  if (static_cast<std::size_t>(e.fd) >= slots.size()) return;
  Slot* slot = &slots[e.fd];
  if (slot->generation != e.generation) return;  // changed since the wait
  constexpr unsigned kGone = kHangup | kError | kInvalid;
  unsigned events = e.events;
  if ((events & kInvalid) || ((events & kGone) && !(events & kRead))) {
    // A datagram socket's queued error is read (and cleared), not an end.
    if (!(events & (kInvalid | kHangup)) && slot->reader && slot->reader->readsQueuedErrors()) {
      events |= kRead;
    } else {
      dispatchEnd(e, *slot);
      return;
    }
  }
  std::optional<Failure> why;
  IFileDescriptor* target = nullptr;
  bool inRead = false;
  try {
    if ((events & kRead) && slot->reader) {
      IReadDescriptor* reader = slot->reader.get();
      target = reader;
      inRead = true;
      if (reader->fileno() < 0) {
        why = fdWentAway();
      } else {
        why = reader->doRead();
      }
    }
    // doRead may have changed anything: look the slot up again.
    slot = &slots[e.fd];
    if (!why && (events & kWrite) && slot->generation == e.generation && slot->writer) {
      IWriteDescriptor* writer = slot->writer.get();
      target = writer;
      inRead = false;
      if (writer->fileno() < 0) {
        why = fdWentAway();
      } else {
        why = writer->doWrite();
      }
    }
  } catch (...) {
    dispatchFailed(target, std::current_exception(), inRead);
    return;
  }
  if (why && target) disconnectSelectable(*target, *why, inRead);
}

TWISTED_HOT void Reactor::Impl::doIteration(int timeoutMs) {
  Frame frame(*this);
  // The outermost turn polls into the reactor's buffer; a turn nested in a
  // callback (iterate() from dataReceived) into its own, since the outer
  // one is still walking the reactor's.
  detail::FiredList nested;
  detail::FiredList& fired = depth == 1 ? firedBuffer : nested;
  fired.clear();
  poller->poll(timeoutMs, fired);
  // Note each slot's generation before any callback can change it.
  for (detail::FiredEvent& e : fired) {
    if (static_cast<std::size_t>(e.fd) >= slots.size()) [[unlikely]] {
      e.generation = 0;
      continue;
    }
    e.generation = slots[e.fd].generation;
    // Cold with many connections: fetched here, the misses of later events
    // overlap with the dispatch of earlier ones.
    const char* object = reinterpret_cast<const char*>(slots[e.fd].reader.get());
    __builtin_prefetch(object);
    // A pooled transport's hot fields are the first three lines of its block
    // (stream_transport.hpp, kPrefetchedBytes).
    __builtin_prefetch(object + 64);
    __builtin_prefetch(object + 128);
  }
  for (const detail::FiredEvent& e : fired) dispatch(e);
}

[[gnu::cold]] void Reactor::Impl::dispatchEnd(const detail::FiredEvent& e, Slot& slot) {
  if (e.events & kInvalid) {
    // The fd was closed behind the reactor's back (select/poll).
    IFileDescriptor* target = slot.reader ? asFileMutable(slot.reader) : asFileMutable(slot.writer);
    if (target) disconnectSelectable(*target, fdWentAway(), false);
  } else if (slot.reader) {
    // Hang-up with nothing left to read: a clean end for a reader (maybe a
    // half-close), a lost connection for a writer (Twisted's rule).
    disconnectSelectable(*asFileMutable(slot.reader), Failure::of(error::ConnectionDone()), true);
  } else if (slot.writer) {
    disconnectSelectable(*asFileMutable(slot.writer), Failure::of(error::ConnectionLost()), false);
  }
}

[[gnu::cold]] void Reactor::Impl::dispatchFailed(IFileDescriptor* target, std::exception_ptr error,
                                                 bool inRead) {
  Failure why(std::move(error));
  log.failure("Unhandled error in {descriptor} while handling I/O", why,
              {{"descriptor", target ? target->logPrefix() : std::string("-")}},
              logger::LogLevel::error);
  if (target) disconnectSelectable(*target, why, inRead);
}

IFileDescriptor* Reactor::Impl::asFileMutable(const std::shared_ptr<IReadDescriptor>& r) {
  return r ? static_cast<IFileDescriptor*>(r.get()) : nullptr;
}
IFileDescriptor* Reactor::Impl::asFileMutable(const std::shared_ptr<IWriteDescriptor>& w) {
  return w ? static_cast<IFileDescriptor*>(w.get()) : nullptr;
}

void Reactor::Impl::disconnectSelectable(IFileDescriptor& d, const Failure& why, bool isRead) {
  // The graveyard keeps `d` alive through the calls below (we are inside a
  // reactor frame), even if they drop every other reference.
  int fd = findFd(d);
  // A descriptor that removed itself (abortConnection, then an exception)
  // still hears why, as in Twisted, so that an abort cannot mask a bug; a
  // transport already disconnected ignores the call.
  if (fd >= 0 && asFile(slots[fd].reader) == &d) dropReader(fd, slots[fd]);
  // (The cross-cast only where it can matter: it is dearer than the check.)
  auto* halfCloseable = isRead && why.check<error::ConnectionDone>()
                            ? dynamic_cast<IHalfCloseableDescriptor*>(&d)
                            : nullptr;
  try {
    if (halfCloseable) {
      halfCloseable->readConnectionLost(why);
    } else {
      if (fd >= 0 && asFile(slots[fd].writer) == &d) dropWriter(fd, slots[fd]);
      d.connectionLost(why);
    }
  } catch (...) {
    log.failure("Unhandled error in {descriptor}.connectionLost", Failure::current(),
                {{"descriptor", d.logPrefix()}}, logger::LogLevel::error);
  }
}

namespace {
void loseAtShutdown(IFileDescriptor& d, const Failure& lost) {
  static const logger::Logger log("twisted.internet.reactor");
  try {
    d.connectionLost(lost);
  } catch (...) {
    log.failure("Unhandled error in {descriptor}.connectionLost at shutdown", Failure::current(),
                {{"descriptor", d.logPrefix()}}, logger::LogLevel::error);
  }
}
}  // namespace

void Reactor::Impl::disconnectAll() {
  Failure lost = Failure::of(error::ConnectionLost());
  for (auto& d : self.removeAll()) loseAtShutdown(*d, lost);
  loseTracked();
}

void Reactor::Impl::loseTracked() {
  // Paused transports are registered nowhere: removeAll misses them.
  Failure lost = Failure::of(error::ConnectionLost());
  for (auto& d : tracked.snapshot()) {
    if (tracked.contains(d.get())) loseAtShutdown(*d, lost);
  }
}

void Reactor::track(std::shared_ptr<IFileDescriptor> d) {
  impl_->checkThread("Reactor::track");
  impl_->tracked.insert(std::move(d));
}

void Reactor::untrack(const IFileDescriptor& d) {
  impl_->checkThread("Reactor::untrack");
  Impl& im = *impl_;
  if (auto entry = im.tracked.take(&d)) im.graveyard.push_back(std::move(entry));
}

std::size_t Reactor::trackedCount() const {
  return impl_->tracked.size();
}

}  // namespace twisted
