#include "twisted/python/failure.hpp"

#include <gtest/gtest.h>

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

TEST(Failure, NullIsRefused) {
  EXPECT_THROW(Failure(std::exception_ptr()), std::invalid_argument);
}

}  // namespace
}  // namespace twisted
