// ListenFDs: reading systemd's socket-activation variables.
#include "twisted/python/systemd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <optional>

namespace twisted {

namespace {
std::optional<long> number(const std::string& text) {
  long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < 0) {
    return std::nullopt;
  }
  return n;
}

std::vector<std::string> splitNames(const std::string& text) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    std::size_t colon = text.find(':', begin);
    out.push_back(text.substr(begin, colon - begin));
    if (colon == std::string::npos) return out;
    begin = colon + 1;
  }
}

constexpr const char* kVariables[] = {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"};
}  // namespace

ListenFDs::ListenFDs(std::vector<int> descriptors, std::vector<std::string> names)
    : descriptors_(std::move(descriptors)), names_(std::move(names)) {
  names_.resize(descriptors_.size(), "unknown");
}

ListenFDs ListenFDs::fromEnvironment(std::map<std::string, std::string>& env, int start) {
  auto pid = env.count("LISTEN_PID") ? number(env["LISTEN_PID"]) : std::nullopt;
  if (!pid || *pid != static_cast<long>(::getpid())) return ListenFDs({});
  auto count = env.count("LISTEN_FDS") ? number(env["LISTEN_FDS"]) : std::nullopt;
  if (!count || *count > 65536) return ListenFDs({});
  std::vector<int> fds;
  for (long i = 0; i < *count; ++i) fds.push_back(start + static_cast<int>(i));
  std::vector<std::string> names;
  if (env.count("LISTEN_FDNAMES")) {
    names = splitNames(env["LISTEN_FDNAMES"]);
    // systemd writes one name per descriptor; any other count names none.
    if (names.size() != fds.size()) names.clear();
  }
  for (const char* name : kVariables) env.erase(name);
  return ListenFDs(std::move(fds), std::move(names));
}

std::map<std::string, int> ListenFDs::inheritedNamedDescriptors() const {
  std::map<std::string, int> out;
  for (std::size_t i = 0; i < descriptors_.size(); ++i) out.emplace(names_[i], descriptors_[i]);
  return out;
}

namespace {
ListenFDs fromProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (const char* name : kVariables) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  bool meant = env.count("LISTEN_PID") != 0;
  ListenFDs fds = ListenFDs::fromEnvironment(env);
  if (meant && !env.count("LISTEN_PID")) {  // read: they were this process's
    for (const char* name : kVariables) ::unsetenv(name);
    for (int fd : fds.inheritedDescriptors()) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
  return fds;
}
}  // namespace

const ListenFDs& processListenFDs() {
  static const ListenFDs fds = fromProcessEnvironment();
  return fds;
}

}  // namespace twisted
