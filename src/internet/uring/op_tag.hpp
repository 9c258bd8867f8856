// What a submission's user_data says: the operation's kind (the top two
// bits), a 30-bit sequence number, the descriptor. A late completion of a
// cancelled or replaced operation is told from a current one by its
// sequence number. A cancel's own is kCancelTag, which no operation has.
#pragma once

#include <cstdint>

namespace twisted::detail::uring {

enum Kind : std::uint64_t { kPollOp = 0, kAcceptOp = 1, kRecvOp = 2, kSendOp = 3 };
inline constexpr std::uint64_t kCancelTag = ~std::uint64_t{0};
inline constexpr std::uint32_t kSeqMask = (1u << 30) - 1;

inline std::uint64_t tag(Kind kind, int fd, std::uint32_t seq) {
  return (std::uint64_t{kind} << 62) | (std::uint64_t{seq & kSeqMask} << 32) |
         static_cast<std::uint32_t>(fd);
}
inline Kind kindOf(std::uint64_t data) {
  return static_cast<Kind>(data >> 62);
}
inline int fdOf(std::uint64_t data) {
  return static_cast<int>(data & 0xffffffffu);
}
inline std::uint32_t seqOf(std::uint64_t data) {
  return static_cast<std::uint32_t>(data >> 32) & kSeqMask;
}

// A stream's operations (kRecvOp, kSendOp) have 29-bit sequence numbers:
// bit 61 marks a send from pinned bytes (Streams' pins, whose index is then
// the low 32 bits in place of the descriptor).
inline constexpr std::uint32_t kStreamSeqMask = (1u << 29) - 1;
inline constexpr std::uint64_t kPinnedFlag = std::uint64_t{1} << 61;
inline std::uint64_t pinnedTag(std::uint32_t seq, std::uint32_t pin) {
  return (std::uint64_t{kSendOp} << 62) | kPinnedFlag |
         (std::uint64_t{seq & kStreamSeqMask} << 32) | pin;
}
inline bool isPinned(std::uint64_t data) {
  return kindOf(data) == kSendOp && (data & kPinnedFlag) != 0;
}
inline std::uint32_t streamSeqOf(std::uint64_t data) {
  return static_cast<std::uint32_t>(data >> 32) & kStreamSeqMask;
}

}  // namespace twisted::detail::uring
