#include "twisted/internet/delayed_call.hpp"

#include <stdexcept>

#include "timer_queue.hpp"
#include "twisted/internet/error.hpp"

namespace twisted {

using detail::DelayedCallNode;

void DelayedCallNode::checkCallThread(const DelayedCallNode& n) noexcept {
  // Only a pending call is sure to have a live queue (a queue forgets the
  // calls in its heap when it dies; one that ran or was cancelled may have
  // left the heap, and outlive its reactor).
  if (n.state == State::Pending && n.queue) n.queue->checkThread();
}

DelayedCallNode& DelayedCall::checkedPending() const {
  if (!node_) throw std::logic_error("empty DelayedCall handle");
  if constexpr (detail::kThreadChecks) DelayedCallNode::checkCallThread(*node_);
  if (node_->state == DelayedCallNode::State::Cancelled) throw error::AlreadyCancelled();
  if (node_->state == DelayedCallNode::State::Called) throw error::AlreadyCalled();
  return *node_;
}

double DelayedCall::getTime() const {
  if (!node_) throw std::logic_error("empty DelayedCall handle");
  return node_->time;
}

void DelayedCall::cancel() {
  DelayedCallNode& n = checkedPending();
  n.queue->cancel(n);
}

void DelayedCall::reset(double secondsFromNow) {
  DelayedCallNode& n = checkedPending();
  n.queue->reschedule(n, n.queue->now() + secondsFromNow);
}

void DelayedCall::delay(double secondsLater) {
  DelayedCallNode& n = checkedPending();
  n.queue->reschedule(n, n.time + secondsLater);
}

bool DelayedCall::active() const noexcept {
  return node_ && node_->state == DelayedCallNode::State::Pending;
}
bool DelayedCall::cancelled() const noexcept {
  return node_ && node_->state == DelayedCallNode::State::Cancelled;
}
bool DelayedCall::called() const noexcept {
  return node_ && node_->state == DelayedCallNode::State::Called;
}

}  // namespace twisted
