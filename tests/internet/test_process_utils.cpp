// twisted::utils beyond the basics of test_process.cpp, on every backend:
// output that arrives in pieces, a signalled child's two streams, the
// working directory given and not, a script with a #! line. Twisted's
// test_iutils.py and test_process.py's shebang test.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "process_test_fixture.hpp"
#include "twisted/internet/utils.hpp"

namespace twisted::test {
namespace {

class ProcessUtilsTest : public ProcessTestBase {
 protected:
  std::string canonicalTmp() { return std::filesystem::canonical(tmp.path()).string(); }
  // A script that exits 0 when run in `dir`, 1 elsewhere.
  std::vector<std::string> runsIn(const std::string& dir) {
    return {"-c", "[ \"$(pwd -P)\" = '" + dir + "' ]"};
  }
};

// ProcessUtilsTests.test_output: output written a byte at a time, over
// several reads, is given whole.
TEST_P(ProcessUtilsTest, OutputArrivingInPiecesIsGivenWhole) {
  auto out = settle(
      *reactor,
      utils::getProcessOutput(*reactor, "/bin/sh",
                              {"-c", "for c in h e l l o; do printf $c; sleep 0.02; done; echo"}));
  ASSERT_TRUE(out && out->succeeded());
  EXPECT_EQ(out->value(), "hello\n");
}

// ProcessUtilsTests.test_outputSignal: a child killed by a signal fails
// getProcessOutputAndValue with what it wrote on each stream and the signal.
TEST_P(ProcessUtilsTest, ASignalledChildKeepsWhatItWroteOnBothStreams) {
  auto result = settle(
      *reactor,
      utils::getProcessOutputAndValue(
          *reactor, "/bin/sh", {"-c", "echo stdout bytes; echo stderr bytes >&2; kill -9 $$"}));
  ASSERT_TRUE(result && !result->succeeded());
  try {
    result->failure().raiseException();
  } catch (const error::ProcessSignalledError& e) {
    EXPECT_EQ(e.out(), "stdout bytes\n");
    EXPECT_EQ(e.err(), "stderr bytes\n");
    EXPECT_EQ(e.signal(), SIGKILL);
    return;
  } catch (...) {
  }
  ADD_FAILURE() << "not ProcessSignalledError: " << result->failure().getErrorMessage();
}

// ProcessUtilsTests.test_getProcessOutputPath, test_getProcessValuePath,
// test_getProcessOutputAndValuePath: each utility runs its child in the
// path given (and getProcessValue's child is elsewhere without it).
TEST_P(ProcessUtilsTest, EachUtilityRunsInThePathGiven) {
  const std::string dir = canonicalTmp();
  auto out =
      settle(*reactor, utils::getProcessOutput(*reactor, "/bin/pwd", {}, Environment{}, dir));
  ASSERT_TRUE(out && out->succeeded());
  EXPECT_EQ(out->value(), dir + "\n");
  auto there = settle(*reactor,
                      utils::getProcessValue(*reactor, "/bin/sh", runsIn(dir), Environment{}, dir));
  ASSERT_TRUE(there && there->succeeded());
  EXPECT_EQ(there->value(), 0);
  auto elsewhere = settle(*reactor, utils::getProcessValue(*reactor, "/bin/sh", runsIn(dir)));
  ASSERT_TRUE(elsewhere && elsewhere->succeeded());
  EXPECT_EQ(elsewhere->value(), 1);
  auto both = settle(*reactor,
                     utils::getProcessOutputAndValue(*reactor, "/bin/pwd", {}, Environment{}, dir));
  ASSERT_TRUE(both && both->succeeded());
  EXPECT_EQ(both->value().out, dir + "\n");
  EXPECT_EQ(both->value().err, "");
  EXPECT_EQ(both->value().code, 0);
}

// ProcessUtilsTests.test_getProcessOutputDefaultPath,
// test_getProcessValueDefaultPath, test_getProcessOutputAndValueDefaultPath:
// without a path each utility's child runs in this process's working
// directory, even one this process may only read and search (0500).
TEST_P(ProcessUtilsTest, WithoutAPathEachUtilityRunsInThisProcesssDirectory) {
  const std::string dir = canonicalTmp();
  const std::string before = std::filesystem::current_path().string();
  ASSERT_EQ(::chmod(dir.c_str(), 0500), 0);
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  auto out = settle(*reactor, utils::getProcessOutput(*reactor, "/bin/pwd"));
  auto value = settle(*reactor, utils::getProcessValue(*reactor, "/bin/sh", runsIn(dir)));
  auto both = settle(*reactor, utils::getProcessOutputAndValue(*reactor, "/bin/pwd"));
  EXPECT_EQ(::chdir(before.c_str()), 0);
  ::chmod(dir.c_str(), 0700);
  ASSERT_TRUE(out && out->succeeded());
  EXPECT_EQ(out->value(), dir + "\n");
  ASSERT_TRUE(value && value->succeeded());
  EXPECT_EQ(value->value(), 0);
  ASSERT_TRUE(both && both->succeeded());
  EXPECT_EQ(both->value().out, dir + "\n");
  EXPECT_EQ(both->value().code, 0);
}

// ProcessTestsBuilder.test_shebang: an executable script whose first line
// names its interpreter runs (the kernel reads the #! line).
TEST_P(ProcessUtilsTest, AScriptWithAShebangLineRuns) {
  const std::string script = tmp.path() + "/script";
  std::ofstream(script) << "#!/bin/sh\nprintf 'this is the shebang output'\n";
  ASSERT_EQ(::chmod(script.c_str(), 0700), 0);
  auto result = settle(*reactor, utils::getProcessOutputAndValue(*reactor, script));
  ASSERT_TRUE(result && result->succeeded());
  EXPECT_EQ(result->value().out, "this is the shebang output");
  EXPECT_EQ(result->value().err, "");
  EXPECT_EQ(result->value().code, 0);
}

TWISTED_ALL_BACKENDS(ProcessUtilsTest);

}  // namespace
}  // namespace twisted::test
