#include "twisted/protocols/file_sender.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace twisted::basic {

Deferred<std::string> FileSender::beginFileTransfer(std::unique_ptr<std::istream> file,
                                                    IConsumer& consumer, Transform transform) {
  if (deferred_) throw std::logic_error("FileSender: a transfer is already in progress");
  file_ = std::move(file);
  consumer_ = &consumer;
  transform_ = std::move(transform);
  lastSent_.clear();
  Deferred<std::string> d;
  deferred_ = d;
  consumer.registerProducer(shared_from_this(), false);
  return d;
}

Deferred<std::string> FileSender::beginFileTransfer(const std::filesystem::path& path,
                                                    IConsumer& consumer, Transform transform) {
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) throw FileReadError(path.string() + ": " + std::strerror(errno));
  return beginFileTransfer(std::move(file), consumer, std::move(transform));
}

void FileSender::resumeProducing() {
  if (!deferred_ || !consumer_) return;
  auto self = shared_from_this();  // unregisterProducer may drop the last owner
  chunk_.resize(CHUNK_SIZE);
  std::size_t got = 0;
  if (file_) {
    file_->read(chunk_.data(), static_cast<std::streamsize>(chunk_.size()));
    got = static_cast<std::size_t>(file_->gcount());
    if (file_->bad()) {
      file_.reset();
      IConsumer* consumer = std::exchange(consumer_, nullptr);
      auto d = std::move(*deferred_);
      deferred_.reset();
      consumer->unregisterProducer();
      d.errback(FileReadError("reading failed after " + std::to_string(got) + " bytes"));
      return;
    }
  }
  if (got == 0) {
    finish();
    return;
  }
  chunk_.resize(got);
  if (transform_) {
    std::string out = transform_(chunk_);
    if (!out.empty()) lastSent_ = out.substr(out.size() - 1);
    consumer_->write(out);
  } else {
    lastSent_ = chunk_.substr(chunk_.size() - 1);
    consumer_->write(chunk_);
  }
}

void FileSender::finish() {
  file_.reset();
  IConsumer* consumer = std::exchange(consumer_, nullptr);
  auto d = std::move(*deferred_);
  deferred_.reset();
  consumer->unregisterProducer();
  d.callback(lastSent_);
}

void FileSender::stopProducing() {
  file_.reset();
  consumer_ = nullptr;
  if (!deferred_) return;
  auto d = std::move(*deferred_);
  deferred_.reset();
  d.errback(ProducerStopped("the file transfer was stopped before its end"));
}

}  // namespace twisted::basic
