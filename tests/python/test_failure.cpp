#include "twisted/python/failure.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "twisted/internet/error.hpp"

namespace twisted {
namespace {

TEST(Failure, CheckFollowsTheHierarchy) {
  Failure f = Failure::of(error::ConnectionAborted());
  EXPECT_TRUE(f.check<error::ConnectionAborted>());
  EXPECT_TRUE(f.check<error::ConnectionLost>());
  EXPECT_TRUE(f.check<error::ConnectionClosed>());
  EXPECT_TRUE(f.check<error::Error>());
  EXPECT_TRUE((f.check<error::TimeoutError, error::ConnectionLost>()));
  EXPECT_FALSE(f.check<error::ConnectionDone>());
  EXPECT_FALSE(f.check<error::TimeoutError>());
}

TEST(Failure, TrapRethrowsWhenNothingMatches) {
  Failure f = Failure::of(error::TimeoutError("after 5 s"));
  EXPECT_NO_THROW(f.trap<error::TimeoutError>());
  EXPECT_THROW(f.trap<error::ConnectionDone>(), error::TimeoutError);
  EXPECT_THROW(f.raiseException(), error::TimeoutError);
}

TEST(Failure, MessageAndTypeName) {
  Failure f = Failure::of(error::ConnectionRefusedError("127.0.0.1:1"));
  EXPECT_EQ(f.getErrorMessage(), "Connection was refused by the other side: 127.0.0.1:1");
  EXPECT_EQ(f.typeName(), "twisted::error::ConnectionRefusedError");
  EXPECT_EQ(f.brief(), f.typeName() + ": " + f.getErrorMessage());
}

TEST(Failure, CurrentCapturesNonStdExceptions) {
  try {
    throw 42;
  } catch (...) {
    Failure f = Failure::current();
    EXPECT_TRUE(f.check<int>());
    EXPECT_EQ(f.typeName(), "int");
    EXPECT_NE(f.getErrorMessage().find("int"), std::string::npos);
  }
}

// check() answers as a `catch` clause would (it asks the runtime without
// throwing): public bases match; private and ambiguous ones do not;
// virtual and second bases do.
struct Base {
  virtual ~Base() = default;
};
struct Other {
  virtual ~Other() = default;
  int x = 7;
};
struct Both : Other, Base {};
struct Hidden : private Base {};
struct Left : Base {};
struct Right : Base {};
struct Diamond : Left, Right {};
struct VLeft : virtual Base {};
struct VRight : virtual Base {};
struct VDiamond : VLeft, VRight {};

TEST(Failure, CheckMatchesAsACatchClauseWould) {
  EXPECT_TRUE(Failure::of(Both()).check<Base>()) << "a second base";
  EXPECT_TRUE(Failure::of(Both()).check<Other>());
  EXPECT_TRUE(Failure::of(Both()).check<const Base>());
  EXPECT_FALSE(Failure::of(Hidden()).check<Base>()) << "a private base does not catch";
  EXPECT_FALSE(Failure::of(Diamond()).check<Base>()) << "an ambiguous base does not catch";
  EXPECT_TRUE(Failure::of(Diamond()).check<Left>());
  EXPECT_TRUE(Failure::of(VDiamond()).check<Base>()) << "a virtual base is one base";
  EXPECT_TRUE(Failure::of(std::runtime_error("x")).check<std::exception>());
  EXPECT_FALSE(Failure::of(std::runtime_error("x")).check<std::logic_error>());
  EXPECT_FALSE(Failure::of(42).check<long>()) << "no conversions, as catch";
  // After many checks the exception object is untouched.
  Failure f = Failure::of(Both());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(f.check<Base>());
  try {
    f.raiseException();
  } catch (const Other& o) {
    EXPECT_EQ(o.x, 7);
  }
}

TEST(Failure, NullIsRefused) {
  EXPECT_THROW(Failure(std::exception_ptr()), std::invalid_argument);
}

}  // namespace
}  // namespace twisted
