// Everything in one include, for small programs.
#pragma once

#include "twisted/internet/backend.hpp"
#include "twisted/internet/defer.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/internet/system_event.hpp"
#include "twisted/internet/task.hpp"
#include "twisted/logger/log_event.hpp"
#include "twisted/logger/logger.hpp"
#include "twisted/logger/observers.hpp"
#include "twisted/logger/publisher.hpp"
#include "twisted/python/failure.hpp"
#include "twisted/python/threadpool.hpp"
#include "twisted/python/unique_function.hpp"
#include "twisted/testing/clock.hpp"
