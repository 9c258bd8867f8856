#include "twisted/protocols/wire.hpp"

#include <utmpx.h>

#include <cstring>
#include <memory>

#include "twisted/internet/transport.hpp"

namespace twisted::wire {

namespace {

constexpr std::size_t kLineLength = 72;
constexpr std::size_t kCycle = 95;  // the printable characters ' ' to '~'
// Lines per write: one whole cycle, ~7 KiB.
constexpr std::size_t kLinesPerChunk = kCycle;

// Writes the next lines each time the transport's buffer is empty. Owned by
// the transport while registered; it only points back at it.
class ChargenProducer : public IPullProducer {
 public:
  explicit ChargenProducer(ITransport& transport) : transport_(&transport) {}
  void resumeProducing() override {
    if (!transport_) return;
    chunk_.clear();
    for (std::size_t i = 0; i < kLinesPerChunk; ++i) chunk_ += Chargen::line(next_++);
    transport_->write(chunk_);
  }
  void stopProducing() override { transport_ = nullptr; }

 private:
  ITransport* transport_;
  std::size_t next_ = 0;
  std::string chunk_;
};

std::time_t now(const WallClock& clock) {
  return clock ? clock() : std::time(nullptr);
}

}  // namespace

void Chargen::connectionMade() {
  transport->registerProducer(std::make_shared<ChargenProducer>(*transport), false);
}

std::string Chargen::line(std::size_t n) {
  std::string out;
  out.reserve(kLineLength + 2);
  for (std::size_t i = 0; i < kLineLength; ++i) {
    out += static_cast<char>(' ' + (n + i) % kCycle);
  }
  out += "\r\n";
  return out;
}

QOTD::QOTD(std::string quote) : quote_(std::move(quote)) {}

std::string QOTD::getQuote() {
  return quote_;
}

void QOTD::connectionMade() {
  transport->writeSequence({std::string_view(getQuote()), "\r\n"});
  transport->loseConnection();
}

void Who::connectionMade() {
  transport->write(getUsers());
  transport->loseConnection();
}

std::string Who::getUsers() {
  std::string users;
  setutxent();
  while (const utmpx* entry = getutxent()) {
    if (entry->ut_type != USER_PROCESS) continue;
    std::string_view name(entry->ut_user, strnlen(entry->ut_user, sizeof(entry->ut_user)));
    users.append(name).append("\r\n");
  }
  endutxent();
  return users;
}

Daytime::Daytime(WallClock clock) : clock_(std::move(clock)) {}

std::string Daytime::format(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[64];
  std::size_t n = std::strftime(text, sizeof text, "%a %b %e %H:%M:%S %Y\r\n", &tm);
  return std::string(text, n);
}

void Daytime::connectionMade() {
  transport->write(format(now(clock_)));
  transport->loseConnection();
}

Time::Time(WallClock clock) : clock_(std::move(clock)) {}

std::string Time::format(std::time_t t) {
  // RFC 868 counts from 1900; the 32 bits wrap in 2036, as the RFC allows.
  constexpr std::uint64_t kFrom1900To1970 = 2208988800ULL;
  auto seconds = static_cast<std::uint32_t>(static_cast<std::uint64_t>(t) + kFrom1900To1970);
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((seconds >> (24 - 8 * i)) & 0xff);
  return out;
}

void Time::connectionMade() {
  transport->write(format(now(clock_)));
  transport->loseConnection();
}

}  // namespace twisted::wire
