// Open-loop (fixed-rate) HTTP/1.1 load against one or more targets at once; the latency instrument of
// `npm run bench` (issue 11: "added latency at a fixed 1,000 requests/s: p99 within 1 ms of direct").
//
// - Requests are scheduled at `rate` per second per target whatever the answers do, and each latency is
//   measured from the request's *scheduled* time, so a stalled server shows up as queueing in the
//   percentiles instead of being hidden (coordinated omission).
// - Several targets are loaded in the same run: at each scheduled time one request goes to every target
//   (which one goes first rotates), so whatever delays the client lands on all of them alike and the
//   difference between their percentiles is the targets' own.
// - C rather than Node: a Node client (undici or node:http) added 4–40 ms to its own p99 on this machine
//   (scavenges, 1 ms timer granularity, bursts after a stall that then queue in the slower target), far
//   more than the 1 ms being measured. This one sleeps on a timerfd to the microsecond and allocates
//   nothing per request.
// - The first `warmup` seconds are sent at the same rate and left out of the percentiles (the targets'
//   JIT, connection set-up).
//
// Usage: open-loop <rate> <seconds> <warmup seconds> <http://ipv4:port/path>[|Header: value] ...
//   → one JSON line: {"rate":…,"seconds":…,"warmup":…,"targets":[{"url":…,"requests":…,"errors":…,
//     "non2xx":…,"p50":…,"p90":…,"p99":…,"p999":…,"max":…}]}  (milliseconds)
// Build: cc -O2 -o open-loop open-loop.c   (suite.mjs does this itself)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 8
#define MAX_CONNS 256
#define RBUF 16384
#define DEADLINE_NS (30LL * 1000000000LL)

typedef struct Conn Conn;
typedef struct Target Target;

struct Conn {
  Target *t;
  int fd;
  int connected;
  int busy;          // a request is in flight (or waiting for the connect)
  long idx;          // its index
  int64_t scheduled; // its scheduled time
  int wlen, woff;    // bytes of the request still to write
  char rbuf[RBUF];
  int rlen;
  long need;         // bytes of the whole answer once the head is parsed; -1 before
  int status;
};

struct Target {
  char url[512];
  struct sockaddr_in addr;
  char req[2048];
  int reqlen;
  Conn conns[MAX_CONNS];
  int nconns;
  int idle[MAX_CONNS];
  int nidle;
  double *lat; // ms, per request index; < 0 while pending
  long errors, non2xx;
};

static Target targets[MAX_TARGETS];
static int ntargets;
static int ep;
static long total, skip, completed;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *msg) {
  fprintf(stderr, "open-loop: %s\n", msg);
  exit(2);
}

static void parse_target(Target *t, const char *spec) {
  const char *bar = strchr(spec, '|');
  size_t ulen = bar ? (size_t)(bar - spec) : strlen(spec);
  if (ulen >= sizeof t->url) die("url too long");
  memcpy(t->url, spec, ulen);
  t->url[ulen] = 0;
  if (strncmp(t->url, "http://", 7) != 0) die("only http:// urls");
  char host[64];
  const char *h = t->url + 7;
  const char *colon = strchr(h, ':');
  const char *slash = strchr(h, '/');
  if (!colon || !slash || colon > slash || (size_t)(colon - h) >= sizeof host) die("url must be http://<ipv4>:<port>/<path>");
  memcpy(host, h, colon - h);
  host[colon - h] = 0;
  memset(&t->addr, 0, sizeof t->addr);
  t->addr.sin_family = AF_INET;
  t->addr.sin_port = htons((uint16_t)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &t->addr.sin_addr) != 1) die("host must be an IPv4 address");
  char extra[600] = "";
  if (bar) snprintf(extra, sizeof extra, "%s\r\n", bar + 1);
  t->reqlen = snprintf(t->req, sizeof t->req, "GET %s HTTP/1.1\r\nHost: %.*s\r\n%s\r\n", slash, (int)(slash - h), h, extra);
  t->lat = malloc(sizeof(double) * (size_t)total);
  for (long i = 0; i < total; i++) t->lat[i] = -1;
}

static void finish_request(Conn *c, int ok) {
  Target *t = c->t;
  if (!ok) t->errors++;
  else if (c->status < 200 || c->status > 299) t->non2xx++;
  t->lat[c->idx] = (double)(now_ns() - c->scheduled) / 1e6;
  c->busy = 0;
  completed++;
}

static void close_conn(Conn *c) {
  if (!c->busy) {
    // An idle socket the server closed: out of the idle stack, so it is reopened only when needed.
    Target *t = c->t;
    int me = (int)(c - t->conns);
    for (int i = 0; i < t->nidle; i++)
      if (t->idle[i] == me) {
        t->idle[i] = t->idle[--t->nidle];
        break;
      }
  }
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  c->connected = 0;
  c->rlen = 0;
  c->need = -1;
}

static void fail_conn(Conn *c) {
  int was_busy = c->busy;
  close_conn(c);
  if (was_busy) finish_request(c, 0);
}

static void flush_write(Conn *c) {
  while (c->woff < c->wlen) {
    ssize_t n = write(c->fd, c->t->req + c->woff, (size_t)(c->wlen - c->woff));
    if (n < 0) {
      if (errno == EAGAIN) return;
      fail_conn(c);
      return;
    }
    c->woff += (int)n;
  }
}

static int open_conn(Conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->connected = 0;
  c->rlen = 0;
  c->need = -1;
  if (connect(c->fd, (struct sockaddr *)&c->t->addr, sizeof c->t->addr) < 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  return 0;
}

static void send_one(Target *t, long idx, int64_t scheduled) {
  Conn *c = NULL;
  if (t->nidle > 0) c = &t->conns[t->idle[--t->nidle]];
  if (!c) {
    for (int i = 0; i < t->nconns; i++)
      if (t->conns[i].fd < 0 && !t->conns[i].busy) {
        c = &t->conns[i];
        break;
      }
    if (!c && t->nconns < MAX_CONNS) {
      c = &t->conns[t->nconns++];
      c->t = t;
    }
    if (!c || open_conn(c) < 0) {
      // Every connection is busy: the client would become the queue. Counted, never hidden.
      t->errors++;
      t->lat[idx] = (double)DEADLINE_NS / 1e6;
      completed++;
      return;
    }
  }
  c->busy = 1;
  c->idx = idx;
  c->scheduled = scheduled;
  c->woff = 0;
  c->wlen = t->reqlen;
  c->rlen = 0;
  c->need = -1;
  if (c->connected) flush_write(c);
}

// Parses what has arrived; returns 1 when the whole answer is in (Content-Length framing only: the
// bench upstream and the gateway in front of it always send one).
static int parse(Conn *c) {
  if (c->need < 0) {
    c->rbuf[c->rlen < RBUF ? c->rlen : RBUF - 1] = 0;
    char *end = strstr(c->rbuf, "\r\n\r\n");
    if (!end) return 0;
    if (c->rlen < 12) return -1;
    c->status = atoi(c->rbuf + 9);
    long len = -1;
    for (char *line = strstr(c->rbuf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
      if (strncasecmp(line + 2, "content-length:", 15) == 0) len = atol(line + 17);
    }
    if (len < 0) return -1;
    c->need = (end + 4 - c->rbuf) + len;
  }
  return c->rlen >= c->need ? 1 : 0;
}

static void on_event(Conn *c, uint32_t events) {
  if (c->fd < 0) return;
  if (!c->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      fail_conn(c);
      return;
    }
    c->connected = 1;
  }
  if (events & EPOLLOUT && c->busy) flush_write(c);
  if (c->fd < 0) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    for (;;) {
      if (c->rlen >= RBUF - 1) {
        fail_conn(c); // an answer larger than the buffer: not what this benchmark sends
        return;
      }
      ssize_t n = read(c->fd, c->rbuf + c->rlen, (size_t)(RBUF - 1 - c->rlen));
      if (n < 0) {
        if (errno == EAGAIN) break;
        fail_conn(c);
        return;
      }
      if (n == 0) {
        fail_conn(c); // closed: an error when a request was in flight, a lost idle socket otherwise
        return;
      }
      c->rlen += (int)n;
    }
    if (!c->busy) return;
    int r = parse(c);
    if (r < 0) {
      fail_conn(c);
    } else if (r == 1) {
      finish_request(c, 1);
      c->rlen = 0;
      c->need = -1;
      c->t->idle[c->t->nidle++] = (int)(c - c->t->conns);
    }
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *s, long n, double p) {
  long i = (long)((p / 100.0) * (double)n + 0.999999999) - 1;
  if (i < 0) i = 0;
  if (i > n - 1) i = n - 1;
  return s[i];
}

int main(int argc, char **argv) {
  if (argc < 5) die("usage: open-loop <rate> <seconds> <warmup seconds> <http://ipv4:port/path>[|Header: value] ...");
  double rate = atof(argv[1]), seconds = atof(argv[2]), warmup = atof(argv[3]);
  if (!(rate > 0) || !(seconds > 0) || !(warmup >= 0)) die("rate and seconds must be > 0, warmup >= 0");
  ntargets = argc - 4;
  if (ntargets > MAX_TARGETS) die("too many targets");
  skip = (long)(rate * warmup + 0.5);
  total = skip + (long)(rate * seconds + 0.5);
  for (int i = 0; i < ntargets; i++) parse_target(&targets[i], argv[4 + i]);

  ep = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

  int64_t interval = (int64_t)(1e9 / rate);
  int64_t start = now_ns() + 1000000;
  long next = 0;
  int64_t deadline = start + interval * total + DEADLINE_NS;
  struct epoll_event evs[256];
  while (completed < total * ntargets) {
    int64_t now = now_ns();
    if (now > deadline) break;
    while (next < total && start + next * interval <= now) {
      int64_t scheduled = start + next * interval;
      for (int k = 0; k < ntargets; k++) send_one(&targets[(next + k) % ntargets], next, scheduled);
      next++;
    }
    if (next < total) {
      int64_t at = start + next * interval;
      struct itimerspec its = {.it_value = {.tv_sec = at / 1000000000LL, .tv_nsec = at % 1000000000LL}};
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int n = epoll_wait(ep, evs, 256, next < total ? -1 : 100);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        uint64_t x;
        ssize_t r = read(tfd, &x, sizeof x);
        (void)r;
        continue;
      }
      on_event(evs[i].data.ptr, evs[i].events);
    }
  }

  printf("{\"rate\":%g,\"seconds\":%g,\"warmup\":%g,\"targets\":[", rate, seconds, warmup);
  for (int k = 0; k < ntargets; k++) {
    Target *t = &targets[k];
    for (long i = 0; i < total; i++)
      if (t->lat[i] < 0) {
        t->errors++; // never answered before the deadline
        t->lat[i] = (double)DEADLINE_NS / 1e6;
      }
    long n = total - skip;
    double *s = t->lat + skip;
    qsort(s, (size_t)n, sizeof(double), cmp);
    printf("%s{\"url\":\"%s\",\"requests\":%ld,\"errors\":%ld,\"non2xx\":%ld,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}",
           k ? "," : "", t->url, n, t->errors, t->non2xx, pct(s, n, 50), pct(s, n, 90), pct(s, n, 99), pct(s, n, 99.9), s[n - 1]);
  }
  printf("]}\n");
  return 0;
}
