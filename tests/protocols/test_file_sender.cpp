// FileSender: the behaviours of Twisted's FileSenderTests
// (twisted/protocols/test/test_basic.py).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "twisted/protocols/file_sender.hpp"
#include "twisted/testing/deferred.hpp"
#include "twisted/testing/string_transport.hpp"

namespace {

using twisted::basic::FileSender;
using twisted::testing::StringTransport;

std::unique_ptr<std::istream> stream(std::string content) {
  return std::make_unique<std::istringstream>(std::move(content));
}

// The consumer's side of a pull producer: ask until it unregisters.
void pullAll(StringTransport& consumer, int limit = 10000) {
  for (int i = 0; i < limit && consumer.producer(); ++i) {
    auto producer = std::dynamic_pointer_cast<twisted::IPullProducer>(consumer.producer());
    producer->resumeProducing();
  }
}

TEST(FileSender, RegistersAsAPullProducer) {
  auto sender = std::make_shared<FileSender>();
  StringTransport consumer;
  auto d = sender->beginFileTransfer(stream("Test content"), consumer);
  EXPECT_EQ(consumer.producer(), sender);
  EXPECT_FALSE(consumer.streaming());
  EXPECT_FALSE(d.called());
}

TEST(FileSender, TransfersTheFileAndFiresWithTheLastByte) {
  auto sender = std::make_shared<FileSender>();
  StringTransport consumer;
  auto d = sender->beginFileTransfer(stream("Test content"), consumer);
  sender->resumeProducing();
  EXPECT_EQ(consumer.value(), "Test content");
  sender->resumeProducing();  // end of file: unregisters and fires
  EXPECT_EQ(consumer.producer(), nullptr);
  EXPECT_EQ(twisted::testing::successResultOf(d), "t");
}

TEST(FileSender, TransfersInChunksOfChunkSize) {
  auto sender = std::make_shared<FileSender>();
  sender->CHUNK_SIZE = 4;
  StringTransport consumer;
  auto d = sender->beginFileTransfer(stream("Test content"), consumer);
  sender->resumeProducing();
  EXPECT_EQ(consumer.value(), "Test");
  sender->resumeProducing();
  EXPECT_EQ(consumer.value(), "Test con");
  sender->resumeProducing();
  sender->resumeProducing();
  EXPECT_EQ(consumer.value(), "Test content");
  EXPECT_EQ(twisted::testing::successResultOf(d), "t");
}

TEST(FileSender, AppliesTheTransform) {
  auto sender = std::make_shared<FileSender>();
  StringTransport consumer;
  auto d = sender->beginFileTransfer(stream("Test content"), consumer, [](std::string_view s) {
    return std::string(s.rbegin(), s.rend());
  });
  pullAll(consumer);
  EXPECT_EQ(consumer.value(), "tnetnoc tseT");
  EXPECT_EQ(twisted::testing::successResultOf(d), "T");
}

TEST(FileSender, EmptyFileFiresWithNothing) {
  auto sender = std::make_shared<FileSender>();
  StringTransport consumer;
  auto d = sender->beginFileTransfer(stream(""), consumer);
  pullAll(consumer);
  EXPECT_EQ(consumer.value(), "");
  EXPECT_EQ(twisted::testing::successResultOf(d), "");
}

TEST(FileSender, StoppedTransferFailsWithProducerStopped) {
  auto sender = std::make_shared<FileSender>();
  StringTransport consumer;
  auto d = sender->beginFileTransfer(stream("Test content"), consumer);
  sender->stopProducing();
  auto failure = twisted::testing::failureResultOf(d);
  EXPECT_TRUE(failure.check<twisted::basic::ProducerStopped>());
  sender->resumeProducing();  // harmless after the stop
  EXPECT_EQ(consumer.value(), "");
}

TEST(FileSender, SendsARealFileByPath) {
  std::string path =
      ::testing::TempDir() + "file_sender_test_" + std::to_string(::getpid()) + ".bin";
  std::string content;
  for (int i = 0; i < 100000; ++i) content += static_cast<char>(i * 7);
  {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }
  auto sender = std::make_shared<FileSender>();
  StringTransport consumer;
  auto d = sender->beginFileTransfer(std::filesystem::path(path), consumer);
  pullAll(consumer);
  EXPECT_EQ(consumer.value(), content);
  EXPECT_EQ(twisted::testing::successResultOf(d), content.substr(content.size() - 1));
  std::remove(path.c_str());
}

TEST(FileSender, MissingFileThrowsFileReadErrorNamingIt) {
  auto sender = std::make_shared<FileSender>();
  StringTransport consumer;
  try {
    sender->beginFileTransfer(std::filesystem::path("/nonexistent/twisted-cpp"), consumer);
    FAIL() << "no exception";
  } catch (const twisted::basic::FileReadError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/twisted-cpp"), std::string::npos);
  }
  EXPECT_EQ(consumer.producer(), nullptr);
}

}  // namespace
