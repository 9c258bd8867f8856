// Child processes end to end, on every backend: bytes through a child's
// pipes, the order its protocol hears of each end, exit codes and signals,
// executables that cannot run, childFDs (a cycle included), the
// environment and working directory, descriptors closed in the child, a
// grandchild that holds stdout, pausing a child that writes. Children are
// /bin/sh and the usual programs.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "process_test_fixture.hpp"
#include "twisted/internet/deferred_coroutine.hpp"
#include "twisted/internet/reactor_process.hpp"
#include "twisted/internet/utils.hpp"

extern char** environ;

namespace twisted::test {
namespace {

class ProcessTest : public ProcessTestBase {};

// ProcessTestsBuilder.test_stdinReader / test_processEnded: bytes to the
// child's stdin come back on its stdout; stdin, stdout and stderr each end,
// the child is reaped, then processEnded with ProcessDone.
TEST_P(ProcessTest, BytesGoThroughCatAndEachEndIsReportedInOrder) {
  auto child = reactor->spawnProcess(protocol, "/bin/cat", {"cat"});
  ASSERT_TRUE(child->pid().has_value());
  EXPECT_GT(*child->pid(), 0);
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
  child->write("hello ");
  child->write(big);
  child->closeStdin();
  waitEnded();
  EXPECT_EQ(protocol->out(), "hello " + big);
  ASSERT_TRUE(protocol->exited);
  EXPECT_TRUE(protocol->exited->check<error::ProcessDone>());
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
  EXPECT_TRUE(protocol->ended->check<error::ConnectionDone>()) << "a kind of ConnectionDone";
  EXPECT_EQ(protocol->events.front(), "made");
  EXPECT_EQ(protocol->events.back(), "ended");
  EXPECT_EQ(std::count(protocol->events.begin(), protocol->events.end(), "ended"), 1);
  for (const char* e : {"lost 0", "lost 1", "lost 2", "exited"}) {
    EXPECT_NE(std::find(protocol->events.begin(), protocol->events.end(), e),
              protocol->events.end())
        << e;
  }
  EXPECT_FALSE(child->pid().has_value()) << "no pid once reaped";
}

// ProcessTestsBuilder.test_processExited (and twisted/test/test_process.py's
// exit code tests): an exit code is ProcessTerminated with that code.
TEST_P(ProcessTest, AnExitCodeIsProcessTerminatedWithTheCode) {
  sh("echo out; echo err >&2; exit 42");
  waitEnded();
  auto terminated = terminatedOf(*protocol->ended);
  ASSERT_TRUE(terminated) << protocol->ended->getErrorMessage();
  EXPECT_EQ(terminated->exitCode(), 42);
  EXPECT_FALSE(terminated->signal().has_value());
  EXPECT_EQ(terminated->status(), 42 << 8);
  EXPECT_EQ(protocol->out(), "out\n");
  EXPECT_EQ(protocol->received[2], "err\n");
}

// ProcessTestsBuilder.test_signal / test_processExitedAlready...: a child
// killed by a signal is ProcessTerminated with the signal; once reaped,
// signalProcess is ProcessExitedAlready, never a signal to another pid.
TEST_P(ProcessTest, AChildKilledByASignalAndSignallingItAfterward) {
  auto child = sh("exec sleep 600");
  EXPECT_THROW(child->signalProcess("NOSUCH"), std::invalid_argument);
  child->signalProcess("KILL");
  waitEnded();
  auto terminated = terminatedOf(*protocol->ended);
  ASSERT_TRUE(terminated) << protocol->ended->getErrorMessage();
  EXPECT_EQ(terminated->signal(), SIGKILL);
  EXPECT_FALSE(terminated->exitCode().has_value());
  EXPECT_THROW(child->signalProcess("TERM"), error::ProcessExitedAlready);
  EXPECT_THROW(child->signalProcess(SIGINT), error::ProcessExitedAlready);
}

// Beyond Twisted (whose child exits 1 with a traceback): an executable that
// cannot run is the caller's typed error, naming the file and the errno,
// with nothing left behind.
TEST_P(ProcessTest, AnExecutableThatCannotRunIsProcessSpawnError) {
  std::string notExecutable = tmp.path() + "/data";
  std::ofstream(notExecutable) << "just data\n";
  std::string badInterpreter = tmp.path() + "/script";
  std::ofstream(badInterpreter) << "#!/nonexistent/interpreter\n";
  ::chmod(badInterpreter.c_str(), 0755);
  int fds = countOpenFds();
  auto expectError = [&](const std::string& file, int err, const char* says) {
    try {
      reactor->spawnProcess(protocol, file, {file});
      ADD_FAILURE() << "no ProcessSpawnError for " << file;
    } catch (const error::ProcessSpawnError& e) {
      EXPECT_EQ(e.errorNumber(), err) << e.what();
      EXPECT_EQ(e.executable(), file);
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  expectError("/nonexistent/program", ENOENT, "No such file");
  expectError("no-such-program-anywhere", ENOENT, "No such file");
  expectError(notExecutable, EACCES, "Permission denied");
  expectError(badInterpreter, ENOENT, "interpreter");
  EXPECT_EQ(countOpenFds(), fds) << "no pipe left open";
  EXPECT_TRUE(protocol->events.empty()) << "the protocol never connected";
}

// An extra "w" pipe on descriptor 3 and its writeToChild; a mapping with a
// cycle ({200: 201, 201: 200} of the parent's descriptors) lands crosswise.
TEST_P(ProcessTest, ChildFDsMakeExtraPipesAndShuffleCycles) {
  auto child = sh("cat <&3", ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}, {3, "w"}});
  child->writeToChild(3, "through descriptor 3");
  EXPECT_THROW(child->writeToChild(1, "x"), std::invalid_argument) << "1 is a \"r\" pipe";
  child->closeChildFD(3);
  waitEnded();
  EXPECT_EQ(protocol->out(), "through descriptor 3");

  // Two pipes of the test's at 200 and 201, given to the child crosswise:
  // its 200 is the parent's 201 and its 201 the parent's 200.
  auto [aRead, aWrite] = pipePair();
  auto [bRead, bWrite] = pipePair();
  ASSERT_LT(::fcntl(200, F_GETFD), 0);
  ASSERT_LT(::fcntl(201, F_GETFD), 0);
  Fd at200(::dup3(aWrite.get(), 200, O_CLOEXEC));
  Fd at201(::dup3(bWrite.get(), 201, O_CLOEXEC));
  auto crossed = std::make_shared<Recorder>();
  reactor->spawnProcess(crossed, "/bin/bash",
                        {"bash", "-c", "echo to-200 >&200; echo to-201 >&201"}, Environment{}, {},
                        {}, {}, false, ChildFDs{{200, 201}, {201, 200}, {1, "r"}});
  waitEnded(crossed);
  EXPECT_TRUE(crossed->ended->check<error::ProcessDone>())
      << crossed->ended->getErrorMessage() << crossed->out();
  char buf[64];
  ssize_t n = ::read(bRead.get(), buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "to-200\n") << "the child's 200 is the parent's 201";
  n = ::read(aRead.get(), buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "to-201\n") << "the child's 201 is the parent's 200";
}

// Every descriptor the child is not given is closed in it, whatever the
// parent holds open (the /proc/self/fd of the child lists 0, 1, 2 and the
// one ls reads the directory with).
TEST_P(ProcessTest, TheChildHasOnlyTheDescriptorsItIsGiven) {
  Fd extra(::open("/dev/null", O_RDONLY));  // not close-on-exec
  sh("ls /proc/self/fd");
  waitEnded();
  std::string out = protocol->out();
  std::vector<std::string> names;
  for (std::size_t b = 0, e; (e = out.find('\n', b)) != std::string::npos; b = e + 1) {
    names.push_back(out.substr(b, e - b));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"0", "1", "2", "3"})) << out;
}

// A process at the edge of its descriptor limit still starts children: the
// child's pipe ends, made last, take the top numbers, and moving them into
// place must not need numbers above them (it did when every move went
// through scratch descriptors: dup2 failed with EBADF).
TEST_P(ProcessTest, AChildStartsWhenThePipesTakeTheLastDescriptors) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // UBSan's vptr check opens a pipe to read memory safely; with none left
  // it reports every virtual call as on an invalid object.
  GTEST_SKIP() << "the sanitizers' runtime needs descriptors this test uses up";
#endif
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  // Seven free numbers below the limit: six pipe ends, then the pidfd.
  int free = 0, limit = 0;
  for (int fd = 0; free < 7; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0) ++free;
    limit = fd + 1;
  }
  rlimit lowered = saved;
  lowered.rlim_cur = static_cast<rlim_t>(limit);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::string failed;
  try {
    sh("echo started");
  } catch (const std::exception& e) {
    failed = e.what();
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_EQ(failed, "");
  waitEnded();
  EXPECT_EQ(protocol->out(), "started\n");
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
}

// The environment is empty unless given (Twisted's default), nullopt is
// this process's own; path is the working directory.
TEST_P(ProcessTest, TheEnvironmentAndTheWorkingDirectory) {
  reactor->spawnProcess(protocol, "/usr/bin/env", {"env"});
  waitEnded();
  EXPECT_EQ(protocol->out(), "");
  auto given = std::make_shared<Recorder>();
  reactor->spawnProcess(given, "env", {"env"}, Environment{{"A", "1"}, {"B", "two words"}});
  waitEnded(given);
  EXPECT_EQ(given->out(), "A=1\nB=two words\n");
  auto inherited = std::make_shared<Recorder>();
  ::setenv("TWISTED_TEST_INHERITED", "yes", 1);
  reactor->spawnProcess(inherited, "/bin/sh", {"sh", "-c", "echo $TWISTED_TEST_INHERITED"},
                        std::nullopt);
  waitEnded(inherited);
  EXPECT_EQ(inherited->out(), "yes\n");
  auto where = std::make_shared<Recorder>();
  reactor->spawnProcess(where, "/bin/pwd", {"pwd"}, Environment{}, tmp.path());
  waitEnded(where);
  EXPECT_EQ(where->out(), std::filesystem::canonical(tmp.path()).string() + "\n");
  try {
    reactor->spawnProcess(where, "/bin/pwd", {"pwd"}, Environment{}, tmp.path() + "/missing");
    ADD_FAILURE() << "no ProcessSpawnError";
  } catch (const error::ProcessSpawnError& e) {
    EXPECT_NE(std::string(e.what()).find("working directory"), std::string::npos) << e.what();
  }
}

// ProcessTestsBuilder.test_processEnded with a grandchild (Twisted's
// rule): processExited comes when the child is reaped, processEnded only
// once the grandchild that holds stdout has closed it too.
TEST_P(ProcessTest, AGrandchildHoldingStdoutDelaysProcessEnded) {
  auto [gateRead, gateWrite] = pipePair();
  ::fcntl(gateRead.get(), F_SETFL, 0);  // the grandchild's read blocks
  // The grandchild waits for a byte on descriptor 3, then writes and exits.
  sh("(read line <&3; echo late) & exit 0",
     ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}, {3, gateRead.get()}});
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return protocol->exited.has_value(); }, "processExited"));
  EXPECT_FALSE(protocol->ended.has_value()) << "stdout is still open in the grandchild";
  sendByte(gateWrite, '\n');
  waitEnded();
  EXPECT_EQ(protocol->out(), "late\n");
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
}

// A child that writes more than its protocol takes: pausing stops reading,
// so the child blocks on a full pipe; resuming delivers everything, none
// lost.
TEST_P(ProcessTest, PausingAChildThatWritesBlocksItAndLosesNothing) {
  constexpr std::size_t kTotal = 8 << 20;
  auto child = sh("head -c " + std::to_string(kTotal) + " /dev/zero");
  child->pauseProducing();
  for (int i = 0; i < 50; ++i) reactor->iterate(0.001);
  EXPECT_EQ(protocol->out().size(), 0u) << "nothing is read while paused";
  EXPECT_FALSE(protocol->exited.has_value()) << "the child is blocked on its full pipe";
  child->resumeProducing();
  waitEnded();
  EXPECT_EQ(protocol->out().size(), kTotal);
}

// uid and gid (Twisted's, POSIX only): the child runs as that user, in
// that group, with that user's supplementary groups (fork/exec: in a vfork
// child, glibc's setuid would signal the parent's threads). Needs root.
TEST_P(ProcessTest, UidAndGidSwitchTheUserWithItsGroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  reactor->spawnProcess(protocol, "/bin/sh", {"sh", "-c", "id -u; id -g; id -G; pwd"},
                        Environment{}, tmp.path(), 65534, 65534);
  waitEnded();
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>()) << protocol->received[2];
  EXPECT_EQ(protocol->out(),
            "65534\n65534\n65534\n" + std::filesystem::canonical(tmp.path()).string() + "\n");
  // The fork/exec path reports an executable that cannot run as vfork/exec does.
  try {
    reactor->spawnProcess(protocol, "/nonexistent/program", {"x"}, Environment{}, {}, 65534);
    ADD_FAILURE() << "no ProcessSpawnError";
  } catch (const error::ProcessSpawnError& e) {
    EXPECT_EQ(e.errorNumber(), ENOENT) << e.what();
  }
}

// Writing to a child that has gone: the write fails with EPIPE (SIGPIPE is
// ignored: its default would kill this process), stdin's pipe ends, and
// later writes are dropped. The test waits for the child's exit without
// reaping it (WNOWAIT), so the write surely meets a pipe with no reader.
TEST_P(ProcessTest, WritingToAChildThatHasGoneEndsThePipeNotTheParent) {
  auto child = sh("exit 0");
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(*child->pid()), &info, WEXITED | WNOWAIT), 0);
  child->write(std::string(1 << 16, 'x'));
  EXPECT_NE(std::find(protocol->events.begin(), protocol->events.end(), "lost 0"),
            protocol->events.end())
      << "the failed write ends stdin's pipe";
  EXPECT_NO_THROW(child->write("after the end"));
  waitEnded();
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
}

// A child that exits before the reactor turns is still reported.
TEST_P(ProcessTest, AChildThatExitsBeforeTheReactorRunsIsReported) {
  reactor->spawnProcess(protocol, "/bin/true", {"true"});
  ::usleep(1000);
  waitEnded();
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
}

// usePTY: the child's 0, 1 and 2 are a terminal, its controlling one, in
// a session it leads; the window size set from here is what it sees; a
// line written reaches it (echoed, as a terminal does) and what it writes
// arrives as descriptor 1. Its end is processEnded with ProcessDone.
TEST_P(ProcessTest, APTYChildReadsALineOnItsControllingTerminal) {
  const std::string script =
      "read line; echo \"got $line\"; [ -t 0 ] && [ -t 1 ] && echo tty; "
      "read -r pid comm state ppid pgrp sid ttynr rest < /proc/self/stat; "
      "[ \"$sid\" = \"$$\" ] && echo leader; [ \"$ttynr\" != 0 ] && echo controlling; "
      "/bin/stty size";
  auto child = reactor->spawnProcess(protocol, "/bin/sh", {"sh", "-c", script}, Environment{}, {},
                                     {}, {}, /*usePTY=*/true);
  child->setWindowSize(33, 99);
  child->write("hello pty\n");
  waitEnded();
  const std::string out = protocol->out();
  for (const char* expected : {"hello pty\r\n", "got hello pty\r\n", "tty\r\n", "leader\r\n",
                               "controlling\r\n", "33 99\r\n"}) {
    EXPECT_NE(out.find(expected), std::string::npos) << "no '" << expected << "' in: " << out;
  }
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>()) << protocol->ended->brief();
  EXPECT_TRUE(protocol->received[2].empty()) << "stderr is the terminal too";
  // Twisted tells a PTY's protocol of no pipe ends: only processExited
  // and processEnded.
  EXPECT_EQ(protocol->events, (std::vector<std::string>{"made", "exited", "ended"}));
}

TEST_P(ProcessTest, APTYIsRefusedWithChildFDsAndHasNoSeparateDescriptors) {
  EXPECT_THROW(reactor->spawnProcess(protocol, "/bin/true", {"true"}, Environment{}, {}, {}, {},
                                     true, ChildFDs{{0, "w"}}),
               std::invalid_argument);
  auto child =
      reactor->spawnProcess(protocol, "/bin/cat", {"cat"}, Environment{}, {}, {}, {}, true);
  EXPECT_THROW(child->closeChildFD(0), std::logic_error);
  EXPECT_THROW(child->writeToChild(3, "x"), std::invalid_argument);
  EXPECT_NO_THROW(child->closeStdin());  // nothing, as in Twisted
  child->loseConnection();               // closes the terminal: cat gets SIGHUP
  waitEnded();
  auto plain = std::make_shared<Recorder>();
  auto piped = reactor->spawnProcess(plain, "/bin/true", {"true"});
  EXPECT_THROW(piped->setWindowSize(1, 1), std::logic_error);
  waitEnded(plain);
}

// The reaping mode is the one asked for: a pidfd per child, or, with
// TWISTED_PROCESS_REAPER=sigchld (ctest process.sigchld_reaping runs this
// whole suite so), none: SIGCHLD and waitpid.
TEST_P(ProcessTest, TheReapingModeIsTheOneAskedFor) {
  auto pidfds = [] {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink(entry.path(), ec);
      if (!ec && target.string() == "anon_inode:[pidfd]") ++n;
    }
    return n;
  };
  auto child = reactor->spawnProcess(protocol, "/bin/cat", {"cat"});
  const char* mode = std::getenv("TWISTED_PROCESS_REAPER");
  EXPECT_EQ(pidfds(), mode && std::string(mode) == "sigchld" ? 0 : 1);
  child->closeStdin();
  waitEnded();
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
}

// Other code's children are not reaped here (no waitpid(-1)): a child
// started by hand exits before ours and is still there for its owner.
TEST_P(ProcessTest, AnotherCodesChildIsLeftForItsOwner) {
  pid_t foreign = -1;
  char sh[] = "sh", c[] = "-c", code[] = "exit 7";
  char* argv[] = {sh, c, code, nullptr};
  ASSERT_EQ(::posix_spawn(&foreign, "/bin/sh", nullptr, nullptr, argv, environ), 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(foreign), &info, WEXITED | WNOWAIT), 0);
  reactor->spawnProcess(protocol, "/bin/true", {"true"});
  waitEnded();
  int status = 0;
  ASSERT_EQ(::waitpid(foreign, &status, WNOHANG), foreign) << "someone reaped it";
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

// 64 MiB from a child to a protocol that pauses after every MiB and
// resumes a turn later: every byte arrives, and this process's memory
// stays flat (the child blocks on its full pipe while paused).
TEST_P(ProcessTest, SixtyFourMiBToAPausingProtocolKeepsMemoryFlat) {
  struct Pausing : ProcessProtocol {
    Reactor* reactor = nullptr;
    std::size_t total = 0, sincePause = 0, pauses = 0;
    bool allZero = true;
    long peakRssKiB = 0;
    std::optional<Failure> ended;
    void outReceived(std::string_view data) override {
      total += data.size();
      sincePause += data.size();
      allZero = allZero && data.find_first_not_of('\0') == std::string_view::npos;
      if (sincePause >= (1 << 20)) {
        sincePause = 0;
        ++pauses;
        peakRssKiB = std::max(peakRssKiB, rssKiB());
        transport->pauseProducing();
        std::weak_ptr<IProcessTransport> t = transport;
        reactor->callLater(0, [t] {
          if (auto p = t.lock()) p->resumeProducing();
        });
      }
    }
    void processEnded(const Failure& reason) override { ended = reason; }
    static long rssKiB() {
      std::ifstream status("/proc/self/status");
      std::string line;
      while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
      }
      return 0;
    }
  };
  auto p = std::make_shared<Pausing>();
  p->reactor = reactor.get();
  long before = Pausing::rssKiB();
  reactor->spawnProcess(p, "/bin/sh", {"sh", "-c", "head -c 67108864 /dev/zero"});
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return p->ended.has_value(); }, "processEnded", 0.01, 300));
  EXPECT_EQ(p->total, std::size_t(64) << 20);
  EXPECT_TRUE(p->allZero);
  EXPECT_GE(p->pauses, 32u);  // at least every 2 MiB (reads are up to 64 KiB)
  EXPECT_LT(p->peakRssKiB - before, 16 * 1024) << "memory grew with the bytes read";
  EXPECT_TRUE(p->ended->check<error::ProcessDone>());
}

// 1,000 short-lived children from two reactors on two threads at once,
// eight in flight on each: all reaped by the reactor that spawned them (no
// zombie left, nothing stolen by the other), no descriptor leaked here
// (the janitor counts /proc/self/fd), and every tenth child lists its own
// descriptors (/proc/self/fd of a child started while the other thread
// was making pipes): 0, 1, 2 and ls's own directory.
TEST_P(ProcessTest, AThousandChildrenFromTwoReactorsOnTwoThreads) {
  struct Run : ProcessProtocol {
    std::string out;
    std::function<void(const Failure&, const std::string&)> onEnded;
    void outReceived(std::string_view data) override { out.append(data); }
    void processEnded(const Failure& reason) override { onEnded(reason, out); }
  };
  constexpr int kPerThread = 500, kInFlight = 8;
  struct Tally {
    int done = 0, good = 0, listed = 0, goodLists = 0;
  };
  Tally tallies[2];
  auto work = [&](Tally& tally) {
    Reactor r(GetParam());
    int started = 0;
    std::function<void()> startOne = [&] {
      bool list = started % 10 == 0;
      ++started;
      auto run = std::make_shared<Run>();
      run->onEnded = [&, list](const Failure& reason, const std::string& out) {
        ++tally.done;
        if (reason.check<error::ProcessDone>()) ++tally.good;
        if (list) {
          ++tally.listed;
          if (out == "0\n1\n2\n3\n") ++tally.goodLists;
        }
        if (started < kPerThread) startOne();
      };
      if (list) {
        r.spawnProcess(run, "/bin/ls", {"ls", "/proc/self/fd"});
      } else {
        r.spawnProcess(run, "/bin/true", {"true"});
      }
    };
    for (int i = 0; i < kInFlight; ++i) startOne();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (tally.done < kPerThread && std::chrono::steady_clock::now() < deadline) r.iterate(0.05);
  };
  std::thread other(work, std::ref(tallies[1]));
  work(tallies[0]);
  other.join();
  for (const Tally& t : tallies) {
    EXPECT_EQ(t.done, kPerThread);
    EXPECT_EQ(t.good, kPerThread);
    EXPECT_EQ(t.goodLists, t.listed);
    EXPECT_EQ(t.listed, kPerThread / 10);
  }
  siginfo_t info{};
  errno = 0;
  EXPECT_EQ(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT), -1);
  EXPECT_EQ(errno, ECHILD) << "a child is left (a zombie, or still running)";
}

// ---- twisted::utils -----------------------------------------------------------

// ProcessUtilsTests.test_output, test_outputWithErrorIgnored,
// test_outputWithErrorCollected, test_value, test_outputAndValue,
// test_outputSignal (twisted/test/test_iutils.py).
TEST_P(ProcessTest, GetProcessOutputGivesStdoutAndRefusesStderrUnlessAsked) {
  auto out = settle(*reactor, utils::getProcessOutput(*reactor, "/bin/sh", {"-c", "echo hello"}));
  ASSERT_TRUE(out && out->succeeded());
  EXPECT_EQ(out->value(), "hello\n");

  auto both = settle(*reactor,
                     utils::getProcessOutput(*reactor, "/bin/sh", {"-c", "echo out; echo err >&2"},
                                             Environment{}, {}, /*errortoo=*/true));
  ASSERT_TRUE(both && both->succeeded());
  EXPECT_NE(both->value().find("out\n"), std::string::npos);
  EXPECT_NE(both->value().find("err\n"), std::string::npos);

  auto refused = settle(
      *reactor,
      utils::getProcessOutput(*reactor, "/bin/sh", {"-c", "echo oops >&2; read line; exit 5"}));
  ASSERT_TRUE(refused && !refused->succeeded());
  const Failure& f = refused->failure();
  ASSERT_TRUE(f.check<error::UnexpectedErrorOutput>()) << f.getErrorMessage();
  EXPECT_NE(f.getErrorMessage().find("oops"), std::string::npos);
  // Its processEnded fires once the child has ended: its stdin was closed
  // with the rest, so its read ends and it exits.
  Deferred<void> ended;
  try {
    f.raiseException();
  } catch (const error::UnexpectedErrorOutput& e) {
    ended = e.processEnded();
  }
  auto end = settle(*reactor, ended);
  ASSERT_TRUE(end && !end->succeeded());
  auto terminated = terminatedOf(end->failure());
  ASSERT_TRUE(terminated) << end->failure().getErrorMessage();
  EXPECT_EQ(terminated->exitCode(), 5);

  auto missing = settle(*reactor, utils::getProcessOutput(*reactor, "/nonexistent/program"));
  ASSERT_TRUE(missing && !missing->succeeded());
  EXPECT_TRUE(missing->failure().check<error::ProcessSpawnError>());
}

TEST_P(ProcessTest, GetProcessValueAndGetProcessOutputAndValue) {
  auto value = settle(*reactor, utils::getProcessValue(*reactor, "/bin/sh", {"-c", "exit 3"}));
  ASSERT_TRUE(value && value->succeeded());
  EXPECT_EQ(value->value(), 3);

  auto all = settle(*reactor, utils::getProcessOutputAndValue(
                                  *reactor, "/bin/sh", {"-c", "cat; echo e >&2; exit 1"},
                                  Environment{}, {}, std::string("from stdin")));
  ASSERT_TRUE(all && all->succeeded());
  EXPECT_EQ(all->value().out, "from stdin");
  EXPECT_EQ(all->value().err, "e\n");
  EXPECT_EQ(all->value().code, 1);

  auto killed = settle(*reactor, utils::getProcessOutputAndValue(
                                     *reactor, "/bin/sh", {"-c", "echo partial; kill -9 $$"}));
  ASSERT_TRUE(killed && !killed->succeeded());
  try {
    killed->failure().raiseException();
  } catch (const error::ProcessSignalledError& e) {
    EXPECT_EQ(e.signal(), SIGKILL);
    EXPECT_EQ(e.out(), "partial\n");
  } catch (...) {
    ADD_FAILURE() << killed->failure().getErrorMessage();
  }
  auto signalled =
      settle(*reactor, utils::getProcessValue(*reactor, "/bin/sh", {"-c", "kill -9 $$"}));
  ASSERT_TRUE(signalled && !signalled->succeeded());
  EXPECT_TRUE(signalled->failure().check<error::ProcessTerminated>());
}

// The utilities are Deferreds, and so a coroutine's co_await.
Deferred<std::string> countLines(Reactor& reactor) {
  // (The arguments are a named vector: g++ 12 cannot keep a braced list's
  // array in a coroutine frame.)
  std::vector<std::string> args{"-c", "printf 'a\\nb\\n'"};
  std::string out = co_await utils::getProcessOutput(reactor, "/bin/sh", args);
  int code = co_await utils::getProcessValue(reactor, "/bin/true");
  co_return std::to_string(std::count(out.begin(), out.end(), '\n')) + " lines, exit " +
      std::to_string(code);
}

TEST_P(ProcessTest, TheUtilitiesAreAwaitable) {
  auto result = settle(*reactor, countLines(*reactor));
  ASSERT_TRUE(result && result->succeeded());
  EXPECT_EQ(result->value(), "2 lines, exit 0");
}

TWISTED_ALL_BACKENDS(ProcessTest);

}  // namespace
}  // namespace twisted::test
