// Timer benchmark, twisted-cpp beside libuv, libevent and asio.
//
// Workload (the same for each, same random delays): schedule 1,000,000
// timers with delays in [0, 1 s), cancel every other one, run the loop until
// the rest have fired. The loop mostly sleeps between expirations, so the
// fair figure is CPU time (Google Benchmark's "CPU" column), not wall time.
//
//   timers                   Google Benchmark run (pass --benchmark_* flags)
//   timers --memory          peak RSS of each implementation, each in a fresh
//                            child process (ru_maxrss from wait4)
#include <benchmark/benchmark.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>
#include <asio.hpp>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "twisted/internet/reactor.hpp"

namespace {

constexpr int kTimers = 1000000;

const std::vector<double>& delays() {
  static const std::vector<double> d = [] {
    std::mt19937_64 rng(12345);
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    std::vector<double> v(kTimers);
    for (double& x : v) x = dist(rng);
    return v;
  }();
  return d;
}

// ---- twisted-cpp ----------------------------------------------------------
long runTwisted() {
  twisted::Reactor reactor(twisted::Backend::Epoll);
  long fired = 0;
  {
    std::vector<twisted::DelayedCall> calls;
    calls.reserve(kTimers);
    for (double d : delays()) {
      calls.push_back(reactor.callLater(d, [&] {
        if (++fired == kTimers / 2) reactor.stop();
      }));
    }
    for (int i = 0; i < kTimers; i += 2) calls[i].cancel();
  }
  reactor.run(false);
  return fired;
}

// ---- libuv -------------------------------------------------------------------
long runLibuv() {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::vector<uv_timer_t> timers(kTimers);
  static long fired;
  fired = 0;
  const auto& d = delays();
  for (int i = 0; i < kTimers; ++i) {
    uv_timer_init(&loop, &timers[i]);
    uv_timer_start(
        &timers[i], [](uv_timer_t*) { ++fired; }, static_cast<std::uint64_t>(d[i] * 1000), 0);
  }
  for (int i = 0; i < kTimers; i += 2) uv_timer_stop(&timers[i]);
  uv_run(&loop, UV_RUN_DEFAULT);
  for (auto& t : timers) uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return fired;
}

// ---- libevent ----------------------------------------------------------------
long runLibevent() {
  event_base* base = event_base_new();
  std::vector<event> events(kTimers);
  static long fired;
  fired = 0;
  const auto& d = delays();
  for (int i = 0; i < kTimers; ++i) {
    evtimer_assign(
        &events[i], base, [](evutil_socket_t, short, void*) { ++fired; }, nullptr);
    timeval tv{static_cast<time_t>(d[i]),
               static_cast<suseconds_t>((d[i] - static_cast<long>(d[i])) * 1e6)};
    evtimer_add(&events[i], &tv);
  }
  for (int i = 0; i < kTimers; i += 2) evtimer_del(&events[i]);
  event_base_dispatch(base);
  event_base_free(base);
  return fired;
}

// ---- asio --------------------------------------------------------------------
long runAsio() {
  asio::io_context io(1);
  long fired = 0;
  {
    std::vector<asio::steady_timer> timers;
    timers.reserve(kTimers);
    for (double d : delays()) {
      timers.emplace_back(io, std::chrono::nanoseconds(static_cast<long>(d * 1e9)));
      timers.back().async_wait([&fired](const asio::error_code& ec) {
        if (!ec) ++fired;
      });
    }
    for (int i = 0; i < kTimers; i += 2) timers[i].cancel();
    io.run();
  }
  return fired;
}

struct Impl {
  const char* name;
  long (*run)();
};
const Impl kImpls[] = {
    {"twisted", runTwisted}, {"libuv", runLibuv}, {"libevent", runLibevent}, {"asio", runAsio}};

void BM_Timers(benchmark::State& state, long (*run)()) {
  delays();  // generated outside the measurement
  for (auto _ : state) {
    long fired = run();
    if (fired != kTimers / 2) state.SkipWithError("wrong number of timers fired");
  }
  state.counters["timers/s"] =
      benchmark::Counter(static_cast<double>(kTimers) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

int memoryMode() {
  std::printf("%-10s %12s\n", "impl", "peak_rss_kib");
  for (const Impl& impl : kImpls) {
    pid_t pid = ::fork();
    if (pid == 0) {
      delays();
      _exit(impl.run() == kTimers / 2 ? 0 : 1);
    }
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    std::printf("%-10s %12ld%s\n", impl.name, usage.ru_maxrss,
                WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : "  (FAILED)");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--memory") == 0) return memoryMode();
  for (const Impl& impl : kImpls) {
    benchmark::RegisterBenchmark((std::string("Timers/") + impl.name).c_str(), BM_Timers, impl.run)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(3);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
