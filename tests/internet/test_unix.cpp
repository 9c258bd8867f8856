// UNIX stream sockets end to end, on every backend: paths and abstract
// names, the socket file's mode and removal, lock files (wantPID,
// checkPID), refused and failed connections, the shared transport's
// half-close and abort, peer credentials.
// Covers twisted/internet/test/test_unix.py and twisted/test/test_unix.py
// (see docs/conformance.md).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "internet/unix/unix.hpp"
#include "iterate_until.hpp"
#include "tcp_helpers.hpp"
#include "temp_dir.hpp"
#include "twisted/internet/client_creator.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/reactor_unix.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted::test {
namespace {

namespace fs = std::filesystem;

class UNIXTest : public ReactorTest {
 protected:
  std::shared_ptr<RecordingFactory> server = std::make_shared<RecordingFactory>();
  std::shared_ptr<RecordingFactory> client = std::make_shared<RecordingFactory>();
  std::shared_ptr<IListeningPort> port;
  TemporaryDirectory tmp{"twisted-unix"};
  const std::string dir = tmp.path();

  std::string path(const char* name = "s") const { return dir + "/" + name; }
  // An abstract name no other test (or process) uses.
  std::string abstractName() const {
    return std::string(1, '\0') + "twisted-test-" + std::to_string(::getpid()) + "-" +
           fs::path(dir).filename().string();
  }
  // Stops the port, then the reactor, once `n` protocols (of either
  // factory, or any that calls lostOne()) have lost their connection.
  void stopAfterLosses(int n) {
    lossTarget_ = n;
    for (auto* f : {server.get(), client.get()}) {
      f->setup = [this, prev = f->setup](ScriptedProtocol& p) {
        if (prev) prev(p);
        p.onLost = [this, mine = p.onLost](ScriptedProtocol& self, const Failure& why) {
          if (mine) mine(self, why);
          lostOne();
        };
      };
    }
  }
  void lostOne() {
    // (Not while the fixture destroys the reactor after a failed test.)
    if (++losses_ == lossTarget_ && reactor && reactor->running()) {
      port->stopListening().addCallback([this] { reactor->stop(); });
    }
  }
  int losses_ = 0;
  int lossTarget_ = -1;
  // Echo on the server; the client writes `message` and closes when it has
  // it back.
  void echo(const std::string& message) {
    server->setup = [](ScriptedProtocol& p) {
      p.onData = [](ScriptedProtocol& self, std::string_view data) { self.transport->write(data); };
    };
    client->setup = [message](ScriptedProtocol& p) {
      p.onMade = [message](ScriptedProtocol& self) { self.transport->write(message); };
      p.onData = [message](ScriptedProtocol& self, std::string_view) {
        if (self.data == message) self.transport->loseConnection();
      };
    };
    stopAfterLosses(2);
  }
  static mode_t modeOf(const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 ? st.st_mode : 0;
  }
  // A pid that is certainly dead: a child that exited and was reaped.
  static pid_t deadPid() {
    pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
  }
  // A socket file with nobody listening (bound, then closed).
  static void staleSocketAt(const std::string& p) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SocketAddress sa = toSocketAddress(UNIXAddress{p});
    ASSERT_EQ(::bind(fd, sa.get(), sa.length), 0);
    ::close(fd);
  }
};

// ---- connecting and talking -------------------------------------------------------------

// UNIXTestsBuilder / UnixSocketTests.test_dumber: a client connects to a
// path, bytes go both ways, both sides close cleanly; the addresses are
// the path on each side (the client's own end is unnamed).
TEST_P(UNIXTest, EchoOverAPathWithTheAddressesOfEachSide) {
  Address serverHost, serverPeer, clientHost, clientPeer;
  echo("hello over a path");
  server->setup = [&, prev = server->setup](ScriptedProtocol& p) {
    prev(p);
    p.onMade = [&](ScriptedProtocol& self) {
      serverHost = self.transport->getHost();
      serverPeer = self.transport->getPeer();
    };
  };
  client->setup = [&, prev = client->setup](ScriptedProtocol& p) {
    prev(p);
    auto write = p.onMade;
    p.onMade = [&, write](ScriptedProtocol& self) {
      clientHost = self.transport->getHost();
      clientPeer = self.transport->getPeer();
      write(self);
    };
  };
  port = reactor->listenUNIX(path(), server);
  EXPECT_EQ(port->getHost(), Address(UNIXAddress{path()}));
  reactor->connectUNIX(path(), client);
  runReactor();
  ASSERT_EQ(client->protocols.size(), 1u);
  EXPECT_EQ(client->protocols[0]->data, "hello over a path");
  EXPECT_TRUE(client->protocols[0]->closedReason->check<error::ConnectionDone>());
  EXPECT_TRUE(server->protocols.at(0)->closedReason->check<error::ConnectionDone>());
  EXPECT_EQ(serverHost, Address(UNIXAddress{path()}));
  EXPECT_EQ(serverPeer, Address(UNIXAddress{""}));
  EXPECT_EQ(clientPeer, Address(UNIXAddress{path()}));
  EXPECT_EQ(clientHost, Address(UNIXAddress{""}));
  EXPECT_EQ(server->addresses.at(0), Address(UNIXAddress{""})) << "buildProtocol's peer";
  EXPECT_EQ(client->addresses.at(0), Address(UNIXAddress{path()}));
}

// UNIXTestsBuilder.test_listenOnLinuxAbstractNamespace and
// test_connectToLinuxAbstractNamespace: a name with a leading NUL lives in
// the abstract namespace: no file is made, and a client reaches it.
TEST_P(UNIXTest, AnAbstractNameWorksWithoutAFile) {
  echo("abstract");
  std::string name = abstractName();
  port = reactor->listenUNIX(name, server);
  EXPECT_EQ(port->getHost(), Address(UNIXAddress{name}));
  reactor->connectUNIX(name, client);
  runReactor();
  EXPECT_EQ(client->protocols.at(0)->data, "abstract");
  EXPECT_TRUE(fs::is_empty(dir)) << "nothing on the file system";
}

// The socket file goes when the port stops, at once (the path is free to
// listen again before the Deferred fires), and Twisted's close line is
// logged.
TEST_P(UNIXTest, StoppingThePortRemovesItsFileAtOnce) {
  port = reactor->listenUNIX(path(), server);
  EXPECT_TRUE(S_ISSOCK(modeOf(path())));
  Deferred<void> stopped = port->stopListening();
  EXPECT_EQ(modeOf(path()), 0u) << "removed";
  auto again = reactor->listenUNIX(path(), server);
  reactor->iterate(0);
  EXPECT_EQ(server->stopped, 0) << "the factory is in use by the new port";
  again->stopListening();
  reactor->iterate(0);
  EXPECT_EQ(server->stopped, 1);
  EXPECT_EQ(modeOf(path()), 0u);
  // "(UNIX Port PATH Closed)", as Twisted logs it.
  std::size_t closed = 0;
  for (auto& e : logs->events()) {
    closed += logger::formatEvent(e) == "(UNIX Port " + path() + " Closed)";
  }
  EXPECT_EQ(closed, 2u);
}

// UNIXTestsBuilder.test_mode: the socket file has the mode asked for.
TEST_P(UNIXTest, TheSocketFileHasTheModeAskedFor) {
  for (int mode : {0600, 0660, 0666}) {
    auto p = reactor->listenUNIX(path(), server, 50, mode);
    EXPECT_EQ(modeOf(path()) & 0777, static_cast<mode_t>(mode)) << std::oct << mode;
    p->stopListening();
    reactor->iterate(0);
  }
  // Nothing else is left in the directory.
  EXPECT_TRUE(fs::is_empty(dir));
}

// A path in use: refused with CannotListenError, whether a live socket or
// any other file is there (never replaced).
TEST_P(UNIXTest, AListenOnAPathInUseIsRefusedAndReplacesNothing) {
  port = reactor->listenUNIX(path(), server);
  try {
    reactor->listenUNIX(path(), server);
    ADD_FAILURE() << "listened twice";
  } catch (const error::CannotListenError& e) {
    EXPECT_NE(std::string(e.what()).find(path()), std::string::npos) << e.what();
    EXPECT_EQ(e.socketError(), EADDRINUSE) << e.what();
  }
  { std::ofstream(path("file")) << "precious"; }
  EXPECT_THROW(reactor->listenUNIX(path("file"), server), error::CannotListenError);
  std::ifstream kept(path("file"));
  std::string text;
  kept >> text;
  EXPECT_EQ(text, "precious");
  // Too long for sun_path: said so.
  std::string tooLong = dir + "/" + std::string(200, 'x');
  EXPECT_THROW(reactor->listenUNIX(tooLong, server), error::CannotListenError);
  port->stopListening();
  reactor->iterate(0);
}

// The port removes only the file it made: one put there since is kept.
TEST_P(UNIXTest, StoppingThePortLeavesAFileThatReplacedItsOwn) {
  port = reactor->listenUNIX(path(), server);
  ASSERT_EQ(::unlink(path().c_str()), 0);
  staleSocketAt(path());
  port->stopListening();
  reactor->iterate(0);
  EXPECT_TRUE(S_ISSOCK(modeOf(path()))) << "someone else's socket is left alone";
}

// ---- failures reaching clientConnectionFailed --------------------------------------------

// UNIXTestsBuilder: connecting to a path with no file fails with a
// ConnectError naming it; to a socket file nobody listens on, with
// ConnectionRefusedError; never before connectUNIX returns.
TEST_P(UNIXTest, ConnectingToNothingOrToAStaleSocketFails) {
  int failures = 0;
  client->onFailed = [&](IConnector&, const Failure&) {
    if (++failures == 2) reactor->stop();
  };
  staleSocketAt(path("stale"));
  reactor->connectUNIX(path("missing"), client);
  reactor->connectUNIX(path("stale"), client);
  EXPECT_TRUE(client->failed.empty()) << "reported on a later turn";
  runReactor();
  ASSERT_EQ(client->failed.size(), 2u);
  EXPECT_TRUE(client->failed[0].check<error::ConnectError>());
  EXPECT_NE(client->failed[0].getErrorMessage().find(path("missing")), std::string::npos)
      << client->failed[0].getErrorMessage();
  EXPECT_TRUE(client->failed[1].check<error::ConnectionRefusedError>())
      << client->failed[1].brief();
  EXPECT_EQ(client->stopped, 1) << "stopFactory after the attempts";
}

// ---- lock files ---------------------------------------------------------------------------

// UnixSocketTests.test_socketLocking: with wantPID, PATH.lock names this
// process while the port listens; a second port on the path is refused
// (the lock is live); the lock goes when the port stops.
TEST_P(UNIXTest, WantPIDKeepsALockThatRefusesASecondServer) {
  port = reactor->listenUNIX(path(), server, 50, 0666, /*wantPID=*/true);
  EXPECT_EQ(fs::read_symlink(path() + ".lock").string(), std::to_string(::getpid()));
  try {
    reactor->listenUNIX(path(), server, 50, 0666, true);
    ADD_FAILURE() << "a second server took a live lock";
  } catch (const error::CannotListenError& e) {
    EXPECT_NE(std::string(e.what()).find("Cannot acquire lock"), std::string::npos) << e.what();
  }
  port->stopListening();
  reactor->iterate(0);
  EXPECT_FALSE(fs::exists(fs::symlink_status(path() + ".lock")));
  EXPECT_EQ(modeOf(path()), 0u);
}

// UnixSocketTests.test_connectToUncleanServer and
// test_uncleanServerSocketLocking: a server that died left its socket
// and a lock naming it: a client with checkPID refuses the path
// (BadFileError); a new server with wantPID takes the lock over, replaces
// the stale socket and serves.
TEST_P(UNIXTest, ADeadServersSocketAndLockAreTakenOverAndRefusedByCheckPID) {
  staleSocketAt(path());
  fs::create_symlink(std::to_string(deadPid()), path() + ".lock");
  client->onFailed = [this](IConnector&, const Failure&) { reactor->stop(); };
  reactor->connectUNIX(path(), client, 30, /*checkPID=*/true);
  runReactor();
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::BadFileError>()) << client->failed[0].brief();
  echo("after the crash");
  port = reactor->listenUNIX(path(), server, 50, 0666, /*wantPID=*/true);
  EXPECT_EQ(fs::read_symlink(path() + ".lock").string(), std::to_string(::getpid()));
  reactor->connectUNIX(path(), client, 30, /*checkPID=*/true);
  runReactor();
  ASSERT_EQ(client->protocols.size(), 1u);
  EXPECT_EQ(client->protocols[0]->data, "after the crash");
}

// checkPID without a lock at all: refused too (no live server vouches).
TEST_P(UNIXTest, CheckPIDRefusesAPathWithoutALock) {
  port = reactor->listenUNIX(path(), server);  // no wantPID: no lock
  client->onFailed = [this](IConnector&, const Failure&) { reactor->stop(); };
  reactor->connectUNIX(path(), client, 30, /*checkPID=*/true);
  runReactor();
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::BadFileError>());
  EXPECT_TRUE(server->protocols.empty());
  port->stopListening();
  reactor->iterate(0);
}

// ---- the shared transport --------------------------------------------------------------

// The same transport as TCP: loseWriteConnection half-closes (the server's
// half-closeable protocol reads end-of-file and can still answer).
TEST_P(UNIXTest, HalfCloseWorksAsOnTCP) {
  auto halfServer = std::make_shared<ClientFactory>([] {
    auto p = std::make_shared<HalfCloseProtocol>();
    p->onReadLost = [](HalfCloseProtocol& self) {
      self.transport->write("got " + self.data);
      self.transport->loseConnection();
    };
    return p;
  });
  client->setup = [this](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      self.transport->write("request");
      dynamic_cast<IUNIXTransport&>(*self.transport).loseWriteConnection();
    };
    p.onLost = [this](ScriptedProtocol&, const Failure&) {
      port->stopListening().addCallback([this] { reactor->stop(); });
    };
  };
  port = reactor->listenUNIX(path(), halfServer);
  reactor->connectUNIX(path(), client);
  runReactor();
  ASSERT_EQ(client->protocols.size(), 1u);
  EXPECT_EQ(client->protocols[0]->data, "got request");
  EXPECT_TRUE(client->protocols[0]->closedReason->check<error::ConnectionDone>());
}

// abortConnection: connectionLost once, ConnectionAborted; the peer sees
// the connection end.
TEST_P(UNIXTest, AbortConnectionIsImmediateAndReportedOnce) {
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      self.transport->write(std::string(1 << 20, 'q'));
      self.transport->abortConnection();
      self.transport->abortConnection();
    };
  };
  stopAfterLosses(2);
  port = reactor->listenUNIX(path(), server);
  reactor->connectUNIX(path(), client);
  runReactor();
  EXPECT_EQ(server->protocols.at(0)->lostCalls, 1);
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::ConnectionAborted>());
  EXPECT_TRUE(client->protocols.at(0)->closedReason->check<error::ConnectionClosed>());
}

// Beyond Twisted: the server knows who connected (SO_PEERCRED), also after
// the connection is closed.
TEST_P(UNIXTest, TheServerKnowsThePeersCredentials) {
  std::optional<PeerCredentials> seen;
  echo("who");
  server->setup = [&, prev = server->setup](ScriptedProtocol& p) {
    prev(p);
    p.onMade = [&](ScriptedProtocol& self) {
      seen = dynamic_cast<IUNIXTransport&>(*self.transport).getPeerCredentials();
    };
  };
  port = reactor->listenUNIX(path(), server);
  reactor->connectUNIX(path(), client);
  runReactor();
  PeerCredentials me{::getpid(), ::getuid(), ::getgid()};
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(*seen, me);
  auto& t = dynamic_cast<IUNIXTransport&>(*server->protocols.at(0)->transport);
  EXPECT_EQ(t.getPeerCredentials(), std::optional<PeerCredentials>(me)) << "after the close";
  auto& c = dynamic_cast<IUNIXTransport&>(*client->protocols.at(0)->transport);
  EXPECT_EQ(c.getPeerCredentials(), std::optional<PeerCredentials>(me)) << "the client's too";
}

// UNIXTestsBuilder.test_listenFailure: a socket that cannot be made (the
// process at its descriptor limit) is a CannotListenError naming the path
// and the errno, and leaves neither a socket file nor a lock behind.
TEST_P(UNIXTest, ASocketThatCannotBeMadeIsCannotListenErrorAndLeavesNothing) {
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  int lowest = ::dup(0);
  ::close(lowest);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest);
  std::optional<error::CannotListenError> caught;
  // Calls made once before the limit: UBSan checks a call's object the
  // first time, with descriptors of its own.
  std::string where = path();
  Reactor& r = *reactor;
  try {
    r.listenUNIX("", server);  // the same calls and the same error, with no socket
  } catch (const error::CannotListenError& e) {
    caught = e;
    (void)caught->socketError();
    (void)caught->what();
  }
  ASSERT_TRUE(caught.has_value());
  caught.reset();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  try {
    r.listenUNIX(where, server, 50, 0666, /*wantPID=*/true);
  } catch (const error::CannotListenError& e) {
    caught = e;
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(caught.has_value()) << "listened without a descriptor";
  EXPECT_EQ(caught->socketError(), EMFILE) << caught->what();
  EXPECT_NE(std::string(caught->what()).find(path()), std::string::npos) << caught->what();
  EXPECT_TRUE(fs::is_empty(dir)) << "no socket file, no lock";
  port = reactor->listenUNIX(path(), server, 50, 0666, true);  // and with the limit back, it works
  port->stopListening();
  reactor->iterate(0);
}

// UNIXTestsBuilder.test_connectToLinuxAbstractNamespace: the connector's
// destination is the name given, an abstract one or a path, before and
// after the attempt.
TEST_P(UNIXTest, TheConnectorsDestinationIsTheNameGiven) {
  std::string name = abstractName();
  port = reactor->listenUNIX(name, server);
  client->setup = [this](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) { self.transport->loseConnection(); };
  };
  int ended = 0;
  client->onLost = [&](IConnector&, const Failure&) {
    if (++ended == 2) reactor->stop();
  };
  client->onFailed = client->onLost;
  auto abstract = reactor->connectUNIX(name, client);
  auto missing = reactor->connectUNIX(path("nothing"), client);
  EXPECT_EQ(abstract->getDestination(), Address(UNIXAddress{name}));
  EXPECT_EQ(missing->getDestination(), Address(UNIXAddress{path("nothing")}));
  runReactor();
  EXPECT_EQ(abstract->getDestination(), Address(UNIXAddress{name}));
  EXPECT_EQ(missing->getDestination(), Address(UNIXAddress{path("nothing")}));
  port->stopListening();
  reactor->iterate(0);
}

// UnixSocketTests.test_peerBind: a client bound to a path of its own is
// known by it: buildProtocol's address and the server transport's getPeer.
TEST_P(UNIXTest, APeerBoundToAPathIsKnownByThatPath) {
  port = reactor->listenUNIX(path(), server);
  Fd raw(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  SocketAddress mine = toSocketAddress(UNIXAddress{path("peer")});
  ASSERT_EQ(::bind(raw.get(), mine.get(), mine.length), 0);
  SocketAddress theirs = toSocketAddress(UNIXAddress{path()});
  ASSERT_EQ(::connect(raw.get(), theirs.get(), theirs.length), 0);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->protocols.empty(); }, "accepted", 0.01));
  EXPECT_EQ(server->addresses.at(0), Address(UNIXAddress{path("peer")}));
  EXPECT_EQ(server->protocols[0]->transport->getPeer(), Address(UNIXAddress{path("peer")}));
  raw.reset();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return server->protocols[0]->closed; }, "closed", 0.01));
  port->stopListening();
  reactor->iterate(0);
}

// ---- passing descriptors -------------------------------------------------------------------

// A client that records descriptors and bytes in the order they come.
class DescriptorReceiver : public ScriptedProtocol, public IFileDescriptorReceiver {
 public:
  std::vector<std::string> events;
  std::vector<int> received;
  std::function<void(DescriptorReceiver&, int)> onDescriptor;
  void fileDescriptorReceived(int fd) override {
    events.push_back("fd");
    received.push_back(fd);
    if (onDescriptor) onDescriptor(*this, fd);
  }
  void dataReceived(std::string_view bytes) override {
    events.push_back("data");
    ScriptedProtocol::dataReceived(bytes);
  }
  ~DescriptorReceiver() override {
    for (int fd : received) ::close(fd);
  }
};

class UNIXDescriptorTest : public UNIXTest {
 protected:
  std::vector<std::shared_ptr<DescriptorReceiver>> receivers;
  std::vector<std::shared_ptr<HalfCloseProtocol>> keep;
  // Receivers count toward stopAfterLosses.
  std::shared_ptr<ClientFactory> receiving(std::function<void(DescriptorReceiver&)> setup = {}) {
    return std::make_shared<ClientFactory>([this, setup] {
      auto p = std::make_shared<DescriptorReceiver>();
      if (setup) setup(*p);
      p->onLost = [this, mine = p->onLost](ScriptedProtocol& self, const Failure& why) {
        if (mine) mine(self, why);
        lostOne();
      };
      receivers.push_back(p);
      return p;
    });
  }
  void TearDown() override {
    receivers.clear();  // closes what they received, before the janitor counts
    keep.clear();
    UNIXTest::TearDown();
  }
  static IUNIXTransport& unixOf(ScriptedProtocol& p) {
    return dynamic_cast<IUNIXTransport&>(*p.transport);
  }
};

// UNIXTestsBuilder.test_sendFileDescriptor and
// test_descriptorDeliveredBeforeBytes: the server sends one end of a pipe
// with a byte; the client gets a new, close-on-exec descriptor for the
// same pipe, before the byte. The sender's own descriptor stays its own.
TEST_P(UNIXDescriptorTest, ADescriptorArrivesBeforeItsByteAsANewCloseOnExecDescriptor) {
  int pipeFds[2];
  ASSERT_EQ(::pipe2(pipeFds, O_CLOEXEC), 0);
  Fd readEnd(pipeFds[0]), writeEnd(pipeFds[1]);
  server->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      unixOf(self).sendFileDescriptor(readEnd.get());
      self.transport->write("x");
    };
  };
  std::string throughThePipe;
  auto clients = receiving([&](DescriptorReceiver& r) {
    r.onDescriptor = [&](DescriptorReceiver& self, int fd) {
      EXPECT_NE(fd, readEnd.get()) << "a new descriptor";
      EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC) << "close-on-exec";
      ASSERT_EQ(::write(writeEnd.get(), "through", 7), 7);
      char buf[16];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) throughThePipe.assign(buf, static_cast<std::size_t>(n));
      self.transport->loseConnection();
    };
  });
  stopAfterLosses(2);
  port = reactor->listenUNIX(path(), server);
  reactor->connectUNIX(path(), clients);
  runReactor();
  ASSERT_EQ(receivers.size(), 1u);
  EXPECT_EQ(receivers[0]->events, (std::vector<std::string>{"fd", "data"}));
  EXPECT_EQ(receivers[0]->data, "x");
  EXPECT_EQ(throughThePipe, "through") << "the same pipe";
  EXPECT_GE(::fcntl(readEnd.get(), F_GETFD), 0) << "the sender's descriptor is still open";
}

// UNIXTestsBuilder.test_avoidLeakingFileDescriptors: a protocol that does
// not take descriptors gets none: they are closed, never leaked, and that
// is logged.
TEST_P(UNIXDescriptorTest, DescriptorsForAProtocolThatCannotTakeThemAreClosed) {
  int before = countOpenFds();
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      for (int i = 0; i < 3; ++i) unixOf(self).sendFileDescriptor(0);
      self.transport->write("abc");
    };
  };
  client->setup = [](ScriptedProtocol& p) {
    p.onData = [](ScriptedProtocol& self, std::string_view) {
      if (self.data == "abc") self.transport->loseConnection();
    };
  };
  stopAfterLosses(2);
  port = reactor->listenUNIX(path(), server);
  reactor->connectUNIX(path(), client);
  runReactor();
  EXPECT_EQ(client->protocols.at(0)->data, "abc");
  EXPECT_GE(logs->flushMessages("does not provide IFileDescriptorReceiver"), 1u);
  port.reset();
  server->protocols.clear();
  client->protocols.clear();
  EXPECT_EQ(countOpenFds(), before) << "every received descriptor was closed";
}

// Issue 18: 1,000 descriptors passed, in rounds of 50 (each round answered
// by the client), every one received and closed: none leaked.
TEST_P(UNIXDescriptorTest, AThousandDescriptorsPassWithNoneLeaked) {
  constexpr int kRounds = 20, kPerRound = 50;
  int before = countOpenFds();
  int rounds = 0;
  auto sendRound = [](ScriptedProtocol& self) {
    for (int i = 0; i < kPerRound; ++i) unixOf(self).sendFileDescriptor(0);
    self.transport->write(std::string(kPerRound, 'd'));
  };
  server->setup = [&, sendRound](ScriptedProtocol& p) {
    p.onMade = sendRound;
    p.onData = [&, sendRound](ScriptedProtocol& self, std::string_view) {
      if (++rounds < kRounds) {
        sendRound(self);
      } else {
        self.transport->loseConnection();
      }
    };
  };
  std::size_t total = 0;
  auto clients = receiving([&](DescriptorReceiver& r) {
    r.onDescriptor = [&](DescriptorReceiver& self, int) {
      if (self.received.size() % kPerRound == 0) self.transport->write("k");  // next round
    };
    r.onLost = [&](ScriptedProtocol& self, const Failure&) {
      auto& me = static_cast<DescriptorReceiver&>(self);
      total = me.received.size();
      for (int fd : me.received) ::close(fd);
      me.received.clear();
    };
  });
  stopAfterLosses(2);
  port = reactor->listenUNIX(path(), server);
  reactor->connectUNIX(path(), clients);
  runReactor(60);
  EXPECT_EQ(total, static_cast<std::size_t>(kRounds * kPerRound));
  EXPECT_EQ(receivers.at(0)->data.size(), static_cast<std::size_t>(kRounds * kPerRound));
  port.reset();
  server->protocols.clear();
  receivers.clear();
  EXPECT_EQ(countOpenFds(), before) << "none leaked, on either side";
}

// UNIXTestsBuilder.test_fileDescriptorOverrun: more descriptors than bytes
// to carry them: the sender's connection is lost with
// FileDescriptorOverrun, the receiver's is closed, nothing leaks.
TEST_P(UNIXDescriptorTest, MoreDescriptorsThanBytesIsFileDescriptorOverrun) {
  int before = countOpenFds();
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      unixOf(self).sendFileDescriptor(0);
      unixOf(self).sendFileDescriptor(0);
      self.transport->write("x");
    };
  };
  stopAfterLosses(2);
  port = reactor->listenUNIX(path(), server);
  reactor->connectUNIX(path(), receiving());
  runReactor();
  ASSERT_TRUE(server->protocols.at(0)->closedReason);
  EXPECT_TRUE(server->protocols[0]->closedReason->check<error::FileDescriptorOverrun>())
      << server->protocols[0]->closedReason->brief();
  EXPECT_TRUE(receivers.at(0)->closedReason->check<error::ConnectionClosed>());
  port.reset();
  server->protocols.clear();
  receivers.clear();
  EXPECT_EQ(countOpenFds(), before);
}

// UNIXTestsBuilder.test_sendFileDescriptorTriggersPauseProducing: more than
// 64 waiting descriptors pause a streaming producer; sent, it resumes.
TEST_P(UNIXDescriptorTest, ManyWaitingDescriptorsPauseAStreamingProducer) {
  auto producer = std::make_shared<PushProducer>();
  server->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      self.transport->registerProducer(producer, true);
      for (std::size_t i = 0; i <= std::size_t{64}; ++i) unixOf(self).sendFileDescriptor(0);
      EXPECT_EQ(producer->paused, 1) << "paused by the descriptors waiting";
      self.transport->write(std::string(std::size_t{64} + 1, 'p'));
    };
  };
  auto clients = receiving([&](DescriptorReceiver& r) {
    r.onData = [](ScriptedProtocol& self, std::string_view) {
      if (self.data.size() == std::size_t{64} + 1) self.transport->loseConnection();
    };
  });
  stopAfterLosses(2);
  port = reactor->listenUNIX(path(), server);
  reactor->connectUNIX(path(), clients);
  runReactor();
  EXPECT_EQ(producer->paused, 1);
  EXPECT_GE(producer->resumed, 1) << "resumed once they were sent";
  EXPECT_EQ(receivers.at(0)->received.size(), std::size_t{64} + 1);
}

// A raw client that sends one message with the given control data, to a
// port whose protocols are DescriptorReceivers; runs until they have the
// byte.
class RawSenderTest : public UNIXDescriptorTest {
 protected:
  void sendRaw(const std::vector<std::vector<int>>& messages, bool passCredentials = false) {
    port = reactor->listenUNIX(path(), receiving());
    Fd raw(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    SocketAddress sa = toSocketAddress(UNIXAddress{path()});
    ASSERT_EQ(::connect(raw.get(), sa.get(), sa.length), 0);
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return !receivers.empty(); }, "accepted", 0.01));
    if (passCredentials) {
      int one = 1;
      int fd = dynamic_cast<IFileDescriptor&>(*receivers[0]->transport).fileno();
      ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one), 0);
    }
    // One message: a control block per entry of `messages`, each carrying
    // those descriptors; one byte of data.
    std::vector<char> control;
    for (const auto& fds : messages) {
      std::size_t at = control.size();
      control.resize(at + CMSG_SPACE(fds.size() * sizeof(int)));
      auto* c = reinterpret_cast<cmsghdr*>(control.data() + at);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
      std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    }
    char byte = 'b';
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.empty() ? nullptr : control.data();
    msg.msg_controllen = control.size();
    ASSERT_EQ(::sendmsg(raw.get(), &msg, 0), 1) << std::strerror(errno);
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return receivers[0]->data == "b"; }, "the byte"));
    raw.reset();
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return receivers[0]->closed; }, "closed"));
    port->stopListening();
    reactor->iterate(0);
  }
  // One byte with one descriptor, as UnixSocketIO sends them.
  static ssize_t sendOne(int socket, int descriptor, char byte) {
    return unixsock::UnixSocketIO::sendDescriptor(socket, &byte, descriptor);
  }
  static ino_t inodeOf(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
  }
};

// Issue 18: a receiver at its descriptor limit cannot take what is sent:
// the kernel truncates (MSG_CTRUNC), and that is logged, not silent; the
// byte still arrives. The descriptor is put in flight before the limit
// (the kernel also counts descriptors in flight against the sender's).
TEST_P(RawSenderTest, DescriptorsTheReceiverCannotTakeAreReportedNotSilentlyDropped) {
  port = reactor->listenUNIX(path(), receiving());
  Fd raw(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  SocketAddress sa = toSocketAddress(UNIXAddress{path()});
  ASSERT_EQ(::connect(raw.get(), sa.get(), sa.length), 0);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !receivers.empty(); }, "accepted", 0.01));
  // One descriptor taken first, so that everything the second read runs has
  // run once (UBSan checks a call's object the first time, with descriptors
  // of its own).
  ASSERT_EQ(sendOne(raw.get(), 0, '1'), 1);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return receivers[0]->data == "1"; }, "first"));
  ASSERT_EQ(sendOne(raw.get(), 0, '2'), 1);
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  rlimit tight = saved;
  int lowest = ::dup(0);
  ::close(lowest);
  tight.rlim_cur = static_cast<rlim_t>(lowest);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  bool arrived = iterateUntil(
      *reactor, [&] { return receivers[0]->data == "12"; }, "second");
  ::setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_TRUE(arrived);
  EXPECT_EQ(receivers[0]->received.size(), 1u) << "only the first descriptor could be taken";
  EXPECT_EQ(logs->flushMessages("lost descriptors"), 1u);
  raw.reset();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return receivers[0]->closed; }, "closed"));
  port->stopListening();
  reactor->iterate(0);
}

// UNIXTestsBuilder.test_multiFileDescriptorReceivedPerRecvmsgOneCMSG: two
// descriptors in one control block: both delivered, in order, before the
// byte.
TEST_P(RawSenderTest, TwoDescriptorsInOneControlBlockArriveInOrder) {
  Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC)), b(::open("/", O_RDONLY | O_CLOEXEC));
  sendRaw({{a.get(), b.get()}});
  auto& r = *receivers.at(0);
  EXPECT_EQ(r.events, (std::vector<std::string>{"fd", "fd", "data"}));
  ASSERT_EQ(r.received.size(), 2u);
  EXPECT_EQ(inodeOf(r.received[0]), inodeOf(a.get()));
  EXPECT_EQ(inodeOf(r.received[1]), inodeOf(b.get()));
}

// UNIXTestsBuilder.test_multiFileDescriptorReceivedPerRecvmsgTwoCMSGs: two
// control blocks in one message, one descriptor each: both, in order.
TEST_P(RawSenderTest, TwoControlBlocksInOneMessageArriveInOrder) {
  Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC)), b(::open("/", O_RDONLY | O_CLOEXEC));
  sendRaw({{a.get()}, {b.get()}});
  auto& r = *receivers.at(0);
  ASSERT_EQ(r.received.size(), 2u);
  EXPECT_EQ(inodeOf(r.received[0]), inodeOf(a.get()));
  EXPECT_EQ(inodeOf(r.received[1]), inodeOf(b.get()));
}

// UNIXTestsBuilder.test_multiFileDescriptorReceivedPerRecvmsgBadCMSG:
// ancillary data that is not descriptors (credentials, asked for with
// SO_PASSCRED) is logged as unsupported; the bytes still arrive.
TEST_P(RawSenderTest, AncillaryDataThatIsNotDescriptorsIsLoggedAsUnsupported) {
  sendRaw({}, /*passCredentials=*/true);
  EXPECT_TRUE(receivers.at(0)->received.empty());
  EXPECT_GE(logs->flushMessages("received unsupported ancillary data"), 1u);
}

// A client connected through an endpoint (its protocol wrapped) still
// receives descriptors: the wrapper forwards IFileDescriptorReceiver.
TEST_P(UNIXDescriptorTest, AClientConnectedThroughAnEndpointReceivesDescriptors) {
  server->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol& self) {
      unixOf(self).sendFileDescriptor(0);
      self.transport->write("x");
    };
  };
  stopAfterLosses(2);
  port = reactor->listenUNIX(path(), server);
  auto factory = receiving([](DescriptorReceiver& r) {
    r.onDescriptor = [](DescriptorReceiver& self, int) { self.transport->loseConnection(); };
  });
  UNIXClientEndpoint endpoint(*reactor, path());
  endpoint.connect(factory);
  runReactor();
  ASSERT_EQ(receivers.size(), 1u);
  EXPECT_EQ(receivers[0]->received.size(), 1u);
  EXPECT_EQ(logs->flushMessages("does not provide IFileDescriptorReceiver"), 0u);
}

// After loseWriteConnection, sendFileDescriptor is ignored (as write is):
// it does not lose the connection with FileDescriptorOverrun.
TEST_P(UNIXDescriptorTest, SendFileDescriptorAfterTheWriteSideClosedIsIgnored) {
  // The client answers only once the server's half-close reached it, so
  // the server's write side is shut (and the descriptor "sent") before.
  std::shared_ptr<HalfCloseProtocol> clientSide;
  auto halfClient = std::make_shared<ClientFactory>([this, &clientSide] {
    clientSide = std::make_shared<HalfCloseProtocol>();
    clientSide->onReadLost = [](HalfCloseProtocol& self) {
      self.transport->write("after");
      self.transport->loseConnection();
    };
    clientSide->onLost = [this](ScriptedProtocol&, const Failure&) { lostOne(); };
    return clientSide;
  });
  auto halfServer = std::make_shared<ClientFactory>([this] {
    auto p = std::make_shared<HalfCloseProtocol>();
    p->onWriteLost = [](HalfCloseProtocol& self) {
      unixOf(self).sendFileDescriptor(0);  // the write side is shut now
    };
    p->onData = [](ScriptedProtocol& self, std::string_view) {
      if (self.data == "after") self.transport->loseConnection();
    };
    p->onMade = [](ScriptedProtocol& self) { unixOf(self).loseWriteConnection(); };
    p->onLost = [this](ScriptedProtocol&, const Failure&) { lostOne(); };
    keep.push_back(p);
    return p;
  });
  stopAfterLosses(2);
  port = reactor->listenUNIX(path(), halfServer);
  reactor->connectUNIX(path(), halfClient);
  runReactor();
  ASSERT_TRUE(clientSide && clientSide->readLost) << "the half-close reached the client";
  ASSERT_EQ(keep.size(), 1u);
  EXPECT_TRUE(keep[0]->writeLost);
  EXPECT_EQ(keep[0]->data, "after") << "still reading after the half-close";
  ASSERT_TRUE(keep[0]->closedReason);
  EXPECT_TRUE(keep[0]->closedReason->check<error::ConnectionDone>())
      << keep[0]->closedReason->brief();
  clientSide.reset();
}

TWISTED_ALL_BACKENDS(UNIXDescriptorTest);
TWISTED_ALL_BACKENDS(RawSenderTest);

// ---- user code that throws ---------------------------------------------------------------

struct Thrown : std::runtime_error {
  Thrown() : std::runtime_error("thrown by the test") {}
};

// A client factory whose buildProtocol throws: the attempt fails with that
// error (clientConnectionFailed, logged once) and the connector can connect
// again; nothing is left open.
TEST_P(UNIXTest, AClientBuildProtocolThatThrowsFailsTheAttempt) {
  class Throwing : public RecordingFactory {
   public:
    std::shared_ptr<Protocol> buildProtocol(const Address&) override { throw Thrown(); }
  };
  auto throwing = std::make_shared<Throwing>();
  throwing->onFailed = [this](IConnector&, const Failure&) {
    port->stopListening().addCallback([this] { reactor->stop(); });
  };
  port = reactor->listenUNIX(path(), server);
  auto connector = reactor->connectUNIX(path(), throwing);
  runReactor();
  ASSERT_EQ(throwing->failed.size(), 1u);
  EXPECT_TRUE(throwing->failed[0].check<Thrown>()) << throwing->failed[0].brief();
  EXPECT_EQ(static_cast<unixsock::Connector&>(*connector).state(),
            unixsock::Connector::State::Disconnected);
  EXPECT_EQ(logs->flushErrors<Thrown>(), 1u);
  for (auto& p : server->protocols) EXPECT_TRUE(p->closed);
}

// A server factory whose startFactory throws: listenUNIX throws it, and no
// socket file is left behind (the path can be listened on again).
TEST_P(UNIXTest, AStartFactoryThatThrowsLeavesNoSocketFile) {
  class Throwing : public RecordingFactory {
   public:
    bool fail = true;
    void startFactory() override {
      if (fail) throw Thrown();
    }
  };
  auto throwing = std::make_shared<Throwing>();
  EXPECT_THROW(reactor->listenUNIX(path(), throwing, 50, 0666, /*wantPID=*/true), Thrown);
  EXPECT_TRUE(fs::is_empty(dir)) << "no socket file and no lock left";
  throwing->fail = false;
  port = reactor->listenUNIX(path(), throwing, 50, 0666, true);
  port->stopListening();
  reactor->iterate(0);
}

// ---- endpoints and ClientCreator -------------------------------------------------------

// serverFromString("unix:...") and clientFromString("unix:...") over real
// sockets: the lock file Twisted's strings ask for by default, checkPID
// honoured, the protocol delivered through the endpoint's Deferred.
TEST_P(UNIXTest, UnixEndpointStringsListenAndConnect) {
  echo("through endpoints");
  auto serverEndpoint = serverFromString(*reactor, "unix:" + path() + ":mode=600");
  serverEndpoint->listen(server).addCallback(
      [this](std::shared_ptr<IListeningPort> p) { port = std::move(p); });
  ASSERT_TRUE(port);
  EXPECT_EQ(modeOf(path()) & 0777, 0600u);
  EXPECT_TRUE(fs::is_symlink(path() + ".lock")) << "lockfile defaults to 1, as in Twisted";
  std::shared_ptr<Protocol> connected;
  clientFromString(*reactor, "unix:path=" + path() + ":lockfile=1")
      ->connect(client)
      .addCallback([&](std::shared_ptr<Protocol> p) { connected = std::move(p); });
  runReactor();
  ASSERT_TRUE(connected);
  EXPECT_EQ(client->protocols.at(0)->data, "through endpoints");
}

// ClientCreatorTests.test_cancelConnectUNIX and the UNIX run of
// ClientEndpointTestCaseMixin.test_endpointConnectingCancelled: a connect
// cancelled before the next turn fails with ConnectingCancelledError naming
// the path, builds nothing, and the server sees no connection.
TEST_P(UNIXTest, CancellingAConnectBeforeItIsMadeFailsWithConnectingCancelledError) {
  port = reactor->listenUNIX(path(), server);
  UNIXClientEndpoint endpoint(*reactor, path());
  Deferred<std::shared_ptr<Protocol>> viaEndpoint = endpoint.connect(client);
  ClientCreator<testing::AccumulatingProtocol> creator(*reactor);
  auto viaCreator = creator.connectUNIX(path());
  viaEndpoint.cancel();
  viaCreator.cancel();
  Failure f = testing::failureResultOf(viaEndpoint);
  EXPECT_TRUE(f.check<error::ConnectingCancelledError>()) << f.getErrorMessage();
  EXPECT_NE(f.getErrorMessage().find(path()), std::string::npos) << f.getErrorMessage();
  EXPECT_TRUE(testing::failureResultOf(viaCreator).check<error::CancelledError>());
  // Turns enough for an attempt that was not stopped to be accepted.
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return client->started == client->stopped; }, "the client factory stopped"));
  for (int i = 0; i < 20; ++i) reactor->iterate(0.01);
  EXPECT_TRUE(client->protocols.empty());
  EXPECT_TRUE(server->protocols.empty()) << "the attempt never reached the server";
  stopAndWait(*reactor, port);
}

// The UNIX run of ServerEndpointTestCaseMixin.test_endpointListenFailure: a
// path in use fails the endpoint's Deferred with CannotListenError.
TEST_P(UNIXTest, AUNIXServerEndpointOnAPathInUseFailsItsDeferred) {
  port = reactor->listenUNIX(path(), server);
  UNIXServerEndpoint endpoint(*reactor, path());
  Failure f = testing::failureResultOf(endpoint.listen(client));
  EXPECT_TRUE(f.check<error::CannotListenError>()) << f.getErrorMessage();
  stopAndWait(*reactor, port);
}

// ClientCreator::connectUNIX: a protocol built from the creator's arguments,
// delivered once connected; a failure reaches the Deferred.
TEST_P(UNIXTest, ClientCreatorConnectsOverUNIX) {
  class Hello : public Protocol {
   public:
    explicit Hello(std::string word) : word_(std::move(word)) {}
    void connectionMade() override { transport->write(word_); }
    std::string word_;
  };
  server->setup = [this](ScriptedProtocol& p) {
    p.onData = [this](ScriptedProtocol& self, std::string_view) {
      if (self.data == "ping") port->stopListening().addCallback([this] { reactor->stop(); });
    };
  };
  port = reactor->listenUNIX(path(), server);
  ClientCreator<Hello> creator(*reactor, std::string("ping"));
  std::shared_ptr<Hello> got;
  creator.connectUNIX(path()).addCallback([&](std::shared_ptr<Hello> h) { got = h; });
  std::optional<Failure> failed;
  creator.connectUNIX(path("missing"))
      .addCallbacks([](std::shared_ptr<Hello>) { ADD_FAILURE() << "connected to nothing"; },
                    [&](const Failure& f) { failed = f; });
  runReactor();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->word_, "ping");
  ASSERT_TRUE(failed);
  EXPECT_TRUE(failed->check<error::ConnectError>()) << failed->brief();
  got->transport->loseConnection();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return server->protocols.at(0)->closed; }, "closed"));
}

TWISTED_ALL_BACKENDS(UNIXTest);

}  // namespace
}  // namespace twisted::test
