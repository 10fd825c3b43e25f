/*
 * The machine's own limits, for the benchmark to compare shmpipe with:
 *   futex N   round trips between two processes that sleep on futexes
 *   spin N    round trips between two processes that busy-poll
 *   unix N    round trips of 64 bytes over a Unix socket pair
 *   memcpy N  copies of 1 MiB (bandwidth)
 * Prints one JSON object: {"case": ..., "value": ns per op or MiB/s, "unit": ...}.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct shared {
  _Alignas(64) _Atomic uint32_t ping;
  _Alignas(64) _Atomic uint32_t pong;
};

static void futex_wait(_Atomic uint32_t *w, uint32_t v) {
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, v, NULL, NULL, 0);
}
static void futex_wake(_Atomic uint32_t *w) {
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Each side bumps its word and wakes the other, then sleeps until the
 * other's word moves: two wakes and two sleeps per round trip. */
static void await_change(_Atomic uint32_t *w, uint32_t seen, int sleep) {
  while (atomic_load(w) == seen) {
    if (sleep) futex_wait(w, seen);
    else __builtin_ia32_pause();
  }
}

static double pingpong(long n, int sleep) {
  struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) exit(1);
  pid_t child = fork();
  if (child == 0) {
    for (uint32_t i = 0; i < (uint32_t)n; i++) {
      await_change(&s->ping, i, sleep);
      atomic_store(&s->pong, i + 1);
      if (sleep) futex_wake(&s->pong);
    }
    _exit(0);
  }
  double t0 = now_ns();
  for (uint32_t i = 0; i < (uint32_t)n; i++) {
    atomic_store(&s->ping, i + 1);
    if (sleep) futex_wake(&s->ping);
    await_change(&s->pong, i, sleep);
  }
  double dt = now_ns() - t0;
  waitpid(child, NULL, 0);
  return dt / (double)n;
}

static double unix_pingpong(long n) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) exit(1);
  char buf[64] = {0};
  pid_t child = fork();
  if (child == 0) {
    for (long i = 0; i < n; i++) {
      if (read(sv[1], buf, 64) != 64 || write(sv[1], buf, 64) != 64) _exit(1);
    }
    _exit(0);
  }
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    if (write(sv[0], buf, 64) != 64 || read(sv[0], buf, 64) != 64) exit(1);
  }
  double dt = now_ns() - t0;
  waitpid(child, NULL, 0);
  return dt / (double)n;
}

static double memcpy_bandwidth(long n) {
  size_t size = 1 << 20;
  char *a = malloc(size), *b = malloc(size);
  memset(a, 1, size);
  memset(b, 2, size);
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    memcpy(i % 2 ? a : b, i % 2 ? b : a, size);
    __asm__ __volatile__("" ::: "memory");
  }
  double dt = now_ns() - t0;
  free(a);
  free(b);
  return (double)n * (double)size / (1 << 20) / (dt / 1e9);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s futex|spin|unix|memcpy N\n", argv[0]);
    return 2;
  }
  long n = atol(argv[2]);
  const char *mode = argv[1];
  if (strcmp(mode, "futex") == 0)
    printf("{\"case\":\"C futex ping-pong\",\"value\":%.0f,\"unit\":\"ns/round trip\"}\n", pingpong(n, 1));
  else if (strcmp(mode, "spin") == 0)
    printf("{\"case\":\"C spin ping-pong\",\"value\":%.0f,\"unit\":\"ns/round trip\"}\n", pingpong(n, 0));
  else if (strcmp(mode, "unix") == 0)
    printf("{\"case\":\"C Unix socket ping-pong (64 B)\",\"value\":%.0f,\"unit\":\"ns/round trip\"}\n", unix_pingpong(n));
  else if (strcmp(mode, "memcpy") == 0)
    printf("{\"case\":\"C memcpy 1 MiB\",\"value\":%.0f,\"unit\":\"MiB/s\"}\n", memcpy_bandwidth(n));
  else
    return 2;
  return 0;
}
