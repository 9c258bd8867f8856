// Child processes with the real Twisted (issue 22), on every backend:
// Twisted's spawnProcess drives our `twist echo --listen stdio:`, and our
// spawnProcess drives a Twisted program served by Twisted's StandardIO.
#include <string>

#include "collecting_process.hpp"
#include "iterate_until.hpp"
#include "reactor_test.hpp"
#include "twisted/internet/reactor_process.hpp"
#include "twisted_peer.hpp"

namespace twisted::test {
namespace {

class ProcessInteropTest : public ReactorTest {
 protected:
  std::shared_ptr<CollectingProcess> run(std::vector<std::string> args,
                                         std::string_view input = {}) {
    auto p = std::make_shared<CollectingProcess>();
    std::vector<std::string> argv{"python3", TWISTED_PROCESS_PEER_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = reactor->spawnProcess(p, "/usr/bin/python3", argv, std::nullopt);
    if (!input.empty()) child->write(input);
    child->closeStdin();
    EXPECT_TRUE(iterateUntil(
        *reactor, [&] { return p->ended.has_value(); }, "the Python child's end", 0.01, 180));
    return p;
  }
};

// Twisted spawns `twist echo --listen stdio:` and sends it 4 MiB: every
// byte comes back, its stdout ends, and it exits with 0 at stdin's end.
TEST_P(ProcessInteropTest, TwistedSpawnsTwistServingEchoOnStdio) {
  auto p = run({"spawn", TWIST_PATH, std::to_string(4 << 20)});
  EXPECT_EQ(p->out, "OK\n") << p->err;
  EXPECT_TRUE(p->ended->check<error::ProcessDone>()) << p->ended->brief() << p->err;
}

// Our spawnProcess drives a Twisted StandardIO program: 2 MiB through it
// and back byte for byte, its stderr apart, its exit code (3) reported.
TEST_P(ProcessInteropTest, OurSpawnProcessDrivesATwistedStandardIOChild) {
  std::string data = pattern(0, 2 << 20);
  auto p = run({"child"}, data);
  EXPECT_EQ(p->out.size(), data.size());
  EXPECT_TRUE(p->out == data);
  EXPECT_EQ(p->err, "ready\n");
  auto* terminated = p->ended->check<error::ProcessTerminated>() ? &*p->ended : nullptr;
  ASSERT_NE(terminated, nullptr) << p->ended->brief();
  try {
    p->ended->raiseException();
  } catch (const error::ProcessTerminated& e) {
    EXPECT_EQ(e.exitCode(), 3);
  }
}

TWISTED_ALL_BACKENDS(ProcessInteropTest);

}  // namespace
}  // namespace twisted::test
