// libuv's echo server, used the way its best users use it: alloc_cb hands
// out one shared read buffer (a connection owns no buffer while idle),
// uv_try_write sends, and only what the socket does not take is copied into
// a buffer of the write request's own (reading stops until it is written).
//   server_libuv PORT      (127.0.0.1, backlog 1024; SIGTERM exits 0)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct {
  uv_tcp_t tcp;
} conn_t;

typedef struct {
  uv_write_t req;
  char* copy;  // the unsent rest, owned until the write completes
} write_t;

static uv_loop_t* loop;
static char shared_buf[65536];  // every read goes here; dead once on_read returns

static void on_close(uv_handle_t* h) {
  free(h);
}
static void on_alloc(uv_handle_t* h, size_t size, uv_buf_t* b) {
  (void)h;
  (void)size;
  *b = uv_buf_init(shared_buf, sizeof shared_buf);
}
static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b);
static void on_written(uv_write_t* req, int status) {
  write_t* w = (write_t*)req;
  uv_stream_t* s = req->handle;
  free(w->copy);
  free(w);
  if (status < 0) {
    uv_close((uv_handle_t*)s, on_close);
    return;
  }
  uv_read_start(s, on_alloc, on_read);
}
static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
  if (n < 0) {
    uv_close((uv_handle_t*)s, on_close);
    return;
  }
  if (n == 0) return;
  uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
  int sent = uv_try_write(s, &out, 1);
  if (sent == n) return;
  if (sent < 0 && sent != UV_EAGAIN) {
    uv_close((uv_handle_t*)s, on_close);
    return;
  }
  if (sent < 0) sent = 0;
  write_t* w = malloc(sizeof *w);
  w->copy = malloc((size_t)(n - sent));
  memcpy(w->copy, b->base + sent, (size_t)(n - sent));
  uv_buf_t rest = uv_buf_init(w->copy, (unsigned)(n - sent));
  uv_read_stop(s);  // back-pressure: read again once the rest is written
  uv_write(&w->req, s, &rest, 1, on_written);
}
static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  conn_t* c = malloc(sizeof *c);
  uv_tcp_init(loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t*)c) != 0) {
    uv_close((uv_handle_t*)c, on_close);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t*)c, on_alloc, on_read);
}
static void on_signal(uv_signal_t* h, int sig) {
  (void)sig;
  uv_stop(h->loop);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
  uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0);
  if (uv_listen((uv_stream_t*)&server, 1024, on_connection) != 0) return 1;
  uv_signal_t sig;
  uv_signal_init(loop, &sig);
  uv_signal_start(&sig, on_signal, SIGTERM);
  printf("READY\n");
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
