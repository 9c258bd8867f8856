// The connection pool under one and two threads: each thread allocates and
// frees a connection's objects (a 320-byte transport, a 192-byte protocol,
// in bursts of 64 connections), through the pool's lock on every block
// (BlockPool alone, as before the thread caches), through a ThreadCache per
// thread (what the library does now), and with glibc's malloc beside them.
// Run: build/release/bench/bench_pool (real time per burst of 64).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <new>
#include <string>

#include "internet/memory/block_pool.hpp"
#include "internet/memory/thread_cache.hpp"

namespace {

using twisted::detail::BlockPool;
using twisted::detail::ThreadCache;

constexpr int kBurst = 64;
constexpr std::size_t kTransport = 320, kProtocol = 192;

BlockPool& sharedPool() {
  static BlockPool pool;
  return pool;
}

template <class Alloc, class Free>
void churn(benchmark::State& state, Alloc alloc, Free release) {
  void* objects[2 * kBurst];
  for (auto _ : state) {
    for (int i = 0; i < kBurst; ++i) {
      objects[2 * i] = alloc(kTransport);
      objects[2 * i + 1] = alloc(kProtocol);
    }
    benchmark::DoNotOptimize(objects);
    for (int i = 0; i < kBurst; ++i) {
      release(objects[2 * i], kTransport);
      release(objects[2 * i + 1], kProtocol);
    }
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
}

void BM_PoolLockedPerBlock(benchmark::State& state) {
  BlockPool& pool = sharedPool();
  churn(
      state, [&](std::size_t n) { return pool.allocate(n, 64); },
      [&](void* p, std::size_t n) { pool.deallocate(p, n, 64); });
}

void BM_PoolThreadCache(benchmark::State& state) {
  BlockPool& pool = sharedPool();
  ThreadCache cache;
  churn(
      state, [&](std::size_t n) { return cache.allocate(pool, n, 64); },
      [&](void* p, std::size_t n) { cache.deallocate(pool, p, n, 64); });
  cache.drain(pool);
}

void BM_Malloc(benchmark::State& state) {
  churn(
      state, [](std::size_t n) { return ::operator new (n, std::align_val_t{64}); },
      [](void* p, std::size_t) { ::operator delete (p, std::align_val_t{64}); });
}

}  // namespace

// Named family/impl, as bench/report.py reads them: "twisted" is what the
// library does (the cache per thread).
int main(int argc, char** argv) {
  for (int threads : {1, 2}) {
    std::string family = threads == 1 ? "Pool-1-thread/" : "Pool-2-threads/";
    benchmark::RegisterBenchmark((family + "twisted").c_str(), BM_PoolThreadCache)
        ->Threads(threads)
        ->UseRealTime();
    benchmark::RegisterBenchmark((family + "locked-per-block").c_str(), BM_PoolLockedPerBlock)
        ->Threads(threads)
        ->UseRealTime();
    benchmark::RegisterBenchmark((family + "malloc").c_str(), BM_Malloc)
        ->Threads(threads)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
