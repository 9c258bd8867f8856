// The io_uring backend's own cases: that it is used where the kernel has
// io_uring, that each refusal falls back to epoll (forced with a seccomp
// filter on one thread, as a container's profile refuses it), and that a
// ring made on one thread serves the thread that runs the loop, and that its
// ports accept in the kernel. Everything else runs on it through
// TWISTED_ALL_BACKENDS.
#include <liburing.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "reactor_test.hpp"

namespace twisted::test {
namespace {

// Whether this process may have an io_uring at all (asked directly).
bool kernelHasIoUring() {
  io_uring ring;
  if (io_uring_queue_init(8, &ring, 0) < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

// On the calling thread only: system call `nr` fails with `err`.
void refuseOnThisThread(long nr, int err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K,
               SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  ASSERT_EQ(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0) << std::strerror(errno);
  ASSERT_EQ(::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program), 0) << std::strerror(errno);
}

struct Fallback {
  Backend backend = Backend::Default;
  bool ran = false;
  std::vector<std::string> told;  // the fallback lines logged
};

// A reactor asked for io_uring on a thread where `nr` fails with `err`:
// which backend it got, what it logged, and whether it ran a timer and a
// pipe's bytes.
Fallback refusedWith(long nr, int err) {
  LogCapture logs;
  Fallback result;
  std::thread([&] {
    refuseOnThisThread(nr, err);
    Reactor a(Backend::IoUring), b(Backend::IoUring);  // two: told once
    result.backend = a.backend();
    int fds[2];
    if (::pipe(fds) != 0) return;
    bool read = false;
    auto reader = std::make_shared<FakeDescriptor>(fds[0]);
    reader->onRead = [&] {
      char c;
      read = ::read(fds[0], &c, 1) == 1;
      a.stop();
      return IOResult{};
    };
    a.addReader(reader);
    a.callLater(0, [&] { (void)!::write(fds[1], "x", 1); });
    a.callLater(30, [&] { a.stop(); });  // a bound, never the expected path
    a.run(false);
    a.removeReader(*reader);
    ::close(fds[0]);
    ::close(fds[1]);
    result.ran = read;
  }).join();
  for (const auto& e : logs.events()) {
    std::string text = logger::formatEvent(e);
    if (text.find("io_uring is unavailable") != std::string::npos) result.told.push_back(text);
  }
  return result;
}

TEST(IoUring, UsedWhereTheKernelHasIt) {
  if (!kernelHasIoUring()) GTEST_SKIP() << "this kernel or profile refuses io_uring";
  Reactor r(Backend::IoUring);
  EXPECT_EQ(r.backend(), Backend::IoUring);
  EXPECT_EQ(backendName(r.backend()), "iouring");
}

// The reactor fell back to epoll, ran, and said so once, with `why`.
void expectFallback(long nr, int err, const std::string& why) {
  Fallback f = refusedWith(nr, err);
  EXPECT_EQ(f.backend, Backend::Epoll);
  EXPECT_TRUE(f.ran);
  ASSERT_EQ(f.told.size(), 1u) << "told once, for two reactors";
  EXPECT_NE(f.told[0].find(why), std::string::npos) << f.told[0];
  EXPECT_NE(f.told[0].find("runs on epoll"), std::string::npos) << f.told[0];
}

TEST(IoUring, RefusedAsBySeccompFallsBackToEpoll) {
  expectFallback(__NR_io_uring_setup, EPERM, "Operation not permitted");
}

TEST(IoUring, AKernelWithoutItFallsBackToEpoll) {
  expectFallback(__NR_io_uring_setup, ENOSYS, "Function not implemented");
}

TEST(IoUring, AKernelThatCannotBeProbedFallsBackToEpoll) {
  // Kernels before 5.6 answer the probe with EINVAL: the operations the
  // reactor needs cannot be known, so it does not use the ring.
  if (!kernelHasIoUring()) GTEST_SKIP() << "this kernel or profile refuses io_uring";
  expectFallback(__NR_io_uring_register, EINVAL, "IORING_REGISTER_PROBE");
}

// How many of `clients` connections a reactor on `backend` serves within
// `turns` turns, on a thread where accept4 and accept fail (ENOSYS).
int servedWithoutAcceptCalls(Backend backend, int clients, int turns) {
  int served = 0;
  std::thread([&] {
    refuseOnThisThread(SYS_accept4, ENOSYS);
    refuseOnThisThread(SYS_accept, ENOSYS);
    LogCapture logs;  // where accept is called, its failure is logged
    Reactor r(backend);
    auto factory = std::make_shared<Factory>([&]() -> std::shared_ptr<Protocol> {
      ++served;
      return std::make_shared<Protocol>();
    });
    auto port = r.listenTCP(0, factory, 50, "127.0.0.1");
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(std::get<IPv4Address>(port->getHost()).port);
    std::vector<int> fds;
    for (int i = 0; i < clients; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
      fds.push_back(fd);
    }
    for (int turn = 0; turn < turns && served < clients; ++turn) r.iterate(0.01);
    for (int fd : fds) ::close(fd);
    port->stopListening();
    r.iterate(0);
  }).join();
  return served;
}

// The io_uring backend accepts in the kernel (a multishot accept), where a
// thread's seccomp filter does not reach: no accept call is made. The
// control, epoll on such a thread, serves none.
TEST(IoUring, APortAcceptsInTheKernel) {
  if (!kernelHasIoUring()) GTEST_SKIP() << "this kernel or profile refuses io_uring";
  {
    // Multishot accept came with Linux 5.19, with IORING_OP_SOCKET (what
    // the reactor's probe asks too); before, ports call accept.
    io_uring ring;
    ASSERT_EQ(io_uring_queue_init(8, &ring, 0), 0);
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    bool multishot = probe && io_uring_opcode_supported(probe, IORING_OP_SOCKET);
    if (probe) io_uring_free_probe(probe);
    io_uring_queue_exit(&ring);
    if (!multishot) GTEST_SKIP() << "no multishot accept before Linux 5.19";
  }
  EXPECT_EQ(servedWithoutAcceptCalls(Backend::IoUring, 5, 6000), 5);
  EXPECT_EQ(servedWithoutAcceptCalls(Backend::Epoll, 5, 20), 0) << "accept is refused here";
}

TEST(IoUring, MadeOnOneThreadRunOnAnotherThenDestroyedOnTheFirst) {
  if (!kernelHasIoUring()) GTEST_SKIP() << "this kernel or profile refuses io_uring";
  // The ring's one issuer is the thread of the first wait; the reactor's
  // teardown on another thread (which the kernel refuses to submit from)
  // still lets every descriptor go.
  auto reactor = std::make_unique<Reactor>(Backend::IoUring);
  ASSERT_EQ(reactor->backend(), Backend::IoUring);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  int reads = 0;
  auto reader = std::make_shared<FakeDescriptor>(fds[0]);
  reader->onRead = [&] {
    char c;
    if (::read(fds[0], &c, 1) == 1) ++reads;
    if (reads == 2) reactor->stop();
    return IOResult{};
  };
  reactor->addReader(reader);
  std::thread([&] {
    reactor->callLater(0, [&] { (void)!::write(fds[1], "ab", 2); });
    reactor->callLater(30, [&] { reactor->stop(); });
    reactor->run(false);
  }).join();
  EXPECT_EQ(reads, 2);
  EXPECT_NO_THROW(reactor.reset());
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace twisted::test
