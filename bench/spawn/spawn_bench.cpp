// bench/spawn: start and reap /bin/true as many times as possible in a
// bounded time, and copy 1 MiB each way through /bin/cat, from one stack:
//   spawn_bench PEER MODE [--count N] [--seconds S] [--in-flight K] [--pipes]
// PEER: limit (posix_spawn + pidfd_open + epoll, by hand), limit-closing
// (the same, doing what spawnProcess must: every descriptor above 2 closed
// in the child, which keeps 0, 1 and 2 as they are, and its signal mask
// and dispositions reset), limit-vfork (limit-closing's request made with
// vfork, as spawnProcess makes it), forkexec (fork/execve/waitpid), libuv
// (uv_spawn), twisted-cpp (spawnProcess).
// MODE: true, or cat. Prints one JSON line: children, wall seconds, this
// process's CPU (and the user part of it) and its children's (getrusage), and
// for cat MiB/s each way.
// run_spawn.py runs every peer, interleaved, and gives the ratios.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "twisted/internet/reactor.hpp"

extern char** environ;

namespace {

constexpr std::size_t kCatBytes = 1 << 20;

struct Options {
  std::string peer, mode;
  long count = 2000;
  double seconds = 3;
  int inFlight = 1;
  bool pipes =
      false;  // twisted-cpp: Twisted's default childFDs (three pipes) instead of inheriting
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double seconds(const timeval& t) {
  return t.tv_sec + t.tv_usec / 1e6;
}

double cpuOf(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// This process's user CPU alone (the rest of cpuOf is the kernel's).
double userCpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return seconds(u.ru_utime);
}

// The bytes cat gets, and must give back.
const std::string& catInput() {
  static const std::string data = [] {
    std::string s(kCatBytes, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((i * 7919 + 13) % 251);
    return s;
  }();
  return data;
}

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

// ---- the limit: posix_spawn + pidfd + epoll --------------------------------

int pidfdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

pid_t spawnWith(const char* path, char* const argv[], posix_spawn_file_actions_t* actions) {
  pid_t pid;
  if (::posix_spawn(&pid, path, actions, nullptr, argv, environ) != 0) die("posix_spawn");
  return pid;
}

// limit-closing's posix_spawn: the file action and attributes
// spawnProcess's request needs (0, 1 and 2 kept, checked for close-on-exec
// as spawnProcess checks them; everything above closed; a clean signal
// mask and default dispositions).
pid_t spawnClosing(const char* path, char* const argv[]) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) & FD_CLOEXEC) ::posix_spawn_file_actions_adddup2(&actions, fd, fd);
  }
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  if (::posix_spawn(&pid, path, &actions, &attr, argv, environ) != 0) die("posix_spawn");
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  return pid;
}

// limit-vfork's start: limit-closing's request, made with vfork as
// spawnProcess makes it (every signal blocked around the vfork; the child
// checks 0, 1 and 2, closes the rest, resets signals, then execs).
pid_t vforkClosing(const char* path, char* const argv[]) {
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::vfork();
  if (pid == 0) {
    for (int fd = 0; fd < 3; ++fd) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0 && (flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, 0);
    }
    ::syscall(SYS_close_range, 3, ~0U, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(path, argv, environ);
    ::_exit(127);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) die("vfork");
  return pid;
}

enum class Start { Bare, Closing, Vfork };

long limitTrue(const Options& o, double deadline, Start how) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  char name[] = "true";
  char* argv[] = {name, nullptr};
  long started = 0, done = 0;
  auto start = [&] {
    pid_t pid = how == Start::Closing ? spawnClosing("/bin/true", argv)
                : how == Start::Vfork ? vforkClosing("/bin/true", argv)
                                      : spawnWith("/bin/true", argv, nullptr);
    int fd = pidfdOpen(pid);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    ++started;
  };
  for (int i = 0; i < o.inFlight; ++i) start();
  epoll_event events[64];
  while (done < started) {
    int n = ::epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      siginfo_t info{};
      ::waitid(P_PIDFD, static_cast<id_t>(fd), &info, WEXITED);
      ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
      ::close(fd);
      ++done;
      if (started < o.count && now() < deadline) start();
    }
  }
  ::close(ep);
  return done;
}

// One cat: write 1 MiB to its stdin, read it back, both non-blocking under
// epoll, then reap it through its pidfd.
void limitCat() {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC)) die("pipe2");
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  char name[] = "cat";
  char* argv[] = {name, nullptr};
  pid_t pid = spawnWith("/bin/cat", argv, &actions);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  int w = in[1], r = out[0];
  ::fcntl(w, F_SETFL, O_NONBLOCK);
  ::fcntl(r, F_SETFL, O_NONBLOCK);
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.fd = w;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, w, &ev);
  ev.events = EPOLLIN;
  ev.data.fd = r;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev);
  const std::string& data = catInput();
  std::size_t sent = 0;
  std::string back;
  back.reserve(data.size());
  static char buf[65536];
  while (back.size() < data.size()) {
    epoll_event events[2];
    int n = ::epoll_wait(ep, events, 2, -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == w) {
        ssize_t k = ::write(w, data.data() + sent, data.size() - sent);
        if (k > 0) sent += static_cast<std::size_t>(k);
        if (sent == data.size()) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, w, nullptr);
          ::close(w);
        }
      } else {
        ssize_t k;
        while ((k = ::read(r, buf, sizeof buf)) > 0) back.append(buf, static_cast<std::size_t>(k));
      }
    }
  }
  ::close(r);
  ::close(ep);
  int pidfd = pidfdOpen(pid);
  siginfo_t info{};
  ::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED);
  ::close(pidfd);
  if (back != data) die("cat: bytes differ");
}

// ---- fork/exec/waitpid --------------------------------------------------------

long forkExecTrue(const Options& o, double deadline) {
  long done = 0;
  char name[] = "true";
  char* argv[] = {name, nullptr};
  while (done < o.count && now() < deadline) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execve("/bin/true", argv, environ);
      ::_exit(127);
    }
    int status;
    ::waitpid(pid, &status, 0);
    ++done;
  }
  return done;
}

// ---- libuv ------------------------------------------------------------------------

struct UvRun {
  uv_loop_t* loop;
  long started = 0, done = 0, count;
  int inFlight;
  double deadline;
};

void uvStartTrue(UvRun& run);

void uvExited(uv_process_t* p, int64_t, int) {
  auto& run = *static_cast<UvRun*>(p->data);
  uv_close(reinterpret_cast<uv_handle_t*>(p),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
  ++run.done;
  if (run.started < run.count && now() < run.deadline) uvStartTrue(run);
}

// uv_spawn's options for `file`, run with argv {name}.
uv_process_options_t uvOptions(const char* file, char** argv, uv_exit_cb exited) {
  uv_process_options_t options{};
  options.file = file;
  options.args = argv;
  options.exit_cb = exited;
  return options;
}

void uvStartTrue(UvRun& run) {
  auto* p = new uv_process_t;
  p->data = &run;
  char name[] = "true";
  char* argv[] = {name, nullptr};
  uv_process_options_t options = uvOptions("/bin/true", argv, uvExited);
  if (uv_spawn(run.loop, p, &options) != 0) die("uv_spawn");
  ++run.started;
}

long libuvTrue(const Options& o, double deadline) {
  UvRun run{uv_default_loop(), 0, 0, o.count, o.inFlight, deadline};
  for (int i = 0; i < o.inFlight; ++i) uvStartTrue(run);
  uv_run(run.loop, UV_RUN_DEFAULT);
  return run.done;
}

struct UvCat {
  uv_process_t process;
  uv_pipe_t in, out;
  std::string back;
  bool exited = false;
  uv_write_t write;
};

void libuvCat() {
  uv_loop_t* loop = uv_default_loop();
  UvCat cat;
  uv_pipe_init(loop, &cat.in, 0);
  uv_pipe_init(loop, &cat.out, 0);
  cat.in.data = cat.out.data = cat.process.data = &cat;
  uv_stdio_container_t stdio[3];
  stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
  stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(&cat.in);
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&cat.out);
  stdio[2].flags = UV_IGNORE;
  char name[] = "cat";
  char* argv[] = {name, nullptr};
  uv_process_options_t options = uvOptions("/bin/cat", argv, [](uv_process_t* p, int64_t, int) {
    static_cast<UvCat*>(p->data)->exited = true;
    uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
  });
  options.stdio = stdio;
  options.stdio_count = 3;
  if (uv_spawn(loop, &cat.process, &options) != 0) die("uv_spawn cat");
  uv_buf_t buf =
      uv_buf_init(const_cast<char*>(catInput().data()), static_cast<unsigned>(catInput().size()));
  uv_write(&cat.write, reinterpret_cast<uv_stream_t*>(&cat.in), &buf, 1, [](uv_write_t* w, int) {
    uv_close(reinterpret_cast<uv_handle_t*>(w->handle), nullptr);
  });
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&cat.out),
      [](uv_handle_t*, size_t, uv_buf_t* b) {
        static char space[65536];
        *b = uv_buf_init(space, sizeof space);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
        auto* c = static_cast<UvCat*>(s->data);
        if (n > 0) c->back.append(b->base, static_cast<std::size_t>(n));
        if (n < 0) uv_close(reinterpret_cast<uv_handle_t*>(s), nullptr);
      });
  uv_run(loop, UV_RUN_DEFAULT);
  if (cat.back != catInput() || !cat.exited) die("libuv cat: bytes differ");
}

// ---- twisted-cpp ---------------------------------------------------------------

struct TrueChild : twisted::ProcessProtocol {
  std::function<void()> onEnded;
  void processEnded(const twisted::Failure&) override { onEnded(); }
};

long twistedTrue(const Options& o, double deadline) {
  twisted::Reactor reactor;
  long started = 0, done = 0;
  std::function<void()> start = [&] {
    auto child = std::make_shared<TrueChild>();
    child->onEnded = [&] {
      ++done;
      if (started < o.count && now() < deadline) {
        start();
      } else if (done == started) {
        reactor.stop();
      }
    };
    ++started;
    // As the limit does: the child inherits this process's 0, 1 and 2
    // (--pipes: Twisted's default, a pipe for each).
    std::optional<twisted::ChildFDs> fds;
    if (!o.pipes) fds = twisted::ChildFDs{{0, 0}, {1, 1}, {2, 2}};
    reactor.spawnProcess(child, "/bin/true", {"true"}, twisted::Environment{}, {}, {}, {}, false,
                         fds);
  };
  reactor.callWhenRunning([&] {
    for (int i = 0; i < o.inFlight; ++i) start();
  });
  reactor.run(false);
  return done;
}

struct CatChild : twisted::ProcessProtocol {
  std::string back;
  std::function<void()> onEnded;
  void connectionMade() override {
    transport->write(catInput());
    transport->closeStdin();
  }
  void outReceived(std::string_view data) override { back.append(data); }
  void processEnded(const twisted::Failure&) override {
    if (back != catInput()) die("twisted-cpp cat: bytes differ");
    onEnded();
  }
};

// One reactor for every cat, one cat at a time, as a program runs them.
long twistedCats(const Options& o, double deadline) {
  twisted::Reactor reactor;
  long done = 0;
  std::function<void()> start = [&] {
    auto cat = std::make_shared<CatChild>();
    cat->back.reserve(kCatBytes);
    cat->onEnded = [&] {
      ++done;
      if (done < o.count && now() < deadline) {
        start();
      } else {
        reactor.stop();
      }
    };
    reactor.spawnProcess(cat, "/bin/cat", {"cat"});
  };
  reactor.callWhenRunning([&] { start(); });
  reactor.run(false);
  return done;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: spawn_bench limit|limit-closing|limit-vfork|forkexec|libuv|twisted-cpp "
                 "true|cat [--count N] "
                 "[--seconds S] [--in-flight K] [--pipes]\n");
    return 2;
  }
  Options o{argv[1], argv[2]};
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--count") o.count = std::stol(argv[i + 1]);
    if (flag == "--seconds") o.seconds = std::stod(argv[i + 1]);
    if (flag == "--in-flight") o.inFlight = std::stoi(argv[i + 1]);
  }
  for (int i = 3; i < argc; ++i) {
    if (std::string(argv[i]) == "--pipes") o.pipes = true;
  }
  ::signal(SIGPIPE, SIG_IGN);
  catInput();
  double cpu0 = cpuOf(RUSAGE_SELF), user0 = userCpu(), child0 = cpuOf(RUSAGE_CHILDREN), t0 = now();
  double deadline = t0 + o.seconds;
  long children = 0;
  if (o.mode == "true") {
    if (o.peer == "limit") children = limitTrue(o, deadline, Start::Bare);
    if (o.peer == "limit-closing") children = limitTrue(o, deadline, Start::Closing);
    if (o.peer == "limit-vfork") children = limitTrue(o, deadline, Start::Vfork);
    if (o.peer == "forkexec") children = forkExecTrue(o, deadline);
    if (o.peer == "libuv") children = libuvTrue(o, deadline);
    if (o.peer == "twisted-cpp") children = twistedTrue(o, deadline);
  } else if (o.peer == "twisted-cpp") {
    children = twistedCats(o, deadline);
  } else {
    while (children < o.count && now() < deadline) {
      if (o.peer == "limit" || o.peer == "forkexec") limitCat();
      if (o.peer == "libuv") libuvCat();
      ++children;
    }
  }
  double wall = now() - t0;
  if (children == 0) {
    std::fprintf(stderr, "unknown peer or mode\n");
    return 2;
  }
  std::printf(
      "{\"peer\": \"%s\", \"mode\": \"%s\", \"children\": %ld, \"seconds\": %.6f, "
      "\"parent_cpu\": %.6f, \"parent_user\": %.6f, \"child_cpu\": %.6f, \"bytes_each_way\": "
      "%zu}\n",
      o.peer.c_str(), o.mode.c_str(), children, wall, cpuOf(RUSAGE_SELF) - cpu0, userCpu() - user0,
      cpuOf(RUSAGE_CHILDREN) - child0, o.mode == "cat" ? kCatBytes * children : 0);
  return 0;
}
