#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "twisted/internet/error.hpp"
#include "twisted/logger/logger.hpp"
#include "twisted/logger/observers.hpp"

namespace twisted::logger {
namespace {

struct Collect {
  std::vector<LogEvent> events;
  LogObserver observer() {
    return [this](const LogEvent& e) { events.push_back(e); };
  }
};

TEST(Logger, EmitsStructuredEvents) {
  LogPublisher publisher;
  Collect c;
  publisher.addObserver(c.observer());
  Logger log("myapp.server", &publisher);
  log.info("Listening on {host}:{port}", {{"host", "127.0.0.1"}, {"port", 8000}});
  ASSERT_EQ(c.events.size(), 1u);
  const LogEvent& e = c.events[0];
  EXPECT_EQ(e.level, LogLevel::info);
  EXPECT_EQ(e.logNamespace, "myapp.server");
  EXPECT_EQ(e.format, "Listening on {host}:{port}");
  EXPECT_EQ(formatEvent(e), "Listening on 127.0.0.1:8000");
  ASSERT_NE(e.find("port"), nullptr);
  EXPECT_EQ(e.find("port")->toString(), "8000");
  EXPECT_GT(e.time, 1.6e9);
}

TEST(Logger, EveryLevel) {
  LogPublisher publisher;
  Collect c;
  publisher.addObserver(c.observer());
  Logger log("x", &publisher);
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  log.critical("c");
  ASSERT_EQ(c.events.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.events[i].level, static_cast<LogLevel>(i));
  EXPECT_EQ(levelForName("warn"), LogLevel::warn);
  EXPECT_EQ(levelForName("loud"), std::nullopt);
}

TEST(Logger, FormatEdgeCases) {
  LogEvent e;
  e.format = "{{literal}} {missing} {n} {f} {b}";
  e.fields = {{"n", -3}, {"f", 0.5}, {"b", true}};
  EXPECT_EQ(formatEvent(e), "{literal} {missing:MISSING} -3 0.5 true");
  e.format = "unclosed {brace";
  EXPECT_EQ(formatEvent(e), "unclosed {brace");
}

TEST(Logger, TextObserverRendersFailure) {
  LogPublisher publisher;
  std::ostringstream out;
  publisher.addObserver(textFileLogObserver(out));
  Logger log("twisted.test", &publisher);
  log.failure("Handler failed", Failure::of(error::ConnectionLost("peer reset")));
  std::string text = out.str();
  EXPECT_NE(text.find("[twisted.test#critical] Handler failed"), std::string::npos) << text;
  EXPECT_NE(text.find("Failure: twisted::error::ConnectionLost:"), std::string::npos) << text;
  EXPECT_NE(text.find("peer reset"), std::string::npos);
}

TEST(Logger, JsonObserverWritesOneEscapedObjectPerLine) {
  LogPublisher publisher;
  std::ostringstream out;
  publisher.addObserver(jsonFileLogObserver(out));
  Logger log("ns", &publisher);
  log.warn("quote \" and {x}", {{"x", "a\nb"}, {"n", 7}});
  std::string line = out.str();
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per event";
  EXPECT_NE(line.find("\"log_level\":\"warn\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"log_namespace\":\"ns\""), std::string::npos);
  EXPECT_NE(line.find("\"log_format\":\"quote \\\" and {x}\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"log_text\":\"quote \\\" and a\\nb\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"x\":\"a\\nb\""), std::string::npos);
  EXPECT_NE(line.find("\"n\":7"), std::string::npos);
}

TEST(Logger, ANamedThreadsEventsCarryItsSystem) {
  LogPublisher publisher;
  std::ostringstream text, json;
  publisher.addObserver(textFileLogObserver(text));
  publisher.addObserver(jsonFileLogObserver(json));
  Logger log("ns", &publisher);
  std::thread([&] {
    setThreadLogSystem("worker-2");
    log.info("from a worker");
  }).join();
  log.info("from here");
  EXPECT_EQ(threadLogSystem(), "") << "the name is the other thread's alone";
  std::string lines = text.str();
  EXPECT_NE(lines.find("[worker-2] [ns#info] from a worker"), std::string::npos) << lines;
  std::string here = lines.substr(lines.find('\n') + 1);
  EXPECT_NE(here.find(" [ns#info] from here"), std::string::npos) << lines;
  EXPECT_EQ(here.find("[worker"), std::string::npos) << lines;
  std::string objects = json.str();
  std::string first = objects.substr(0, objects.find('\n'));
  std::string second = objects.substr(first.size() + 1);
  EXPECT_NE(first.find("\"log_system\":\"worker-2\""), std::string::npos) << first;
  EXPECT_EQ(second.find("log_system"), std::string::npos) << second;
}

TEST(Logger, FilteringObserver) {
  LogPublisher publisher;
  Collect c;
  publisher.addObserver(filteringObserver(c.observer(), LogLevel::warn));
  Logger log("x", &publisher);
  log.info("dropped");
  log.error("kept");
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].format, "kept");
}

TEST(Logger, ThrowingObserverDoesNotStopOthers) {
  LogPublisher publisher;
  Collect c;
  publisher.addObserver([](const LogEvent&) { throw std::runtime_error("bad observer"); });
  publisher.addObserver(c.observer());
  Logger("x", &publisher).info("hello");
  EXPECT_EQ(c.events.size(), 1u);
}

TEST(Logger, RemoveObserver) {
  LogPublisher publisher;
  Collect c;
  auto id = publisher.addObserver(c.observer());
  publisher.removeObserver(id);
  Logger("x", &publisher).info("hello");
  EXPECT_TRUE(c.events.empty());
  EXPECT_EQ(publisher.observerCount(), 0u);
}

TEST(Logger, PublishFromManyThreads) {
  LogPublisher publisher;
  std::atomic<int> n{0};
  publisher.addObserver([&](const LogEvent&) { ++n; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Logger log("threads", &publisher);
      for (int i = 0; i < 1000; ++i) log.info("tick");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(n.load(), 4000);
}

TEST(Logger, GlobalPublisherHasDefaultObserverUntilBeginLoggingTo) {
  EXPECT_GE(globalLogPublisher().observerCount(), 1u);
  std::size_t before = globalLogPublisher().observerCount();
  std::ostringstream out;
  beginLoggingTo({textFileLogObserver(out)});
  EXPECT_EQ(globalLogPublisher().observerCount(), before) << "default replaced, not added to";
  Logger("global").info("to the stream");
  EXPECT_NE(out.str().find("to the stream"), std::string::npos);
}

}  // namespace
}  // namespace twisted::logger
