// libuv's UDP echo server, used the way its best users use it:
// UV_UDP_RECVMMSG (alloc_cb hands out one static buffer of 20 chunks of
// 64 KiB, libuv's batch), and each reply a uv_udp_send from a slot of a
// free list (the chunk is read into again before the send completes, so
// the bytes are copied; no malloc per datagram). libuv sends the first
// reply at once and the rest of a batch's with sendmmsg.
//   server_libuv PORT      (127.0.0.1; SIGTERM exits 0)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum { kChunks = 20, kChunk = 64 * 1024, kSlotData = 2048 };

typedef struct slot {
  uv_udp_send_t req;
  struct slot* next;  // in the free list
  char* data;         // data_small, or malloc'd for a longer datagram
  char data_small[kSlotData];
} slot_t;

static char recv_buf[kChunks * kChunk];
static slot_t* free_slots;
static uv_udp_t server;

static void on_alloc(uv_handle_t* h, size_t size, uv_buf_t* b) {
  (void)h;
  (void)size;
  *b = uv_buf_init(recv_buf, sizeof recv_buf);
}
static void on_sent(uv_udp_send_t* req, int status) {
  (void)status;
  slot_t* s = (slot_t*)req;
  if (s->data != s->data_small) free(s->data);
  s->next = free_slots;
  free_slots = s;
}
static void on_recv(uv_udp_t* h, ssize_t n, const uv_buf_t* b, const struct sockaddr* from,
                    unsigned flags) {
  // n == 0 with no sender: nothing more to read, or the buffer's last call.
  if (n < 0 || from == NULL || (flags & UV_UDP_PARTIAL)) return;
  slot_t* s = free_slots;
  if (s) {
    free_slots = s->next;
  } else {
    s = malloc(sizeof *s);
  }
  s->data = (size_t)n <= kSlotData ? s->data_small : malloc((size_t)n);
  memcpy(s->data, b->base, (size_t)n);
  uv_buf_t out = uv_buf_init(s->data, (unsigned)n);
  if (uv_udp_send(&s->req, h, &out, 1, from, on_sent) != 0) on_sent(&s->req, -1);
}
static void on_signal(uv_signal_t* h, int sig) {
  (void)sig;
  uv_stop(h->loop);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  uv_loop_t* loop = uv_default_loop();
  uv_udp_init_ex(loop, &server, AF_INET | UV_UDP_RECVMMSG);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
  if (uv_udp_bind(&server, (const struct sockaddr*)&addr, 0) != 0) return 1;
  if (!uv_udp_using_recvmmsg(&server)) return 1;
  uv_udp_recv_start(&server, on_alloc, on_recv);
  uv_signal_t sig;
  uv_signal_init(loop, &sig);
  uv_signal_start(&sig, on_signal, SIGTERM);
  printf("READY\n");
  fflush(stdout);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
