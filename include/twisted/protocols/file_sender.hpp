// Streaming a file to a consumer, as Twisted's
// twisted.protocols.basic.FileSender.
//
//   auto sender = std::make_shared<twisted::basic::FileSender>();
//   sender->beginFileTransfer("/srv/motd.txt", *transport)
//       .addCallback([t = transport](std::string) { t->loseConnection(); });
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted::basic {

/// The consumer stopped the transfer (its connection went away).
TWISTED_DEFINE_ERROR(ProducerStopped, error::Error, "The consumer asked the producer to stop");
/// The file could not be opened or read.
TWISTED_DEFINE_ERROR(FileReadError, error::Error, "Could not read the file");

/// A pull producer: each time the consumer's buffer empties it writes the
/// next CHUNK_SIZE bytes of the file, so a file of any size is sent in
/// bounded memory at the pace of the reader. Make it with make_shared (the
/// consumer holds it while registered).
class FileSender : public IPullProducer, public std::enable_shared_from_this<FileSender> {
 public:
  /// Applied to each chunk read; what it returns is written instead.
  using Transform = std::function<std::string(std::string_view)>;

  /// Bytes read per resumeProducing.
  std::size_t CHUNK_SIZE = 1 << 14;

  /// Registers with `consumer` (as a pull producer) and sends `file`
  /// through `transform`, if given. The Deferred fires with the last byte
  /// written ("" for an empty file) once everything has been handed to the
  /// consumer, which is then unregistered; it fails with ProducerStopped if
  /// the consumer stops the transfer, or FileReadError if reading fails.
  /// `consumer` must outlive the transfer or stop it (transports do, when
  /// their connection is lost).
  Deferred<std::string> beginFileTransfer(std::unique_ptr<std::istream> file, IConsumer& consumer,
                                          Transform transform = {});
  /// The same, for the file at `path`.
  /// @throws FileReadError naming the file if it cannot be opened.
  Deferred<std::string> beginFileTransfer(const std::filesystem::path& path, IConsumer& consumer,
                                          Transform transform = {});

  void resumeProducing() override;
  void stopProducing() override;

 private:
  void finish();

  std::unique_ptr<std::istream> file_;
  IConsumer* consumer_ = nullptr;
  Transform transform_;
  std::string chunk_;
  std::string lastSent_;
  std::optional<Deferred<std::string>> deferred_;
};

}  // namespace twisted::basic
