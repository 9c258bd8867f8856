// spawn: vfork/exec (posix_spawn under ThreadSanitizer), or fork/exec,
// with only async-signal-safe calls in the child, and the errno of a
// failed exec brought back to the caller.
#include "spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "../errno_text.hpp"
#include "twisted/internet/error.hpp"

// ThreadSanitizer turns vfork into fork (its runtime cannot follow a child
// sharing the parent's memory), where the child's report through shared
// memory would be lost: those builds (TWISTED_TSAN) start children with
// posix_spawn.
#include "../sanitizers.hpp"

extern char** environ;

namespace twisted::process {

namespace {

using twisted::detail::errnoText;

[[noreturn]] void cannotRun(const SpawnRequest& r, const std::string& file, int err) {
  std::string why = errnoText(err);
  if (err == ENOENT && file.find('/') != std::string::npos && ::access(file.c_str(), F_OK) == 0) {
    why += " (its interpreter, named on its first line, is missing)";
  }
  throw error::ProcessSpawnError(r.executable, why, err);
}

// A child that never ran its program, for `err`: reaped at once if it was
// started (pid >= 0), so no zombie is left, and the error told as what it
// was about (the working directory, the executable or its interpreter).
[[noreturn]] void neverRan(const SpawnRequest& r, const std::string& file, pid_t pid, int err) {
  if (pid >= 0) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  if (err == ENOENT && r.path && ::access(r.path->c_str(), F_OK) != 0) {
    throw error::ProcessSpawnError(r.executable, "no such working directory " + *r.path, err);
  }
  cannotRun(r, file, err);
}

// The file to run: a name with '/' as it is, else the first executable
// file of that name on the child's PATH (Twisted's execvpe), or /bin:/usr/bin.
std::string resolve(const SpawnRequest& r) {
  if (r.executable.find('/') != std::string::npos) return r.executable;
  std::string path = "/bin:/usr/bin";
  if (r.env) {
    auto it = r.env->find("PATH");
    if (it != r.env->end()) path = it->second;
  } else if (const char* own = std::getenv("PATH")) {
    path = own;
  }
  int firstError = ENOENT;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t colon = path.find(':', begin);
    std::string dir =
        path.substr(begin, colon == std::string::npos ? std::string::npos : colon - begin);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + r.executable;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (errno == EACCES && ::access(candidate.c_str(), F_OK) == 0) firstError = EACCES;
    if (colon == std::string::npos) break;
    begin = colon + 1;
  }
  cannotRun(r, r.executable, firstError);
}

// An argv or envp: pointers into strings that outlive the spawn (exec
// takes char* const[] and changes nothing), so nothing is copied.
char** pointersTo(const std::vector<std::string>& strings, std::vector<char*>& out) {
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out.data();
}

// Where each source goes first: numbers above every source and target, so
// that putting sources in place never overwrites one not yet moved (a
// cycle such as {1: 2, 2: 1} included).
int scratchBase(const SpawnRequest& r) {
  int top = 2;
  for (auto [target, source] : r.targets) top = std::max({top, target, source});
  return top + 1;
}

// Whether each source can go straight to its target: no target is
// another's source (a move would overwrite what is still to be moved).
bool directMoves(const SpawnRequest& r) {
  for (const auto& [target, source] : r.targets) {
    for (const auto& other : r.targets) {
      if (other.second == target && other.first != target) return false;
    }
  }
  return true;
}

#if TWISTED_TSAN
pid_t posixSpawn(const SpawnRequest& r, const std::string& file, char** argv, char** envp) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  int err = 0;
  int maxTarget = -1;
  for (const auto& t : r.targets) maxTarget = std::max(maxTarget, t.first);
  // Each file action costs glibc a getrlimit, so as few as will do: moves
  // straight to their targets when no cycle needs the scratch numbers, and
  // none for a descriptor that is already where it goes and survives exec.
  if (directMoves(r)) {
    for (const auto& [target, source] : r.targets) {
      if (target == source && (::fcntl(source, F_GETFD) & FD_CLOEXEC) == 0) continue;
      if (!err) err = ::posix_spawn_file_actions_adddup2(&actions, source, target);
    }
  } else {
    int base = scratchBase(r);
    for (std::size_t i = 0; i < r.targets.size() && !err; ++i) {
      err = ::posix_spawn_file_actions_adddup2(&actions, r.targets[i].second, base + int(i));
    }
    for (std::size_t i = 0; i < r.targets.size() && !err; ++i) {
      err = ::posix_spawn_file_actions_adddup2(&actions, base + int(i), r.targets[i].first);
    }
  }
  // Below the highest target, the descriptors the child is not given.
  for (int fd = 0; fd < maxTarget && !err; ++fd) {
    bool given = std::any_of(r.targets.begin(), r.targets.end(),
                             [fd](const auto& t) { return t.first == fd; });
    if (!given) err = ::posix_spawn_file_actions_addclose(&actions, fd);
  }
  if (!err) err = ::posix_spawn_file_actions_addclosefrom_np(&actions, maxTarget + 1);
  if (!err && r.path) err = ::posix_spawn_file_actions_addchdir_np(&actions, r.path->c_str());
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (!err) err = ::posix_spawnattr_setsigmask(&attr, &none);
  if (!err) err = ::posix_spawnattr_setsigdefault(&attr, &all);
  if (!err) err = ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  if (!err) err = ::posix_spawn(&pid, file.c_str(), &actions, &attr, argv, envp);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (err) neverRan(r, file, -1, err);  // glibc has reaped a child that failed
  return pid;
}
#endif

// The child of forkExec and vforkExec: async-signal-safe calls only, and
// nothing that allocates or takes a lock (vfork's child shares the
// parent's memory). A failure is its errno, written to `report` after a
// fork (close-on-exec: the parent reads nothing when the exec succeeds) or
// to `*shared` after a vfork (report is then -1). Only system calls that
// are no cancellation points: a pending pthread_cancel of the parent's
// thread must not unwind the parent's frames from here.
[[noreturn]] void child(const SpawnRequest& r, const char* file, char** argv, char** envp,
                        int report, const std::vector<gid_t>& groups,
                        volatile int* shared = nullptr) {
  auto fail = [report, shared](int err) {
    if (shared) {
      *shared = err;
    } else {
      while (::syscall(SYS_write, report, &err, sizeof err) < 0 && errno == EINTR) {
      }
    }
    ::_exit(127);
  };
  // A new session first: the terminal below becomes its controlling one.
  if (r.pty && ::setsid() < 0) fail(errno);
  int base = scratchBase(r);
  if (base <= report) base = report + 1;
  int maxTarget = -1;
  for (const auto& t : r.targets) maxTarget = std::max(maxTarget, t.first);
  // The report pipe out of the way of a target that has its number.
  if (report >= 0 && report <= maxTarget) {
    report = ::fcntl(report, F_DUPFD_CLOEXEC, base + int(r.targets.size()));
    if (report < 0) ::_exit(127);
  }
  if (directMoves(r)) {
    // Straight to the targets (no scratch numbers: a process near its
    // descriptor limit can still start children); one already in place
    // only loses its close-on-exec flag.
    for (const auto& [target, source] : r.targets) {
      int ok = target == source ? ::fcntl(target, F_SETFD, 0) : ::dup2(source, target);
      if (ok < 0) fail(errno);
    }
  } else {
    for (std::size_t i = 0; i < r.targets.size(); ++i) {
      if (::dup2(r.targets[i].second, base + int(i)) < 0) fail(errno);
    }
    for (std::size_t i = 0; i < r.targets.size(); ++i) {
      if (::dup2(base + int(i), r.targets[i].first) < 0) fail(errno);
    }
  }
  for (int fd = 0; fd < maxTarget; ++fd) {
    bool given = false;
    for (const auto& t : r.targets) given = given || t.first == fd;
    if (!given && fd != report) ::syscall(SYS_close, fd);
  }
  if (r.pty && ::ioctl(0, TIOCSCTTY, 0) != 0) fail(errno);
  // Everything above the targets but the report pipe (closed by the exec).
  if (report > maxTarget + 1) ::syscall(SYS_close_range, maxTarget + 1, report - 1, 0);
  ::syscall(SYS_close_range, std::max(maxTarget + 1, report + 1), ~0U, 0);
  if (r.path && ::chdir(r.path->c_str()) != 0) fail(errno);
  if (r.gid || r.uid) {
    if (::setgroups(groups.size(), groups.data()) != 0) fail(errno);
  }
  if (r.gid && ::setgid(*r.gid) != 0) fail(errno);
  if (r.uid && ::setuid(*r.uid) != 0) fail(errno);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(file, argv, envp);
  fail(errno);
  ::_exit(127);  // (fail does not return)
}

// The supplementary groups of `uid` (and `gid`), looked up before the fork:
// getgrouplist is not async-signal-safe.
std::vector<gid_t> groupsOf(const SpawnRequest& r) {
  std::vector<gid_t> groups;
  gid_t primary = r.gid ? *r.gid : ::getgid();
  if (r.uid) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(*r.uid, &pw, buf.data(), buf.size(), &found) == 0 && found) {
      if (!r.gid) primary = pw.pw_gid;
      int n = 64;
      groups.resize(n);
      if (::getgrouplist(pw.pw_name, primary, groups.data(), &n) < 0) {
        groups.resize(n);
        ::getgrouplist(pw.pw_name, primary, groups.data(), &n);
      }
      groups.resize(n);
    }
  }
  if (groups.empty()) groups.push_back(primary);
  return groups;
}

pid_t forkExec(const SpawnRequest& r, const std::string& file, char** argv, char** envp) {
  std::vector<gid_t> groups = groupsOf(r);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    int err = errno;
    throw error::ProcessSpawnError(r.executable, "cannot make a pipe: " + errnoText(err), err);
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(report[0]);
    child(r, file.c_str(), argv, envp, report[1], groups);
  }
  int forkErr = errno;
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    throw error::ProcessSpawnError(r.executable, "cannot fork: " + errnoText(forkErr), forkErr);
  }
  int err = 0;
  ssize_t n;
  while ((n = ::read(report[0], &err, sizeof err)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n == sizeof err) neverRan(r, file, pid, err);
  return pid;
}

#if !TWISTED_TSAN
// The child starts with vfork: it borrows this thread's memory and stack
// until its exec, so no page tables are copied (fork's cost) and no child
// stack is mapped and unmapped per spawn (posix_spawn's: glibc maps one
// each call, and checks the descriptor limit for addclosefrom_np). The
// child runs the same steps as forkExec's, and reports a failed exec by
// writing its errno into `err` here, in the memory it shares. Every signal,
// glibc's own 32 and 33 too (which pthread_sigmask leaves out), is blocked
// around the vfork: a handler run by the child would run on this thread's
// stack and data. The child resets each disposition it may (glibc refuses
// 32 and 33, whose handlers do nothing unless their own process signals
// them) before it unblocks them. (bench/spawn, the same request started by
// hand: 34.5 us of parent CPU per child with vfork, 40.9 with posix_spawn;
// docs/performance.md.) A user or group to switch to takes forkExec:
// glibc's setuid and setgroups signal every thread of the process they
// believe they run in, the parent's here.
pid_t vforkExec(const SpawnRequest& r, const std::string& file, char** argv, char** envp) {
  static const std::vector<gid_t> noGroups;
  // The kernel's signal set (64 bits here), set directly: glibc's own
  // calls would keep 32 and 33 unblocked.
  static_assert(NSIG <= 65, "the kernel's signal set is 64 bits here");
  std::uint64_t all = ~std::uint64_t{0}, old = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
  volatile int err = 0;
  pid_t pid = ::vfork();
  if (pid == 0) child(r, file.c_str(), argv, envp, -1, noGroups, &err);
  int forkErr = errno;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
  if (pid < 0) {
    throw error::ProcessSpawnError(r.executable, "cannot vfork: " + errnoText(forkErr), forkErr);
  }
  if (err != 0) neverRan(r, file, pid, err);
  return pid;
}
#endif

}  // namespace

pid_t spawn(const SpawnRequest& request) {
  std::string file = resolve(request);
  std::vector<char*> argvPointers, envPointers;
  char** argv = pointersTo(request.args, argvPointers);
  std::vector<std::string> entries;
  char** env = environ;
  if (request.env) {
    entries.reserve(request.env->size());
    for (const auto& [name, value] : *request.env) entries.push_back(name + "=" + value);
    env = pointersTo(entries, envPointers);
  }
  if (request.uid || request.gid || request.pty) return forkExec(request, file, argv, env);
#if TWISTED_TSAN
  return posixSpawn(request, file, argv, env);
#else
  return vforkExec(request, file, argv, env);
#endif
}

}  // namespace twisted::process
