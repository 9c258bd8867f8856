// The janitor of twisted/testing/janitor.hpp.
#include "twisted/testing/janitor.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <sstream>

#include "twisted/internet/reactor.hpp"

namespace twisted::testing {

namespace {

// Every open descriptor but the directory's own, sorted, with its target.
std::vector<std::pair<int, std::string>> openFds() {
  std::vector<std::pair<int, std::string>> out;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return out;
  int own = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    char target[256];
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    out.emplace_back(fd, n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?");
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

std::string describe(const IFileDescriptor& d) {
  std::ostringstream s;
  s << d.logPrefix() << " (fd " << d.fileno() << ")";
  return s.str();
}

template <class Descriptors>
void listDescriptors(std::vector<std::string>& out, const Descriptors& ds, const char* what) {
  if (ds.empty()) return;
  std::ostringstream s;
  s << ds.size() << ' ' << what << (ds.size() == 1 ? "" : "s") << " still registered:";
  for (const auto& d : ds) s << ' ' << describe(*d) << ';';
  std::string line = s.str();
  line.pop_back();
  out.push_back(std::move(line));
}

}  // namespace

int countOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int n = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the directory's own descriptor
}

Janitor::Janitor() : fdsAtStart_(openFds()) {}

std::vector<std::string> Janitor::registeredDescriptors(const IReactorFDSet& fds) const {
  std::vector<std::string> out;
  listDescriptors(out, fds.getReaders(), "reader");
  listDescriptors(out, fds.getWriters(), "writer");
  return out;
}

std::vector<std::string> Janitor::pendingCalls(const IReactorTime& time) const {
  std::vector<std::string> out;
  std::vector<DelayedCall> calls = time.getDelayedCalls();
  if (calls.empty()) return out;
  std::ostringstream s;
  s << calls.size() << " delayed call" << (calls.size() == 1 ? "" : "s")
    << " still pending, due in";
  double now = time.seconds();
  std::sort(calls.begin(), calls.end(),
            [](const DelayedCall& a, const DelayedCall& b) { return a.getTime() < b.getTime(); });
  for (const DelayedCall& call : calls) {
    s << ' ' << std::round((call.getTime() - now) * 1000) / 1000 << " s;";  // to the ms
  }
  std::string line = s.str();
  line.pop_back();
  out.push_back(std::move(line));
  return out;
}

std::vector<std::string> Janitor::reactorLeftovers(const Reactor& reactor) const {
  std::vector<std::string> out = registeredDescriptors(reactor);
  for (std::string& line : pendingCalls(reactor)) out.push_back(std::move(line));
  if (std::size_t n = reactor.trackedCount()) {
    out.push_back(std::to_string(n) + " connection" + (n == 1 ? "" : "s") + " or port" +
                  (n == 1 ? "" : "s") + " still open (tracked by the reactor)");
  }
  return out;
}

std::vector<std::string> Janitor::leakedFds() const {
  std::vector<std::pair<int, std::string>> now = openFds();
  std::vector<std::string> out;
  std::vector<std::pair<int, std::string>> opened, closed;
  // By number only: what a descriptor refers to may change under it (a
  // file deleted meanwhile reads "... (deleted)").
  auto byNumber = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::set_difference(now.begin(), now.end(), fdsAtStart_.begin(), fdsAtStart_.end(),
                      std::back_inserter(opened), byNumber);
  std::set_difference(fdsAtStart_.begin(), fdsAtStart_.end(), now.begin(), now.end(),
                      std::back_inserter(closed), byNumber);
  auto list = [&out](const std::vector<std::pair<int, std::string>>& fds, const char* what) {
    if (fds.empty()) return;
    std::ostringstream s;
    s << fds.size() << " file descriptor" << (fds.size() == 1 ? "" : "s") << ' ' << what << ':';
    for (const auto& [fd, target] : fds) s << ' ' << fd << " (" << target << ");";
    std::string line = s.str();
    line.pop_back();
    out.push_back(std::move(line));
  };
  list(opened, "left open by the test");
  list(closed, "open before the test and closed by it");
  return out;
}

}  // namespace twisted::testing
