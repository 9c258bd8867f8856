// Everything about Deferreds: Deferred<T> and coroutines, helpers,
// DeferredLock/Semaphore/Queue, deferToThread. (task.hpp has deferLater,
// LoopingCall and Cooperator.) Guide: docs/deferred.md.
#pragma once

#include "twisted/internet/defer_helpers.hpp"
#include "twisted/internet/defer_sync.hpp"
#include "twisted/internet/defer_threads.hpp"
#include "twisted/internet/deferred.hpp"
