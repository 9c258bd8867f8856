#include "timer_queue.hpp"

#include <algorithm>

#include "hot_path.hpp"
#include "twisted/internet/error.hpp"

namespace twisted::detail {

TimerQueue::~TimerQueue() {
  for (Entry& e : heap_) {
    if (live(e)) {
      e.node->state = Node::State::Cancelled;
      e.node->fn.reset();
    }
    e.node->queue = nullptr;
  }
  for (Entry& e : heap_) Node::unref(e.node);
}

DelayedCall TimerQueue::schedule(double when, UniqueFunction<void()> f) {
  auto* node = new Node;
  node->time = when;
  node->queue = this;
  node->fn = std::move(f);
  DelayedCall handle(node);
  push(*node);
  ++live_;
  return handle;
}

void TimerQueue::push(Node& node) {
  node.seq = nextSeq_++;
  Node::ref(&node);
  heap_.push_back(Entry{node.time, node.seq, &node});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

TimerQueue::Entry TimerQueue::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  Entry e = heap_.back();
  heap_.pop_back();
  return e;
}

void TimerQueue::cancel(Node& node) {
  node.state = Node::State::Cancelled;
  node.fn.reset();  // free the captures now, not when the entry surfaces
  --live_;
  noteGarbage();
}

void TimerQueue::reschedule(Node& node, double when) {
  node.time = when;
  push(node);  // the old entry no longer matches node.seq: garbage
  noteGarbage();
}

void TimerQueue::noteGarbage() {
  ++garbage_;
  // Compact when most of the heap is dead (Twisted does the same), so memory
  // held by cancelled calls is bounded by the live ones.
  if (garbage_ > 50 && garbage_ * 2 > heap_.size()) {
    auto keep = std::partition(heap_.begin(), heap_.end(), live);
    for (auto it = keep; it != heap_.end(); ++it) Node::unref(it->node);
    heap_.erase(keep, heap_.end());
    std::make_heap(heap_.begin(), heap_.end(), Later{});
    garbage_ = 0;
  }
}

void TimerQueue::dropTopGarbage() {
  while (!heap_.empty() && !live(heap_.front())) {
    Entry e = pop();
    --garbage_;
    Node::unref(e.node);
  }
}

TWISTED_HOT std::optional<double> TimerQueue::nextTime() {
  dropTopGarbage();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().time;
}

void TimerQueue::run(Node& node, ErrorHandler onError) {
  node.state = Node::State::Called;
  --live_;
  UniqueFunction<void()> fn = std::move(node.fn);
  if (!onError) {
    fn();
    return;
  }
  try {
    fn();
  } catch (...) {
    onError(Failure::current());
  }
}

void TimerQueue::runDue(double now, bool batch, ErrorHandler onError) {
  if (!batch) {
    for (;;) {
      dropTopGarbage();
      if (heap_.empty() || heap_.front().time > now) return;
      Entry e = pop();
      // The popped entry's reference keeps the node alive while it runs,
      // and is dropped afterwards even if the call throws.
      struct Release {
        Node* node;
        ~Release() { Node::unref(node); }
      } release{e.node};
      run(*e.node, onError);
    }
  }
  // Collect first, then run (libuv): callbacks may schedule, cancel or reset
  // anything, including entries of this batch, which are re-checked below.
  std::vector<Entry> due = std::move(batch_);
  due.clear();
  for (;;) {
    dropTopGarbage();
    if (heap_.empty() || heap_.front().time > now) break;
    due.push_back(pop());
  }
  std::size_t i = 0;
  try {
    for (; i < due.size(); ++i) {
      Entry& e = due[i];
      if (live(e)) run(*e.node, onError);
      Node::unref(e.node);
    }
  } catch (...) {
    // Only reachable without an error handler; release what was not run.
    for (std::size_t j = i; j < due.size(); ++j) Node::unref(due[j].node);
    throw;
  }
  due.clear();
  batch_ = std::move(due);
}

std::vector<DelayedCall> TimerQueue::pending() const {
  std::vector<DelayedCall> out;
  out.reserve(live_);
  for (const Entry& e : heap_) {
    if (live(e)) out.emplace_back(e.node);
  }
  return out;
}

}  // namespace twisted::detail
