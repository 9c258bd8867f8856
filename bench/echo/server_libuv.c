// libuv's echo server, as its guide writes it: uv_read_start with one
// buffer per connection, uv_try_write, uv_write for what is left (reading
// stops until it is written).
//   server_libuv PORT      (127.0.0.1, backlog 1024; SIGTERM exits 0)
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

typedef struct {
  uv_tcp_t tcp;
  uv_write_t req;
  char buf[65536];
} conn_t;

static uv_loop_t* loop;

static void on_close(uv_handle_t* h) {
  free(h);
}
static void on_alloc(uv_handle_t* h, size_t size, uv_buf_t* b) {
  (void)size;
  conn_t* c = (conn_t*)h;
  *b = uv_buf_init(c->buf, sizeof c->buf);
}
static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b);
static void on_written(uv_write_t* req, int status) {
  conn_t* c = (conn_t*)req->handle;
  if (status < 0) {
    uv_close((uv_handle_t*)c, on_close);
    return;
  }
  uv_read_start((uv_stream_t*)c, on_alloc, on_read);
}
static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
  conn_t* c = (conn_t*)s;
  if (n < 0) {
    uv_close((uv_handle_t*)s, on_close);
    return;
  }
  if (n == 0) return;
  uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
  int w = uv_try_write(s, &out, 1);
  if (w == n) return;
  if (w < 0 && w != UV_EAGAIN) {
    uv_close((uv_handle_t*)s, on_close);
    return;
  }
  if (w > 0) out = uv_buf_init(b->base + w, (unsigned)(n - w));
  uv_read_stop(s);  // the buffer is in use until the write completes
  uv_write(&c->req, s, &out, 1, on_written);
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
