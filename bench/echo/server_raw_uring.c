// The raw io_uring echo server: the limit for completion-based I/O, in
// plain C on liburing. One ring (single issuer, deferred task running where
// the kernel has them); a multishot accept; per connection a multishot
// receive into one shared ring of provided buffers; each received buffer is
// sent back from where it landed, one send in flight per connection and the
// rest queued in order, and goes back to the buffer ring once sent; a
// connection whose queue fills stops receiving (its receive is cancelled)
// until the queue has drained, as a paused transport does. Every
// submission made while handling a batch of completions goes in with the
// next wait: one io_uring_enter per turn.
//   server_raw_uring PORT      (127.0.0.1, backlog 1024; SIGTERM exits 0)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kAccept, kRecv, kSend, kSignal, kCancel };  // the low 3 bits of user_data
enum { kBufs = 1024, kBufSize = 65536, kGroup = 0, kPause = 32, kMaxFd = 1 << 16 };

// A connection's received buffers not yet sent, in order: a list through
// next[] (a buffer is in one queue at a time). It is not bounded: a
// cancelled receive goes on completing what the kernel had already taken,
// and an empty buffer ring (ENOBUFS) is the last word on memory.
static int next[kBufs], len[kBufs];

typedef struct {
  int head, tail, count, off;           // buffer ids (-1: none); the first's bytes sent
  int sending, broken, closing, rearm;  // a send in flight; a send failed;
                                        // the receive ended; to re-arm
  int pausing, paused;                  // its receive cancelled (asked, then done)
} conn_t;

static struct io_uring ring;
static struct io_uring_buf_ring* bufs;
static char* space;
static conn_t* conns;
static int lfd, need_rearm;

static struct io_uring_sqe* sqe(void) {
  struct io_uring_sqe* s = io_uring_get_sqe(&ring);
  if (!s) {  // full: hand the kernel what is queued, then go on
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  return s;
}

static void arm_accept(void) {
  struct io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, kAccept);
}

static void arm_recv(int fd) {
  struct io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kGroup;
  io_uring_sqe_set_data64(s, ((__u64)fd << 3) | kRecv);
}

static void give_back(unsigned short bid) {
  io_uring_buf_ring_add(bufs, space + (size_t)bid * kBufSize, kBufSize, bid,
                        io_uring_buf_ring_mask(kBufs), 0);
  io_uring_buf_ring_advance(bufs, 1);
}

static void enqueue(conn_t* c, int bid, int n) {
  len[bid] = n;
  next[bid] = -1;
  if (c->count++) {
    next[c->tail] = bid;
  } else {
    c->head = bid;
  }
  c->tail = bid;
}

static void dequeue(conn_t* c) {
  give_back((unsigned short)c->head);
  c->head = next[c->head];
  c->count--;
}

static void send_first(int fd) {
  conn_t* c = &conns[fd];
  struct io_uring_sqe* s = sqe();
  io_uring_prep_send(s, fd, space + (size_t)c->head * kBufSize + c->off,
                     (size_t)(len[c->head] - c->off), MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, ((__u64)fd << 3) | kSend);
  c->sending = 1;
}

// Closed only once nothing is in flight on it: no send, no armed receive
// (a completion for a closed descriptor could name its next owner).
static void maybe_close(int fd) {
  conn_t* c = &conns[fd];
  if (!c->closing || c->sending) return;
  while (c->count) dequeue(c);
  close(fd);
  memset(c, 0, sizeof *c);
}

// A paused connection receives again once its queue is down to a quarter.
static void resume_if_drained(int fd) {
  conn_t* c = &conns[fd];
  if (!c->paused || c->count > kPause / 4) return;
  c->pausing = c->paused = 0;
  arm_recv(fd);
}

static void on_recv(int fd, struct io_uring_cqe* cqe) {
  conn_t* c = &conns[fd];
  if (cqe->res > 0) {
    unsigned short bid = (unsigned short)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    enqueue(c, bid, cqe->res);
    if (c->count == 1 && !c->sending && !c->broken) send_first(fd);
    if (c->count >= kPause && !c->pausing) {  // far ahead of its replies
      struct io_uring_sqe* s = sqe();
      io_uring_prep_cancel64(s, ((__u64)fd << 3) | kRecv, 0);
      io_uring_sqe_set_data64(s, kCancel);
      c->pausing = 1;
    }
  }
  if (cqe->flags & IORING_CQE_F_MORE) return;
  if (c->pausing && cqe->res == -ECANCELED) {
    c->paused = 1;
    resume_if_drained(fd);
    return;
  }
  if (cqe->res == -ENOBUFS) {  // out of buffers: re-armed when one comes back
    c->rearm = 1;
    need_rearm = 1;
    return;
  }
  c->closing = 1;  // EOF or an error: the receive has ended
  maybe_close(fd);
}

static void on_send(int fd, int res) {
  conn_t* c = &conns[fd];
  c->sending = 0;
  if (res < 0) {    // the peer has gone: no more sends; the shutdown ends the
    c->broken = 1;  // receive, whose last completion closes it
    shutdown(fd, SHUT_RDWR);
    maybe_close(fd);
    return;
  }
  c->off += res;
  if (c->off == len[c->head]) {
    dequeue(c);
    c->off = 0;
  }
  if (c->count && !c->broken) send_first(fd);
  resume_if_drained(fd);
  maybe_close(fd);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  signal(SIGPIPE, SIG_IGN);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, NULL);
  int sfd = signalfd(-1, &term, SFD_CLOEXEC);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&a, sizeof a) || listen(lfd, 1024)) return perror("listen"), 1;

  struct io_uring_params p = {0};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (io_uring_queue_init_params(4096, &ring, &p) < 0) {
    memset(&p, 0, sizeof p);  // an older kernel: without them
    if (io_uring_queue_init_params(4096, &ring, &p) < 0) return perror("io_uring"), 1;
  }
  // The provided buffers: a ring of kBufs entries (liburing 2.3 registers
  // it; 2.4's io_uring_setup_buf_ring would also map it).
  if (posix_memalign((void**)&bufs, 4096, kBufs * sizeof(struct io_uring_buf))) return 1;
  struct io_uring_buf_reg reg = {
      .ring_addr = (unsigned long)bufs, .ring_entries = kBufs, .bgid = kGroup};
  if (io_uring_register_buf_ring(&ring, &reg, 0)) return fprintf(stderr, "buf ring\n"), 1;
  io_uring_buf_ring_init(bufs);
  space = malloc((size_t)kBufs * kBufSize);
  for (int i = 0; i < kBufs; ++i) give_back((unsigned short)i);
  conns = calloc(kMaxFd, sizeof *conns);

  arm_accept();
  static struct signalfd_siginfo si;
  struct io_uring_sqe* s = sqe();
  io_uring_prep_read(s, sfd, &si, sizeof si, 0);
  io_uring_sqe_set_data64(s, kSignal);
  printf("READY\n");
  fflush(stdout);

  for (;;) {
    io_uring_submit_and_wait(&ring, 1);
    struct io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      __u64 data = io_uring_cqe_get_data64(cqe);
      int fd = (int)(data >> 3);
      switch (data & 7) {
        case kAccept:
          if (cqe->res >= 0 && cqe->res < kMaxFd) {
            setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            arm_recv(cqe->res);
          } else if (cqe->res >= 0) {
            close(cqe->res);
          }
          if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
          break;
        case kRecv:
          on_recv(fd, cqe);
          break;
        case kSend:
          on_send(fd, cqe->res);
          break;
        case kSignal:
          return 0;
        case kCancel:
          break;
      }
    }
    io_uring_cq_advance(&ring, seen);
    if (need_rearm) {  // buffers may have come back in this batch
      need_rearm = 0;
      for (int fd = 0; fd < kMaxFd; ++fd) {
        if (conns[fd].rearm) {
          conns[fd].rearm = 0;
          arm_recv(fd);
        }
      }
    }
  }
}
