// Backend selection: by value and by $TWISTED_REACTOR.
#include <cstdlib>

#include "reactor_test.hpp"

namespace twisted::test {
namespace {

TEST(Backend, NamesRoundTrip) {
  for (Backend b : {Backend::Select, Backend::Poll, Backend::Epoll, Backend::IoUring}) {
    EXPECT_EQ(backendFromName(backendName(b)), b);
  }
  EXPECT_THROW(backendFromName("kqueue"), error::UnknownBackend);
}

TEST(Backend, ChosenExplicitly) {
  for (Backend b : {Backend::Select, Backend::Poll, Backend::Epoll}) {
    Reactor r(b);
    EXPECT_EQ(r.backend(), b);
  }
}

TEST(Backend, EnvironmentChoosesDefault) {
  const char* saved = std::getenv("TWISTED_REACTOR");
  std::string savedValue = saved ? saved : "";
  ::setenv("TWISTED_REACTOR", "poll", 1);
  EXPECT_EQ(Reactor().backend(), Backend::Poll);
  ::setenv("TWISTED_REACTOR", "select", 1);
  EXPECT_EQ(Reactor::create()->backend(), Backend::Select);
  ::setenv("TWISTED_REACTOR", "iouring", 1);
  Backend uring = Reactor().backend();  // epoll where the kernel refuses io_uring
  EXPECT_TRUE(uring == Backend::IoUring || uring == Backend::Epoll) << backendName(uring);
  ::setenv("TWISTED_REACTOR", "bogus", 1);
  try {
    Reactor r;
    ADD_FAILURE() << "a bad TWISTED_REACTOR must be refused";
  } catch (const error::UnknownBackend& e) {
    EXPECT_NE(std::string(e.what()).find("bogus"), std::string::npos);
  }
  ::unsetenv("TWISTED_REACTOR");
  EXPECT_EQ(Reactor().backend(), Backend::Epoll);
  if (saved) ::setenv("TWISTED_REACTOR", savedValue.c_str(), 1);
}

TEST(Backend, DefaultReactorIsOneObject) {
  EXPECT_EQ(&defaultReactor(), &defaultReactor());
}

}  // namespace
}  // namespace twisted::test
