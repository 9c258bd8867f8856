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

}  // namespace twisted::detail::uring
