// The raw OpenSSL echo server: the limit for TLS over readiness-based I/O, in
// plain C. One thread, level-triggered epoll, one SSL per connection on a
// socket BIO. Each connection waits for whatever OpenSSL last asked for
// (WANT_READ: EPOLLIN, WANT_WRITE: EPOLLOUT); a reply that could not be
// written is kept and the connection stops reading until it is gone.
//   server_raw_openssl PORT CERT_PEM KEY_PEM [--no-tickets]
// (127.0.0.1, backlog 1024; TLS 1.2 minimum; SIGTERM exits 0). Session
// handling is OpenSSL's default (TLS 1.3 tickets, server cache) unless
// --no-tickets, which makes every handshake a full one.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  SSL* ssl;       // NULL: slot free
  int handshaken;
  uint32_t events;  // the epoll interest now registered
  char* pending;  // plaintext read but not yet taken by SSL_write, or NULL
  size_t len, off;
} conn_t;

static volatile sig_atomic_t stop;
static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static conn_t* conns;
static int nconns;
static int ep;

static void drop(int fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  SSL_free(conns[fd].ssl);
  ERR_clear_error();  // the next connection's SSL_get_error reads this queue
  free(conns[fd].pending);
  memset(&conns[fd], 0, sizeof conns[fd]);
  close(fd);
}

// The peer sent close_notify: answer with ours once, without waiting for it
// to go out (a full socket just loses it), and close.
static void finish(int fd) {
  SSL_shutdown(conns[fd].ssl);
  drop(fd);
}

static void want(int fd, uint32_t events) {
  if (conns[fd].events == events) return;
  conns[fd].events = events;
  struct epoll_event ce = {.events = events, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ce);
}

// After an SSL call failed: wait for what it wants, or give up on the
// connection. Returns 1 if the connection is still there.
static int blocked(int fd, int ret) {
  switch (SSL_get_error(conns[fd].ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      want(fd, EPOLLIN);
      return 1;
    case SSL_ERROR_WANT_WRITE:
      want(fd, EPOLLOUT);
      return 1;
    case SSL_ERROR_ZERO_RETURN:
      finish(fd);
      return 0;
    default:  // fatal (reset, EOF without close_notify, bad record): no shutdown allowed
      drop(fd);
      return 0;
  }
}

// Write data[0..len); if the socket fills, keep the rest in c->pending (it
// may already be there: from_pending). Returns 1 if all of it was taken, 0 if
// the connection is blocked or gone.
static int send_all(int fd, const char* data, size_t len, int from_pending) {
  conn_t* c = &conns[fd];
  size_t done = 0;
  while (done < len) {
    int w = SSL_write(c->ssl, data + done, (int)(len - done));
    if (w > 0) {  // partial writes are on: each return is bytes taken for good
      done += (size_t)w;
      continue;
    }
    if (!blocked(fd, w)) return 0;
    if (from_pending) {
      c->off += done;
    } else {  // the shared read buffer: keep a copy of the rest
      c->len = len - done;
      c->off = 0;
      c->pending = malloc(c->len);
      memcpy(c->pending, data + done, c->len);
    }
    return 0;
  }
  if (from_pending) {
    free(c->pending);
    c->pending = NULL;
  }
  return 1;
}

static void serve(int fd) {
  static char buf[65536];
  conn_t* c = &conns[fd];
  if (!c->handshaken) {
    int r = SSL_accept(c->ssl);
    if (r <= 0) {
      blocked(fd, r);
      return;
    }
    c->handshaken = 1;
  }
  // A retry must pass the same bytes; ACCEPT_MOVING_WRITE_BUFFER lets them
  // be the copy in c->pending rather than the read buffer they came from.
  if (c->pending && !send_all(fd, c->pending + c->off, c->len - c->off, 1)) return;
  // Drain until OpenSSL says WANT_READ: it may hold decrypted bytes (or, with
  // read-ahead, whole records) that epoll cannot know about.
  for (;;) {
    int r = SSL_read(c->ssl, buf, sizeof buf);
    if (r <= 0) {
      blocked(fd, r);
      return;
    }
    if (!send_all(fd, buf, (size_t)r, 0)) return;
  }
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--no-tickets") != 0)) {
    fprintf(stderr, "usage: server_raw_openssl PORT CERT_PEM KEY_PEM [--no-tickets]\n");
    return 2;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigset_t term, waiting;  // SIGTERM only inside epoll_pwait: no lost wake-up
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &waiting);
  signal(SIGPIPE, SIG_IGN);  // a socket BIO writes with write(2)

  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read as much as the socket has, not a record header and then its body:
  // half the read(2) calls, as the memory-BIO servers get for free.
  SSL_CTX_set_read_ahead(ctx, 1);
  if (argc == 5) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);       // no TLS 1.2 tickets, no stateless 1.3 ones
    SSL_CTX_set_num_tickets(ctx, 0);                  // no TLS 1.3 (stateful) tickets either
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // nor session-ID resumption
  }

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&a, sizeof a) || listen(lfd, 1024)) return perror("listen"), 1;
  nconns = 1 << 16;
  conns = calloc((size_t)nconns, sizeof *conns);
  ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  printf("READY\n");
  fflush(stdout);
  struct epoll_event events[256];
  while (!stop) {
    int n = epoll_pwait(ep, events, 256, -1, &waiting);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd != lfd) {
        // An earlier event in this batch may have dropped fd (and accept may
        // have reused it): a stale event is a spurious wake-up, harmless.
        if (conns[fd].ssl) serve(fd);
        continue;
      }
      int c;
      while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        SSL* ssl = c < nconns ? SSL_new(ctx) : NULL;
        if (!ssl) {
          close(c);
          continue;
        }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        SSL_set_fd(ssl, c);
        conns[c].ssl = ssl;
        conns[c].events = EPOLLIN;  // the ClientHello comes first
        struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
      }
    }
  }
  return 0;
}
