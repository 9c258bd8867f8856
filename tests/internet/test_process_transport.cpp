// IProcessTransport and ProcessProtocol in detail, on every backend: the
// write calls, arguments passed verbatim, closing one pipe while the child
// runs, extra pipes, pipes that end long before the exit, each signal on
// pipes and on a PTY, the signal state a child starts with, exceptions in
// the protocol's callbacks, a child reaped by someone else, spawns that
// fail (descriptors given, pipes that cannot be made), users and groups,
// and producers of stdin. Twisted's test_process.py behaviours, one test
// per behaviour; docs/conformance.md maps them.
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "process_test_fixture.hpp"

extern char** environ;

namespace twisted::test {
namespace {

class ProcessTransportTest : public ProcessTestBase {
 protected:
  // The index of `event` in the protocol's events, or -1.
  long indexOf(const std::string& event, const std::shared_ptr<Recorder>& p = nullptr) {
    auto& events = (p ? p : protocol)->events;
    auto it = std::find(events.begin(), events.end(), event);
    return it == events.end() ? -1 : it - events.begin();
  }
};

// The lines of `text`.
std::vector<std::string> linesOf(const std::string& text, char end = '\n') {
  std::vector<std::string> lines;
  for (std::size_t b = 0, e; (e = text.find(end, b)) != std::string::npos; b = e + 1) {
    lines.push_back(text.substr(b, e - b));
  }
  return lines;
}

// ProcessTestsBuilderBase.test_writeSequence, test_writeToChild,
// test_writeToChildBadFileDescriptor; ProcessTests.test_echo: write,
// writeSequence and writeToChild(0) all reach stdin, in order; a
// descriptor that is not a "w" pipe is refused and changes nothing.
TEST_P(ProcessTransportTest, WriteWriteSequenceAndWriteToChildReachStdinInOrder) {
  auto child = reactor->spawnProcess(protocol, "/bin/cat", {"cat"});
  std::string s;
  for (int i = 0; i < 1001; ++i) s += "1234567";
  child->writeSequence({"hello, ", "world", "\n"});
  child->writeToChild(0, "to zero\n");
  EXPECT_THROW(child->writeToChild(13, "x"), std::invalid_argument) << "13 was never given";
  EXPECT_THROW(child->writeToChild(2, "x"), std::invalid_argument) << "2 is a \"r\" pipe";
  for (int i = 0; i < 8; ++i) child->write(s);
  child->writeSequence({s, s});
  child->closeStdin();
  waitEnded();
  EXPECT_EQ(protocol->out().size(), 13u + 8u + 10u * s.size());
  std::string expected = "hello, world\nto zero\n";
  for (int i = 0; i < 10; ++i) expected += s;
  EXPECT_EQ(protocol->out(), expected);
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
}

// ProcessTests.test_commandLine, ProcessTestsBuilder.test_processCommandLineArguments:
// each argument reaches the child as it is, one argument each (no shell
// in between, no quoting), args[0] as the name it sees; every byte but
// NUL survives.
TEST_P(ProcessTransportTest, ArgumentsReachTheChildVerbatim) {
  std::vector<std::string> args{"the name",
                                "a\\\"b ",
                                "a\\b ",
                                " a\\\\\"b",
                                " a\\\\b",
                                "\"foo bar\" \"",
                                "\tab",
                                "\"\\",
                                "a\"b",
                                "a'b",
                                "hello",
                                "\"",
                                " \t|<>^&",
                                "\"\\\"hello\\\"\"",
                                "\"foo\\ bar baz\\\"\"",
                                ""};
  std::string everyByte;
  for (int c = 1; c < 256; ++c) everyByte += static_cast<char>(c);
  args.push_back(everyByte);
  std::vector<std::string> argv{"sh", "-c", "printf '%s\\0' \"$0\" \"$@\""};
  argv.insert(argv.end(), args.begin(), args.end());
  reactor->spawnProcess(protocol, "/bin/sh", argv);
  waitEnded();
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>()) << protocol->received[2];
  EXPECT_EQ(linesOf(protocol->out(), '\0'), args);
}

// ClosingPipesTests.test_stdout, test_stderr: closing the pipe of the
// child's stdout (stderr) while it runs ends that pipe here, and the
// child's next write there is SIGPIPE (it starts with the default), not
// its exit code 42; nothing it writes arrives.
TEST_P(ProcessTransportTest, ClosingStdoutOrStderrGivesTheChildSIGPIPE) {
  for (int fd : {1, 2}) {
    SCOPED_TRACE(fd);
    auto p = std::make_shared<Recorder>();
    std::string redirect = fd == 2 ? " >&2" : "";
    auto child = reactor->spawnProcess(
        p, "/bin/sh", {"sh", "-c", "read line; echo foo" + redirect + "; exit 42"});
    if (fd == 1) {
      child->closeStdout();
    } else {
      child->closeStderr();
    }
    child->write("go\n");
    child->closeStdin();
    waitEnded(p);
    EXPECT_GE(indexOf("lost " + std::to_string(fd), p), 0);
    auto terminated = terminatedOf(*p->ended);
    ASSERT_TRUE(terminated) << p->ended->getErrorMessage();
    EXPECT_EQ(terminated->signal(), SIGPIPE);
    EXPECT_FALSE(terminated->exitCode().has_value());
    EXPECT_EQ(p->received[fd], "");
  }
}

// ProcessTestsBuilder.test_childConnectionLost, ProcessTests.test_process:
// a child that closes its stdout, then its stderr, while it runs: each
// end is reported when the child closes it, after what was written on it,
// and the protocol can answer from childConnectionLost; the exit code
// comes after, and the end last; a signal then is ProcessExitedAlready.
TEST_P(ProcessTransportTest, EachPipeEndIsReportedWhenTheChildClosesIt) {
  protocol->onMade = [](Recorder& p) { p.transport->write("1\n"); };
  protocol->onLost = [](Recorder& p, int fd) {
    if (fd == 1 || fd == 2) p.transport->write(std::to_string(fd) + "\n");
  };
  auto child =
      sh("read a; echo out1; exec 1>&-; read b; echo err1 >&2; exec 2>&-; read c; "
         "[ \"$a$b$c\" = 112 ] && exit 23; exit 1");
  waitEnded();
  EXPECT_EQ(protocol->out(), "out1\n");
  EXPECT_EQ(protocol->received[2], "err1\n");
  long lost1 = indexOf("lost 1"), lost2 = indexOf("lost 2"), exited = indexOf("exited");
  ASSERT_GE(lost1, 0);
  EXPECT_LT(lost1, lost2) << "stdout closed first";
  EXPECT_LT(lost2, exited) << "both while the child ran";
  EXPECT_GE(indexOf("lost 0"), 0);
  EXPECT_EQ(protocol->events.back(), "ended");
  EXPECT_EQ(std::count(protocol->events.begin(), protocol->events.end(), "lost 1"), 1);
  auto terminated = terminatedOf(*protocol->ended);
  ASSERT_TRUE(terminated) << protocol->ended->getErrorMessage();
  EXPECT_EQ(terminated->exitCode(), 23) << "it read the three answers";
  EXPECT_THROW(child->signalProcess("TERM"), error::ProcessExitedAlready);
}

// FDTests.test_FD: extra pipes both ways beside 0, 1 and 2 (and a
// descriptor of this process's given as a number): data and the end on a
// "r" pipe the child closes while it runs, and a "w" pipe closed from the
// protocol in answer.
TEST_P(ProcessTransportTest, ExtraPipesBothWaysAndOneTheChildCloses) {
  auto [sideRead, sideWrite] = pipePair();
  protocol->onMade = [](Recorder& p) {
    p.transport->writeToChild(5, "via five\n");
    p.transport->writeToChild(3, "righto\n");
  };
  protocol->onLost = [](Recorder& p, int fd) {
    if (fd == 4) p.transport->closeChildFD(5);  // cat <&5 may now end
  };
  sh("echo to4 >&4; exec 4>&-; cat <&5; read x <&3; echo \"$x\"; echo aside >&6",
     ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}, {3, "w"}, {4, "r"}, {5, "w"}, {6, sideWrite.get()}});
  waitEnded();
  EXPECT_EQ(protocol->received[4], "to4\n");
  EXPECT_EQ(protocol->out(), "via five\nrighto\n");
  EXPECT_LT(indexOf("lost 4"), indexOf("lost 5"));
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>()) << protocol->received[2];
  char buf[16];
  ssize_t n = ::read(sideRead.get(), buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "aside\n");
}

// FDTests.test_linger: every pipe of the child's ends while it still runs
// (it waits on a byte the protocol sends at stdout's end), so the reap
// alone ends it: stdout's end, then the exit, then processEnded.
TEST_P(ProcessTransportTest, PipesEndedLongBeforeTheExitLeaveTheEndToTheReap) {
  protocol->onLost = [](Recorder& p, int fd) {
    if (fd == 1) p.transport->writeToChild(3, "\n");
  };
  sh("echo here is some text; echo goodbye; exec 1>&-; read x <&3; exit 0",
     ChildFDs{{1, "r"}, {3, "w"}});
  waitEnded();
  EXPECT_EQ(protocol->out(), "here is some text\ngoodbye\n");
  long lost1 = indexOf("lost 1"), exited = indexOf("exited");
  ASSERT_GE(lost1, 0);
  EXPECT_LT(lost1, exited);
  EXPECT_EQ(protocol->events.back(), "ended");
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
}

// ProcessTestsBuilder.test_processEnded, test_processExited: a grandchild
// holds the child's 0, 1 and 2 after the child exits; processExited comes
// first, with no pipe's end before it, and the protocol's loseConnection
// from there ends all three, so processEnded comes without the grandchild.
TEST_P(ProcessTransportTest, LoseConnectionFromProcessExitedEndsPipesAGrandchildHolds) {
  auto [gateRead, gateWrite] = pipePair();
  ::fcntl(gateRead.get(), F_SETFL, 0);  // the grandchild's read blocks
  protocol->onExited = [](Recorder& p) { p.transport->loseConnection(); };
  // (A background list's stdin is /dev/null unless given: 4 keeps it.)
  sh("exec 4<&0; (read line <&3; echo late) <&4 4<&- & exit 0",
     ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}, {3, gateRead.get()}});
  waitEnded();
  long exited = indexOf("exited");
  ASSERT_GE(exited, 0);
  for (const char* lost : {"lost 0", "lost 1", "lost 2"}) {
    EXPECT_GT(indexOf(lost), exited) << lost << " comes after the exit";
  }
  EXPECT_EQ(protocol->events.back(), "ended");
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
  EXPECT_EQ(protocol->out(), "");
  sendByte(gateWrite, '\n');  // the grandchild goes (its echo meets a closed pipe)
}

// UtilTests.test_which (the lookup spawnProcess does itself; there is no
// `which`): a name without '/' runs the first executable file of that name
// on the child's PATH, passing over one that is not executable; with only
// that one, ProcessSpawnError says EACCES.
TEST_P(ProcessTransportTest, ANameIsTheFirstExecutableOfItsNameOnTheChildsPath) {
  std::filesystem::create_directory(tmp.path() + "/a");
  std::filesystem::create_directory(tmp.path() + "/b");
  std::ofstream(tmp.path() + "/a/prog") << "#!/bin/sh\necho A\n";
  ::chmod((tmp.path() + "/a/prog").c_str(), 0644);
  std::ofstream(tmp.path() + "/b/prog") << "#!/bin/sh\necho B\n";
  ::chmod((tmp.path() + "/b/prog").c_str(), 0755);
  reactor->spawnProcess(protocol, "prog", {"prog"},
                        Environment{{"PATH", tmp.path() + "/a:" + tmp.path() + "/b"}});
  waitEnded();
  EXPECT_EQ(protocol->out(), "B\n");
  try {
    reactor->spawnProcess(protocol, "prog", {"prog"}, Environment{{"PATH", tmp.path() + "/a"}});
    ADD_FAILURE() << "ran a file that is not executable";
  } catch (const error::ProcessSpawnError& e) {
    EXPECT_EQ(e.errorNumber(), EACCES) << e.what();
  }
}

// PosixProcessBase.test_signalHUP, test_signalINT, test_signalTERM,
// test_signalKILL (pipes, and on a PTY as PosixProcessPTYTests runs
// them); ProcessTestsBuilderBase.test_processExitedWithSignal;
// TwoProcessesPosixTests.test_killPty: the signal sent from outReceived
// ends the child; processExited and processEnded both say which, with no
// exit code; names with or without "SIG", and numbers.
TEST_P(ProcessTransportTest, EachSignalByNameOrNumberOnPipesAndOnAPTY) {
  struct Case {
    std::string name;
    int number;
  };
  const std::vector<Case> cases{{"HUP", SIGHUP},   {"INT", SIGINT},      {"TERM", SIGTERM},
                                {"KILL", SIGKILL}, {"SIGTERM", SIGTERM}, {"", SIGUSR1}};
  for (bool onPty : {false, true}) {
    for (const auto& c : cases) {
      SCOPED_TRACE((onPty ? "pty " : "pipes ") + c.name + " " + std::to_string(c.number));
      auto p = std::make_shared<Recorder>();
      p->onData = [c, sent = false](Recorder& r, int, std::string_view) mutable {
        if (sent) return;
        sent = true;
        if (c.name.empty()) {
          r.transport->signalProcess(c.number);
        } else {
          r.transport->signalProcess(c.name);
        }
      };
      const std::string script = "echo ready; exec sleep 600";
      shOn(onPty, script, p);
      waitEnded(p);
      ASSERT_TRUE(p->exited);
      for (const Failure* reason : {&*p->exited, &*p->ended}) {
        auto terminated = terminatedOf(*reason);
        ASSERT_TRUE(terminated) << reason->getErrorMessage();
        EXPECT_EQ(terminated->signal(), c.number);
        EXPECT_FALSE(terminated->exitCode().has_value());
        EXPECT_TRUE(WIFSIGNALED(terminated->status()));
        EXPECT_EQ(WTERMSIG(terminated->status()), c.number);
      }
    }
  }
}

// PosixProcessBase.test_abnormalTermination (the PTY run),
// test_executionError (the PTY run), MockProcessTests.test_mockForkErrorClosePTY:
// a PTY child's exit code is ProcessTerminated with it; a PTY child that
// cannot run is ProcessSpawnError, and the terminal made for it is closed.
TEST_P(ProcessTransportTest, APTYChildsExitCodeAndAPTYChildThatCannotRun) {
  pty("exit 1");
  waitEnded();
  auto terminated = terminatedOf(*protocol->ended);
  ASSERT_TRUE(terminated) << protocol->ended->getErrorMessage();
  EXPECT_EQ(terminated->exitCode(), 1);
  EXPECT_FALSE(terminated->signal().has_value());
  EXPECT_EQ(protocol->events, (std::vector<std::string>{"made", "exited", "ended"}));
  EXPECT_THROW(protocol->transport->signalProcess("HUP"), error::ProcessExitedAlready);

  int fds = countOpenFds();
  auto never = std::make_shared<Recorder>();
  try {
    reactor->spawnProcess(never, "/nonexistent/program", {"x"}, Environment{}, {}, {}, {}, true);
    ADD_FAILURE() << "no ProcessSpawnError";
  } catch (const error::ProcessSpawnError& e) {
    EXPECT_EQ(e.errorNumber(), ENOENT) << e.what();
  }
  EXPECT_EQ(countOpenFds(), fds) << "the PTY's master and slave are closed";
  EXPECT_TRUE(never->events.empty());
  siginfo_t any{};  // (WNOWAIT: looks without reaping anyone's child)
  EXPECT_EQ(::waitid(P_ALL, 0, &any, WEXITED | WNOHANG | WNOWAIT), -1) << "no child left behind";
  EXPECT_EQ(errno, ECHILD);
}

// PosixProcessBase.test_childSignalHandling: a child starts with every
// signal at its default action and none blocked, whatever this process
// ignores or blocks (vfork/exec, and fork/exec on a PTY): its own
// /proc/self/status says so, and SIGUSR1 kills it.
TEST_P(ProcessTransportTest, ChildrenStartWithDefaultSignalsNoneBlocked) {
  struct sigaction ignore {
  }, saved{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR1, &ignore, &saved), 0);
  sigset_t usr1, savedMask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &savedMask), 0);
  for (bool onPty : {false, true}) {
    SCOPED_TRACE(onPty ? "pty" : "pipes");
    auto p = std::make_shared<Recorder>();
    const std::string script = "exec grep -E '^Sig(Blk|Ign):' /proc/self/status";
    shOn(onPty, script, p);
    waitEnded(p);
    // Signals 32 and 33 are glibc's own (below SIGRTMIN, no program may
    // use them): its posix_spawn (TSan builds) leaves them ignored.
    const unsigned long long glibcInternal = (1ULL << 31) | (1ULL << 32);
    std::string out = p->out();
    auto mask = [&](const char* name) {
      auto at = out.find(name);
      EXPECT_NE(at, std::string::npos) << out;
      return at == std::string::npos ? ~0ULL : std::stoull(out.substr(at + 8, 16), nullptr, 16);
    };
    EXPECT_EQ(mask("SigBlk:\t"), 0u) << out;
    EXPECT_EQ(mask("SigIgn:\t") & ~glibcInternal, 0u) << out;

    auto killed = std::make_shared<Recorder>();
    killed->onData = [](Recorder& r, int, std::string_view) { r.transport->signalProcess("USR1"); };
    shOn(onPty, "echo ready; exec sleep 600", killed);
    waitEnded(killed);
    auto terminated = terminatedOf(*killed->ended);
    ASSERT_TRUE(terminated) << killed->ended->getErrorMessage();
    EXPECT_EQ(terminated->signal(), SIGUSR1);
  }
  ::pthread_sigmask(SIG_SETMASK, &savedMask, nullptr);
  ::sigaction(SIGUSR1, &saved, nullptr);
}

// A protocol whose processExited and processEnded throw.
class Throwing : public Recorder {
 public:
  std::optional<pid_t> pidInEnded = 0;
  bool signalRefusedInEnded = false;
  void processExited(const Failure& reason) override {
    Recorder::processExited(reason);
    throw std::runtime_error("processExited raised");
  }
  void processEnded(const Failure& reason) override {
    Recorder::processEnded(reason);
    pidInEnded = transport->pid();
    try {
      transport->signalProcess("TERM");
    } catch (const error::ProcessExitedAlready&) {
      signalRefusedInEnded = true;
    }
    throw std::runtime_error("processEnded raised");
  }
};

// ProcessTestsBuilderBase.test_processExitedRaises,
// PosixProcessBase.test_errorInProcessEnded,
// ProcessTestsBuilder.test_process_unregistered_before_protocol_ended_callback:
// an exception from processExited is logged and processEnded still
// comes; by processEnded the child is no longer known (no pid, signals
// refused); an exception from it is logged, nothing is left watched (the
// janitor counts descriptors) and the reactor goes on (another child runs).
TEST_P(ProcessTransportTest, ExceptionsFromProcessExitedAndProcessEndedAreLogged) {
  for (bool onPty : {false, true}) {
    SCOPED_TRACE(onPty ? "pty" : "pipes");
    auto p = std::make_shared<Throwing>();
    shOn(onPty, "exit 0", p);
    waitEnded(p);
    EXPECT_EQ(p->events.back(), "ended");
    EXPECT_EQ(std::count(p->events.begin(), p->events.end(), "ended"), 1);
    EXPECT_TRUE(p->ended->check<error::ProcessDone>());
    EXPECT_FALSE(p->pidInEnded.has_value()) << "unregistered before processEnded";
    EXPECT_TRUE(p->signalRefusedInEnded);
    EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 2u) << "both exceptions logged";
  }
  auto after = std::make_shared<Recorder>();
  reactor->spawnProcess(after, "/bin/sh", {"sh", "-c", "echo still"});
  waitEnded(after);
  EXPECT_EQ(after->out(), "still\n");
}

// MockProcessTests.test_killErrorInKill, test_killExitedButNotDetected,
// test_mockErrorECHILDInReapProcess: a number that is no signal is the
// kernel's EINVAL (the child runs on); a child someone else has reaped is
// ProcessExitedAlready to signal, and still ends here, with its status
// lost (neither an exit code nor a signal), nothing logged.
TEST_P(ProcessTransportTest, ABadSignalIsAnErrorAndAChildReapedElsewhereHasExitedAlready) {
  auto child = sh("exec sleep 600");
  pid_t pid = *child->pid();
  try {
    child->signalProcess(12345);
    ADD_FAILURE() << "signal 12345 was sent";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EINVAL) << e.what();
  }
  EXPECT_TRUE(child->pid().has_value()) << "the child runs on";
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid) << "the test reaps it itself";
  EXPECT_THROW(child->signalProcess("TERM"), error::ProcessExitedAlready);
  waitEnded();
  ASSERT_TRUE(protocol->exited);
  auto terminated = terminatedOf(*protocol->ended);
  ASSERT_TRUE(terminated) << protocol->ended->getErrorMessage();
  EXPECT_FALSE(terminated->exitCode().has_value());
  EXPECT_FALSE(terminated->signal().has_value());
  EXPECT_FALSE(child->pid().has_value());
}

// MockProcessTests.test_mockForkErrorGivenFDs, test_mockForkErrorCloseFDs:
// a spawn that fails closes the pipes it made and leaves the descriptors
// of this process's it was given open.
TEST_P(ProcessTransportTest, AFailedSpawnClosesItsPipesAndLeavesGivenDescriptorsOpen) {
  auto [r, w] = pipePair();
  int fds = countOpenFds();
  EXPECT_THROW(reactor->spawnProcess(protocol, "/nonexistent/program", {"x"}, Environment{}, {}, {},
                                     {}, false, ChildFDs{{0, r.get()}, {1, w.get()}, {2, "r"}}),
               error::ProcessSpawnError);
  EXPECT_GE(::fcntl(r.get(), F_GETFD), 0) << "given descriptors stay open";
  EXPECT_GE(::fcntl(w.get(), F_GETFD), 0);
  EXPECT_EQ(countOpenFds(), fds) << "the \"r\" pipe made for 2 is closed";
  EXPECT_TRUE(protocol->events.empty());
}

// MockProcessTests.test_mockErrorInPipe: pipes that cannot all be made
// (the descriptor table full) are ProcessSpawnError with EMFILE; the ones
// made are closed, no child is started, and the same spawn works once
// there is room.
TEST_P(ProcessTransportTest, PipesThatCannotBeMadeAreProcessSpawnErrorAndLeakNothing) {
  // Once before the limit: sanitizer runtimes open descriptors of their
  // own the first time a call is checked.
  EXPECT_THROW(reactor->spawnProcess(protocol, "/nonexistent/program", {"x"}),
               error::ProcessSpawnError);
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  int lowest = ::dup(0);
  ::close(lowest);
  int fds = countOpenFds();
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest + 3);  // one pipe, not three
  std::optional<error::ProcessSpawnError> caught;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  try {
    reactor->spawnProcess(protocol, "/bin/true", {"true"});
  } catch (const error::ProcessSpawnError& e) {
    caught = e;
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(caught.has_value()) << "spawned without its pipes";
  EXPECT_EQ(caught->errorNumber(), EMFILE) << caught->what();
  EXPECT_NE(std::string(caught->what()).find("pipe"), std::string::npos) << caught->what();
  EXPECT_EQ(countOpenFds(), fds);
  EXPECT_TRUE(protocol->events.empty());
  reactor->spawnProcess(protocol, "/bin/true", {"true"});
  waitEnded();
  EXPECT_TRUE(protocol->ended->check<error::ProcessDone>());
}

// ProcessTestsBuilderBase.test_spawnProcessEarlyIsReaped: a child with no
// pipes at all (childFDs {}), and a PTY child, that have surely exited
// before the reactor turns are still reported.
TEST_P(ProcessTransportTest, ChildrenThatExitBeforeTheReactorTurnsAreReported) {
  for (bool onPty : {false, true}) {
    SCOPED_TRACE(onPty ? "pty" : "no pipes");
    auto p = std::make_shared<Recorder>();
    std::shared_ptr<IProcessTransport> child =
        onPty ? pty("exit 0", p)
              : reactor->spawnProcess(p, "/bin/true", {"true"}, Environment{}, {}, {}, {}, false,
                                      ChildFDs{});
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(*child->pid()), &info, WEXITED | WNOWAIT), 0);
    waitEnded(p);
    EXPECT_TRUE(p->exited && p->exited->check<error::ProcessDone>());
    EXPECT_TRUE(p->ended->check<error::ProcessDone>());
    EXPECT_FALSE(child->pid().has_value());
  }
}

// ProcessTestsBuilderBase.test_openFileDescriptors: a descriptor near the
// limit, left open here without close-on-exec, is not open in the child,
// with pipes or on a PTY.
TEST_P(ProcessTransportTest, AHighDescriptorIsClosedInTheChild) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  int high = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 4096)) - 17;
  Fd devNull(::open("/dev/null", O_RDONLY));
  Fd extra(::dup2(devNull.get(), high));
  ASSERT_EQ(extra.get(), high);
  for (bool onPty : {false, true}) {
    SCOPED_TRACE(onPty ? "pty" : "pipes");
    auto p = std::make_shared<Recorder>();
    shOn(onPty, "ls -1 /proc/self/fd", p);
    waitEnded(p);
    std::string out = p->out();
    out.erase(std::remove(out.begin(), out.end(), '\r'), out.end());
    EXPECT_EQ(linesOf(out), (std::vector<std::string>{"0", "1", "2", "3"})) << out;
  }
}

// ProcessTestsBuilderBase.test_systemCallUninterruptedByChildExit: a
// child's exit interrupts no blocking system call of this process's (the
// SIGCHLD handler of the sigchld reaping mode is SA_RESTART; with pidfds
// there is none): a blocking read across it returns the data.
TEST_P(ProcessTransportTest, AChildsExitInterruptsNoBlockingCall) {
  sh("sleep 0.1");
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Fd readEnd(fds[0]), writeEnd(fds[1]);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), 1);
  char shName[] = "sh", c[] = "-c", script[] = "sleep 0.4; echo Foo";
  char* argv[] = {shName, c, script, nullptr};
  pid_t foreign = -1;
  ASSERT_EQ(::posix_spawn(&foreign, "/bin/sh", &actions, nullptr, argv, environ), 0);
  ::posix_spawn_file_actions_destroy(&actions);
  writeEnd.reset();
  char buf[16];
  ssize_t n = ::read(readEnd.get(), buf, sizeof buf);  // across our child's exit
  int err = errno;
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "Foo\n") << (n < 0 ? std::strerror(err) : "");
  ::waitpid(foreign, nullptr, 0);
  waitEnded();
}

// MockProcessTests.test_mockSetUid, test_mockSetUidInParent,
// test_mockPTYSetUid, test_mockPTYSetUidInParent;
// ProcessTestsBuilderBase.test_changeUID, test_changeGID (root only): a
// uid alone switches the user and takes its group; a gid alone switches
// the group and leaves the user; on a PTY too; and this process's own
// user, group and groups are left as they were.
TEST_P(ProcessTransportTest, AUidOrAGidAloneAndOnAPTYLeavingThisProcessAlone) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  std::vector<gid_t> groups(::getgroups(0, nullptr));
  groups.resize(::getgroups(static_cast<int>(groups.size()), groups.data()));
  auto onlyUid = std::make_shared<Recorder>();
  reactor->spawnProcess(onlyUid, "/bin/sh", {"sh", "-c", "id -u; id -g"}, Environment{}, {}, 65534);
  waitEnded(onlyUid);
  EXPECT_EQ(onlyUid->out(), "65534\n0\n") << "the group stays this process's, as in Twisted";
  auto onlyGid = std::make_shared<Recorder>();
  reactor->spawnProcess(onlyGid, "/bin/sh", {"sh", "-c", "id -u; id -g"}, Environment{}, {}, {},
                        65534);
  waitEnded(onlyGid);
  EXPECT_EQ(onlyGid->out(), "0\n65534\n");
  auto onPty = std::make_shared<Recorder>();
  reactor->spawnProcess(onPty, "/bin/sh", {"sh", "-c", "id -u; id -g; [ -t 0 ] && echo tty"},
                        Environment{}, {}, 65534, 65534, /*usePTY=*/true);
  waitEnded(onPty);
  EXPECT_EQ(onPty->out(), "65534\r\n65534\r\ntty\r\n");
  EXPECT_TRUE(onPty->ended->check<error::ProcessDone>());
  EXPECT_EQ(::getuid(), 0u);
  EXPECT_EQ(::geteuid(), 0u);
  EXPECT_EQ(::getgid(), 0u);
  EXPECT_EQ(::getegid(), 0u);
  std::vector<gid_t> after(::getgroups(0, nullptr));
  after.resize(::getgroups(static_cast<int>(after.size()), after.data()));
  EXPECT_EQ(after, groups);
}

// A push producer that writes `chunk` bytes a call while it runs, up to
// `total`, then closes stdin.
class Pusher : public IPushProducer {
 public:
  Pusher(std::shared_ptr<IProcessTransport> child, std::size_t total)
      : child_(std::move(child)), total_(total) {}
  void pauseProducing() override {
    paused = true;
    ++pauses;
  }
  void resumeProducing() override {
    paused = false;
    ++resumes;
  }
  void stopProducing() override { stopped = true; }
  // Writes while not paused, a chunk at a time, up to the total.
  void pump() {
    while (!paused && !stopped && sent < total_) {
      std::string chunk(std::min<std::size_t>(16384, total_ - sent), '\0');
      for (std::size_t i = 0; i < chunk.size(); ++i)
        chunk[i] = static_cast<char>('a' + (sent + i) % 23);
      sent += chunk.size();
      child_->write(chunk);
    }
  }
  bool paused = false, stopped = false;
  int pauses = 0, resumes = 0;
  std::size_t sent = 0;

 private:
  std::shared_ptr<IProcessTransport> child_;
  std::size_t total_;
};

class Puller : public IPullProducer {
 public:
  std::shared_ptr<IProcessTransport> child;
  int calls = 0;
  bool stopped = false;
  void resumeProducing() override {
    if (++calls <= 10) {
      child->write(std::string(100000, static_cast<char>('0' + calls % 10)));
    } else {
      child->unregisterProducer();
      child->closeStdin();
    }
  }
  void stopProducing() override { stopped = true; }
};

// Beyond Twisted's tests (its Process is an IConsumer of stdin): a push
// producer of stdin is paused by a child that does not read, resumed as
// it drains, and nothing is lost; a pull producer is asked for more each
// time the queue empties; stdin's end stops a producer; one registered
// after it is stopped at once; a second is refused.
TEST_P(ProcessTransportTest, ProducersOfStdinAreThrottledByTheChild) {
  constexpr std::size_t kTotal = 8 << 20;  // more than any pipe holds (64 KiB pages: 1 MiB)
  auto [gateRead, gateWrite] = pipePair();
  ::fcntl(gateRead.get(), F_SETFL, 0);
  auto child =
      sh("read x <&3; exec cat", ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}, {3, gateRead.get()}});
  auto pusher = std::make_shared<Pusher>(child, kTotal);
  child->registerProducer(pusher, true);
  EXPECT_THROW(child->registerProducer(std::make_shared<Puller>(), false), std::logic_error);
  pusher->pump();
  EXPECT_TRUE(pusher->paused) << "the child reads nothing yet";
  EXPECT_LT(pusher->sent, kTotal);
  for (int i = 0; i < 20; ++i) reactor->iterate(0.001);
  EXPECT_TRUE(pusher->paused) << "nothing drained";
  sendByte(gateWrite, '\n');
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        pusher->pump();
        return pusher->sent == kTotal;
      },
      "every chunk written"));
  EXPECT_GE(pusher->resumes, 1);
  child->closeStdin();  // stdin's end, once flushed, stops the producer
  waitEnded();
  EXPECT_TRUE(pusher->stopped);
  ASSERT_EQ(protocol->out().size(), kTotal);
  for (std::size_t i = 0; i < kTotal; i += 4099) {
    ASSERT_EQ(protocol->out()[i], static_cast<char>('a' + i % 23)) << i;
  }
  auto late = std::make_shared<Pusher>(child, 1);
  child->registerProducer(late, true);
  EXPECT_TRUE(late->stopped) << "stdin is over";

  auto pulled = std::make_shared<Recorder>();
  auto cat = reactor->spawnProcess(pulled, "/bin/cat", {"cat"});
  auto puller = std::make_shared<Puller>();
  puller->child = cat;
  cat->registerProducer(puller, false);
  EXPECT_EQ(puller->calls, 1) << "asked at once";
  waitEnded(pulled);
  EXPECT_EQ(puller->calls, 11);
  EXPECT_EQ(pulled->out().size(), 10u * 100000u);
  EXPECT_FALSE(puller->stopped) << "unregistered before the end";
}

// A producer whose stopProducing loses the connection, or throws.
class LosingProducer : public IPushProducer {
 public:
  explicit LosingProducer(bool throws) : throws_(throws) {}
  std::shared_ptr<IProcessTransport> child;
  void pauseProducing() override {}
  void resumeProducing() override {}
  void stopProducing() override {
    auto c = std::move(child);
    c->loseConnection();
    if (throws_) throw std::runtime_error("stopProducing raised");
  }

 private:
  bool throws_;
};

// Stdin's end after the reap (a grandchild holds stdin): the producer is
// stopped while stdin's pipe is still known, so a producer that loses the
// connection from stopProducing still lets stdin's end be told, and
// processEnded comes once, last; one that throws is logged and the end
// goes on.
TEST_P(ProcessTransportTest, AProducerStoppedAtStdinsEndMayLoseTheConnectionOrThrow) {
  for (bool throws : {false, true}) {
    SCOPED_TRACE(throws ? "throws" : "loses the connection");
    auto p = std::make_shared<Recorder>();
    auto [gateRead, gateWrite] = pipePair();
    ::fcntl(gateRead.get(), F_SETFL, 0);
    auto child = reactor->spawnProcess(
        p, "/bin/sh", {"sh", "-c", "exec 4<&0; (read x <&3) <&4 4<&- 1>&- 2>&- & exit 0"},
        Environment{}, {}, {}, {}, false,
        ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}, {3, gateRead.get()}});
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return p->exited.has_value(); }, "processExited"));
    auto producer = std::make_shared<LosingProducer>(throws);
    producer->child = child;
    child->registerProducer(producer, true);
    child->closeStdin();
    waitEnded(p);
    EXPECT_GE(indexOf("lost 0", p), 0) << "stdin's end is told";
    EXPECT_EQ(p->events.back(), "ended");
    EXPECT_EQ(std::count(p->events.begin(), p->events.end(), "ended"), 1);
    if (throws) {
      EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 1u);
    }
    sendByte(gateWrite, '\n');
  }
}

// ProcessProtocolTests.test_inConnectionLost, test_outConnectionLost,
// test_errConnectionLost (and outReceived/errReceived): the default
// childConnectionLost and childDataReceived dispatch on 0, 1, 2 and
// nothing else.
TEST(ProcessProtocolDispatch, DescriptorsZeroOneTwoGoToTheirOwnCallbacks) {
  struct Dispatch : ProcessProtocol {
    std::vector<std::string> calls;
    void inConnectionLost() override { calls.push_back("in"); }
    void outConnectionLost() override { calls.push_back("out"); }
    void errConnectionLost() override { calls.push_back("err"); }
    void outReceived(std::string_view d) override { calls.push_back("out " + std::string(d)); }
    void errReceived(std::string_view d) override { calls.push_back("err " + std::string(d)); }
  } p;
  p.childDataReceived(1, "a");
  p.childDataReceived(2, "b");
  p.childDataReceived(3, "c");
  p.childConnectionLost(0);
  p.childConnectionLost(1);
  p.childConnectionLost(2);
  p.childConnectionLost(3);
  EXPECT_EQ(p.calls, (std::vector<std::string>{"out a", "err b", "in", "out", "err"}));
}

TWISTED_ALL_BACKENDS(ProcessTransportTest);

}  // namespace
}  // namespace twisted::test
