// libevent's echo server, as its book writes it: a bufferevent per
// connection whose read callback moves the input buffer to the output.
//   server_libevent PORT      (127.0.0.1, backlog 1024; SIGTERM exits 0)
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_read(struct bufferevent* bev, void* ctx) {
  (void)ctx;
  evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}
static void on_event(struct bufferevent* bev, short what, void* ctx) {
  (void)ctx;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) bufferevent_free(bev);
}
static void on_accept(struct evconnlistener* l, evutil_socket_t fd, struct sockaddr* sa, int len,
                      void* ctx) {
  (void)l, (void)sa, (void)len;
  struct event_base* base = ctx;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct bufferevent* bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(bev, on_read, NULL, on_event, NULL);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}
static void on_signal(evutil_socket_t s, short w, void* ctx) {
  (void)s, (void)w;
  event_base_loopbreak(ctx);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct event_base* base = event_base_new();
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)atoi(argv[1]));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct evconnlistener* l =
      evconnlistener_new_bind(base, on_accept, base, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                              1024, (struct sockaddr*)&a, sizeof a);
  if (!l) return 1;
  struct event* sig = evsignal_new(base, SIGTERM, on_signal, base);
  event_add(sig, NULL);
  printf("READY\n");
  fflush(stdout);
  event_base_dispatch(base);
  return 0;
}
