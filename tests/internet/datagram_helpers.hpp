// A datagram protocol whose behaviour each test sets with lambdas, and
// that records what it was given: the UDP and UNIX datagram tests' peer.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "port_of.hpp"
#include "twisted/internet/datagram.hpp"

namespace twisted::test {

class DatagramRecorder : public DatagramProtocol {
 public:
  std::vector<std::pair<std::string, Address>> packets;
  std::vector<std::pair<std::size_t, Address>> truncatedDatagrams;
  std::vector<Failure> writeFailures;
  int started = 0;
  int stopped = 0;
  int refused = 0;
  std::string prefix = "DatagramRecorder";
  std::function<void(DatagramRecorder&, std::string_view, const Address&)> onDatagram;
  std::function<void(DatagramRecorder&)> onStart;
  std::function<void(DatagramRecorder&)> onStop;
  std::function<void(DatagramRecorder&)> onRefused;
  std::function<void(DatagramRecorder&, const Failure&)> onWriteFailed;

  void startProtocol() override {
    ++started;
    if (onStart) onStart(*this);
  }
  void stopProtocol() override {
    ++stopped;
    if (onStop) onStop(*this);
  }
  void datagramReceived(std::string_view datagram, const Address& from) override {
    packets.emplace_back(std::string(datagram), from);
    if (onDatagram) onDatagram(*this, datagram, from);
  }
  void connectionRefused() override {
    ++refused;
    if (onRefused) onRefused(*this);
  }
  void datagramTruncated(std::size_t size, const Address& from) override {
    truncatedDatagrams.emplace_back(size, from);
  }
  void writeFailed(const Failure& reason, const Address&) override {
    writeFailures.push_back(reason);
    if (onWriteFailed) onWriteFailed(*this, reason);
  }
  std::string logPrefix() const override { return prefix; }
};

class ConnectedDatagramRecorder : public ConnectedDatagramProtocol {
 public:
  std::vector<std::string> packets;
  std::vector<Failure> failed;
  int started = 0;
  int stopped = 0;
  int refused = 0;
  std::function<void(ConnectedDatagramRecorder&, std::string_view)> onDatagram;

  void startProtocol() override { ++started; }
  void stopProtocol() override { ++stopped; }
  void datagramReceived(std::string_view datagram) override {
    packets.emplace_back(datagram);
    if (onDatagram) onDatagram(*this, datagram);
  }
  void connectionFailed(const Failure& reason) override { failed.push_back(reason); }
  void connectionRefused() override { ++refused; }
};

}  // namespace twisted::test
