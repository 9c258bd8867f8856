// The raw epoll echo server: the limit for readiness-based I/O, in plain C.
// Level-triggered; one read and one write per message; EPOLLOUT only while
// a reply is partly unsent (then the connection stops reading).
//   server_raw_epoll PORT      (127.0.0.1, backlog 1024; SIGTERM exits 0)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  char* pending;  // unsent part of a reply, or NULL
  size_t len, off;
} conn_t;

static volatile sig_atomic_t stop;
static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static conn_t* conns;
static int nconns;

static void drop(int ep, int fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  free(conns[fd].pending);
  memset(&conns[fd], 0, sizeof conns[fd]);
  close(fd);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct sigaction sa = {0};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigset_t term, waiting;  // SIGTERM only inside epoll_pwait: no lost wake-up
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &waiting);
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&a, sizeof a) || listen(lfd, 1024)) return perror("listen"), 1;
  nconns = 1 << 16;
  conns = calloc((size_t)nconns, sizeof *conns);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  printf("READY\n");
  fflush(stdout);
  static char buf[65536];
  struct epoll_event events[256];
  while (!stop) {
    int n = epoll_pwait(ep, events, 256, -1, &waiting);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (c >= nconns) {
            close(c);
            continue;
          }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
        continue;
      }
      conn_t* c = &conns[fd];
      if (c->pending) {  // writable again: finish the reply, then read again
        ssize_t w = write(fd, c->pending + c->off, c->len - c->off);
        if (w < 0 && errno != EAGAIN) {
          drop(ep, fd);
          continue;
        }
        if (w > 0) c->off += (size_t)w;
        if (c->off == c->len) {
          free(c->pending);
          c->pending = NULL;
          struct epoll_event ce = {.events = EPOLLIN, .data.fd = fd};
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ce);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        drop(ep, fd);
        continue;
      }
      if (r < 0) continue;
      ssize_t w = write(fd, buf, (size_t)r);
      if (w < 0 && errno != EAGAIN) {
        drop(ep, fd);
        continue;
      }
      if (w < r) {  // keep the rest; wait for EPOLLOUT and stop reading
        size_t done = w > 0 ? (size_t)w : 0;
        c->len = (size_t)r - done;
        c->off = 0;
        c->pending = malloc(c->len);
        memcpy(c->pending, buf + done, c->len);
        struct epoll_event ce = {.events = EPOLLOUT, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ce);
      }
    }
  }
  return 0;
}
