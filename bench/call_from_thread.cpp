// callFromThread throughput, twisted-cpp beside libuv, libevent and asio.
//
// One producer thread posts 1,000,000 small calls to a loop running on the
// main thread; the figure is wall time until the loop has run them all.
// Each peer uses its idiomatic cross-thread path: asio::post; for libuv and
// libevent, a mutex-protected queue plus uv_async_send / event_active (what
// their users write, since neither has a function-posting call).
#include <benchmark/benchmark.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <uv.h>
#include <asio.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "twisted/internet/reactor.hpp"

namespace {

constexpr long kCalls = 1000000;

long runTwisted() {
  twisted::Reactor reactor(twisted::Backend::Epoll);
  long count = 0;
  std::thread producer;
  reactor.callWhenRunning([&] {
    producer = std::thread([&] {
      for (long i = 0; i < kCalls; ++i) {
        reactor.callFromThread([&] {
          if (++count == kCalls) reactor.stop();
        });
      }
    });
  });
  reactor.run(false);
  producer.join();
  return count;
}

// A queue of std::function drained by the loop thread: the usual pattern
// with C libraries that can only signal "something happened".
struct Queue {
  std::mutex mutex;
  std::vector<std::function<void()>> items;
  std::vector<std::function<void()>> running;
  bool push(std::function<void()> f) {
    std::lock_guard lock(mutex);
    items.push_back(std::move(f));
    return items.size() == 1;  // signal only on empty -> non-empty
  }
  void drain() {
    {
      std::lock_guard lock(mutex);
      running.swap(items);
    }
    for (auto& f : running) f();
    running.clear();
  }
};

long runLibuv() {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct State {
    Queue queue;
    uv_async_t async;
    long count = 0;
  } state;
  state.async.data = &state;
  uv_async_init(&loop, &state.async,
                [](uv_async_t* a) { static_cast<State*>(a->data)->queue.drain(); });
  std::thread producer([&] {
    for (long i = 0; i < kCalls; ++i) {
      bool first = state.queue.push([&] {
        if (++state.count == kCalls)
          uv_close(reinterpret_cast<uv_handle_t*>(&state.async), nullptr);
      });
      if (first) uv_async_send(&state.async);
    }
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  producer.join();
  uv_loop_close(&loop);
  return state.count;
}

long runLibevent() {
  static bool threadsReady = evthread_use_pthreads() == 0;
  (void)threadsReady;
  event_base* base = event_base_new();
  struct State {
    Queue queue;
    event* ev = nullptr;
    event_base* base = nullptr;
    long count = 0;
  } state;
  state.base = base;
  state.ev = event_new(
      base, -1, EV_PERSIST,
      [](evutil_socket_t, short, void* arg) { static_cast<State*>(arg)->queue.drain(); }, &state);
  // The event has no fd: tell the loop not to exit for want of events.
  std::thread producer([&] {
    for (long i = 0; i < kCalls; ++i) {
      bool first = state.queue.push([&] {
        if (++state.count == kCalls) event_base_loopbreak(state.base);
      });
      if (first) event_active(state.ev, EV_READ, 0);
    }
  });
  event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
  producer.join();
  event_free(state.ev);
  event_base_free(base);
  return state.count;
}

long runAsio() {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  long count = 0;
  std::thread producer([&] {
    for (long i = 0; i < kCalls; ++i) {
      asio::post(io, [&] {
        if (++count == kCalls) guard.reset();
      });
    }
  });
  io.run();
  producer.join();
  return count;
}

void BM_CallFromThread(benchmark::State& state, long (*run)()) {
  for (auto _ : state) {
    if (run() != kCalls) state.SkipWithError("lost calls");
  }
  state.counters["calls/s"] =
      benchmark::Counter(static_cast<double>(kCalls) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  const std::pair<const char*, long (*)()> impls[] = {
      {"twisted", runTwisted}, {"libuv", runLibuv}, {"libevent", runLibevent}, {"asio", runAsio}};
  for (const auto& [name, run] : impls) {
    benchmark::RegisterBenchmark((std::string("CallFromThread/") + name).c_str(), BM_CallFromThread,
                                 run)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(5);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
