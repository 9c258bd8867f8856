#include "twisted/python/unique_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>

namespace twisted {
namespace {

TEST(UniqueFunction, HoldsMoveOnlyCallables) {
  auto p = std::make_unique<int>(41);
  UniqueFunction<int()> f = [p = std::move(p)] { return *p + 1; };
  EXPECT_EQ(f(), 42);
  UniqueFunction<int()> g = std::move(f);
  EXPECT_FALSE(f);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(g(), 42);
}

TEST(UniqueFunction, LargeCallablesGoOnTheHeapAndAreDestroyed) {
  auto token = std::make_shared<int>(0);
  {
    std::array<char, 256> big{};
    UniqueFunction<std::size_t()> f = [token, big] { return big.size(); };
    EXPECT_EQ(token.use_count(), 2);
    UniqueFunction<std::size_t()> g;
    g = std::move(f);
    EXPECT_EQ(g(), 256u);
  }
  EXPECT_EQ(token.use_count(), 1);
}

TEST(UniqueFunction, ResetDestroysCapturesNow) {
  auto token = std::make_shared<int>(0);
  UniqueFunction<void()> f = [token] {};
  f.reset();
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_THROW(f(), std::bad_function_call);
}

TEST(UniqueFunction, ArgumentsAndFunctionPointers) {
  UniqueFunction<int(int, int)> add = [](int a, int b) { return a + b; };
  EXPECT_EQ(add(2, 3), 5);
  int (*fp)(int, int) = [](int a, int b) { return a * b; };
  UniqueFunction<int(int, int)> mul = fp;
  EXPECT_EQ(mul(2, 3), 6);
  int (*null)(int, int) = nullptr;
  UniqueFunction<int(int, int)> empty = null;
  EXPECT_FALSE(empty);
}

}  // namespace
}  // namespace twisted
