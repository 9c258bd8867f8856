// Deferred benchmarks, twisted-cpp beside std::promise/std::future in the
// same run (bench/deferred_twisted.py measures the same work with Twisted).
//
// Chain10: a Deferred<int> with ten callbacks (each adds one) is built and
//   fired; the std::future version passes the value through ten
//   promise/future pairs.
// AwaitFired: one coroutine awaits 1,000,000 already-fired Deferreds
//   (co_await succeed(i)); the std::future version sets and gets 1,000,000
//   promise/future pairs.
#include <benchmark/benchmark.h>

#include <future>

#include "twisted/internet/defer.hpp"

namespace {

using twisted::Deferred;

void BM_Chain10_twisted(benchmark::State& state) {
  for (auto _ : state) {
    Deferred<int> d;
    Deferred<int> tail = d;
    for (int i = 0; i < 10; ++i) tail = tail.addCallback([](int v) { return v + 1; });
    int out = 0;
    tail.addCallback([&out](int v) { out = v; });
    d.callback(0);
    benchmark::DoNotOptimize(out);
    if (out != 10) state.SkipWithError("wrong result");
  }
  state.counters["callbacks/s"] = benchmark::Counter(10.0 * static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate);
}

void BM_Chain10_future(benchmark::State& state) {
  for (auto _ : state) {
    int v = 0;
    for (int i = 0; i < 10; ++i) {
      std::promise<int> p;
      std::future<int> f = p.get_future();
      p.set_value(v + 1);
      v = f.get();
    }
    benchmark::DoNotOptimize(v);
  }
  state.counters["callbacks/s"] = benchmark::Counter(10.0 * static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate);
}

constexpr long kAwaits = 1000000;

Deferred<long> awaitFired() {
  long sum = 0;
  for (long i = 0; i < kAwaits; ++i) sum += co_await twisted::succeed(i);
  co_return sum;
}

void BM_AwaitFired_twisted(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    awaitFired().addCallback([&sum](long s) { sum = s; });
    if (sum != kAwaits * (kAwaits - 1) / 2) state.SkipWithError("wrong sum");
  }
}

void BM_AwaitFired_future(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    for (long i = 0; i < kAwaits; ++i) {
      std::promise<long> p;
      std::future<long> f = p.get_future();
      p.set_value(i);
      sum += f.get();
    }
    benchmark::DoNotOptimize(sum);
  }
}

}  // namespace

BENCHMARK(BM_Chain10_twisted)->Name("Chain10/twisted");
BENCHMARK(BM_Chain10_future)->Name("Chain10/std_future");
BENCHMARK(BM_AwaitFired_twisted)->Name("AwaitFired/twisted")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AwaitFired_future)->Name("AwaitFired/std_future")->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
