// Socket activation: ListenFDs reading systemd's variables, and the
// `systemd:` endpoint string. The SystemdActivatedTest cases run under
// tests/support/socket_activate.py (ctest's systemd.activated), which
// passes this process four sockets as systemd does: web (INET), web6
// (INET6), ctl (UNIX) and dns (UDP). Covers SystemdEndpointPluginTests and
// twisted/python/test/test_systemd.py (see docs/conformance.md).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>

#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/python/systemd.hpp"

namespace twisted::test {
namespace {

using Env = std::map<std::string, std::string>;

std::string myPid() {
  return std::to_string(::getpid());
}

// InheritedDescriptorsMixin.test_inheritedDescriptors, test_repeated,
// EnvironmentTests.test_secondEnvironment: the descriptors from `start`
// (3) on, as many as LISTEN_FDS says, the same at each call; the variables
// are removed once read, so a second reading finds none.
TEST(ListenFDsTest, ReadsTheDescriptorsAndNamesMeantForThisProcessAndRemovesThem) {
  Env env{{"LISTEN_PID", myPid()},
          {"LISTEN_FDS", "3"},
          {"LISTEN_FDNAMES", "web:web6:ctl"},
          {"OTHER", "kept"}};
  ListenFDs fds = ListenFDs::fromEnvironment(env);
  EXPECT_EQ(fds.inheritedDescriptors(), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(fds.inheritedNamedDescriptors(),
            (std::map<std::string, int>{{"web", 3}, {"web6", 4}, {"ctl", 5}}));
  EXPECT_EQ(env, (Env{{"OTHER", "kept"}}));
  EXPECT_EQ(fds.inheritedDescriptors(), fds.inheritedDescriptors());
  EXPECT_TRUE(ListenFDs::fromEnvironment(env).inheritedDescriptors().empty());
  Env seven{{"LISTEN_PID", myPid()}, {"LISTEN_FDS", "3"}};
  EXPECT_EQ(ListenFDs::fromEnvironment(seven, 7).inheritedDescriptors(),
            (std::vector<int>{7, 8, 9}));
}

// EnvironmentTests.test_mismatchedPID: descriptors meant for another process (its
// parent, which exec'd us without clearing them) are not ours, and the
// variables are left for whoever they are for.
TEST(ListenFDsTest, DescriptorsForAnotherProcessAreNotOurs) {
  Env env{{"LISTEN_PID", std::to_string(::getpid() + 1)}, {"LISTEN_FDS", "2"}};
  EXPECT_TRUE(ListenFDs::fromEnvironment(env).inheritedDescriptors().empty());
  EXPECT_EQ(env.size(), 2u);
}

// EnvironmentTests.test_missingPIDVariable, test_nonIntegerPIDVariable,
// test_missingFDSVariable, test_nonIntegerFDSVariable: a variable missing
// or malformed means no descriptors.
TEST(ListenFDsTest, AMissingOrMalformedVariableMeansNoDescriptors) {
  for (Env env : {Env{{"LISTEN_FDS", "2"}}, Env{{"LISTEN_PID", "x"}, {"LISTEN_FDS", "2"}},
                  Env{{"LISTEN_PID", myPid()}}, Env{{"LISTEN_PID", myPid()}, {"LISTEN_FDS", "two"}},
                  Env{{"LISTEN_PID", myPid()}, {"LISTEN_FDS", "-1"}}}) {
    EXPECT_TRUE(ListenFDs::fromEnvironment(env).inheritedDescriptors().empty());
  }
}

// LISTEN_FDNAMES with another count than LISTEN_FDS names nothing;
// unnamed descriptors are "unknown", as systemd says.
TEST(ListenFDsTest, NamesThatDoNotMatchTheCountAreIgnored) {
  Env env{{"LISTEN_PID", myPid()}, {"LISTEN_FDS", "2"}, {"LISTEN_FDNAMES", "only-one"}};
  ListenFDs fds = ListenFDs::fromEnvironment(env, 10);
  EXPECT_EQ(fds.inheritedDescriptors(), (std::vector<int>{10, 11}));
  EXPECT_EQ(fds.names(), (std::vector<std::string>{"unknown", "unknown"}));
  ListenFDs given({7, 8, 9});
  EXPECT_EQ(given.inheritedDescriptors(), (std::vector<int>{7, 8, 9}));
  EXPECT_EQ(given.names(), (std::vector<std::string>{"unknown", "unknown", "unknown"}));
}

// ---- under socket_activate.py ----------------------------------------------------

class SystemdActivatedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("TWISTED_TEST_SOCKET_WEB") && !activated_) {
      GTEST_SKIP() << "run under tests/support/socket_activate.py (ctest systemd.activated)";
    }
    activated_ = true;
  }
  template <class E = AdoptedStreamServerEndpoint>
  std::shared_ptr<E> endpoint(const std::string& description) {
    return std::dynamic_pointer_cast<E>(serverFromString(reactor, description));
  }
  std::string errorOf(const std::string& description) {
    try {
      serverFromString(reactor, description);
    } catch (const error::InvalidEndpointDescription& e) {
      return e.what();
    }
    return "no error";
  }
  Reactor reactor;
  static inline bool activated_ = false;  // the variables are gone after the first use
};

// EnvironmentTests.test_defaultEnviron: the process's own environment; the
// variables are read once and cleared, so that a child does not think it
// was activated, and the descriptors are made close-on-exec.
TEST_F(SystemdActivatedTest, TheProcessReadsItsSocketsOnceAndClearsTheVariables) {
  const ListenFDs& fds = processListenFDs();
  EXPECT_EQ(fds.inheritedDescriptors(), (std::vector<int>{3, 4, 5, 6}));
  EXPECT_EQ(fds.names(), (std::vector<std::string>{"web", "web6", "ctl", "dns"}));
  EXPECT_EQ(std::getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);
  EXPECT_EQ(std::getenv("LISTEN_FDNAMES"), nullptr);
  for (int fd : fds.inheritedDescriptors()) EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(&processListenFDs(), &fds);
}

// SystemdEndpointPluginTests.test_parseStreamServerINET, ...INET6,
// ...UNIX: the index picks the descriptor, the domain its family; by name
// too (LISTEN_FDNAMES, beyond Twisted 22.4).
TEST_F(SystemdActivatedTest, SystemdDescriptionsNameTheDescriptorByIndexOrName) {
  auto inet = endpoint("systemd:domain=INET:index=0");
  ASSERT_TRUE(inet);
  EXPECT_EQ(inet->fileno(), 3);
  EXPECT_EQ(inet->addressFamily(), AF_INET);
  auto inet6 = endpoint("systemd:INET6:1");
  ASSERT_TRUE(inet6);
  EXPECT_EQ(inet6->fileno(), 4);
  EXPECT_EQ(inet6->addressFamily(), AF_INET6);
  auto unix_ = endpoint("systemd:domain=UNIX:name=ctl");
  ASSERT_TRUE(unix_);
  EXPECT_EQ(unix_->fileno(), 5);
  EXPECT_EQ(unix_->addressFamily(), AF_UNIX);
  // Each inherited socket is handed out once: once listened on, its number
  // is closed and may name another socket.
  EXPECT_NE(errorOf("systemd:domain=INET:name=web").find("already given to another systemd"),
            std::string::npos);
}

// A datagram socket, an index past LISTEN_FDS, an unknown name: refused
// when the description is read, each saying why.
TEST_F(SystemdActivatedTest, WrongSystemdDescriptionsSayWhy) {
  EXPECT_NE(errorOf("systemd:domain=INET:name=dns").find("is a datagram socket"),
            std::string::npos);
  EXPECT_NE(errorOf("systemd:domain=INET:index=4").find("passed 4 descriptor(s)"),
            std::string::npos);
  EXPECT_NE(errorOf("systemd:domain=INET:name=nope").find("no descriptor named 'nope'"),
            std::string::npos);
  EXPECT_NE(errorOf("systemd:domain=INET").find("needs an index or a name"), std::string::npos);
  EXPECT_NE(errorOf("systemd:domain=INET:index=0:name=web").find("index or name, not both"),
            std::string::npos);
  EXPECT_NE(errorOf("systemd:domain=AF_INET:index=0").find("not INET, INET6 or UNIX"),
            std::string::npos);
}

}  // namespace
}  // namespace twisted::test
