// TrackedSet, the reactor's flat set of open descriptors, against a
// std::map model under many inserts and removals (the backward-shift
// deletion must leave every other entry findable).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "internet/tracked_set.hpp"

namespace twisted::test {
namespace {

struct Fd : IFileDescriptor {
  int fileno() const override { return -1; }
  void connectionLost(const Failure&) override {}
};

TEST(TrackedSetTest, MatchesAModelUnderRandomInsertsAndRemovals) {
  detail::TrackedSet set;
  std::map<const IFileDescriptor*, std::shared_ptr<IFileDescriptor>> model;
  std::vector<std::shared_ptr<IFileDescriptor>> pool;
  for (int i = 0; i < 3000; ++i) pool.push_back(std::make_shared<Fd>());
  std::mt19937 random(12345);
  for (int step = 0; step < 60000; ++step) {
    auto& d = pool[random() % pool.size()];
    if (random() % 3 != 0) {
      set.insert(d);
      model.emplace(d.get(), d);
    } else {
      auto taken = set.take(d.get());
      bool had = model.erase(d.get()) == 1;
      ASSERT_EQ(taken.get(), had ? d.get() : nullptr) << "step " << step;
    }
    ASSERT_EQ(set.size(), model.size()) << "step " << step;
  }
  for (auto& d : pool) EXPECT_EQ(set.contains(d.get()), model.count(d.get()) == 1);
  EXPECT_EQ(set.snapshot().size(), model.size());
  // Emptied in any order, it holds nothing and keeps nothing alive.
  for (auto& [key, d] : model) EXPECT_TRUE(set.take(key));
  EXPECT_EQ(set.size(), 0u);
  model.clear();
  for (auto& d : pool) EXPECT_EQ(d.use_count(), 1);
}

TEST(TrackedSetTest, InsertingTwiceKeepsOneEntry) {
  detail::TrackedSet set;
  auto d = std::make_shared<Fd>();
  set.insert(d);
  set.insert(d);
  EXPECT_EQ(set.size(), 1u);
  EXPECT_EQ(set.take(d.get()), d);
  EXPECT_FALSE(set.take(d.get()));
}

}  // namespace
}  // namespace twisted::test
