/*
 * The machine's own limits, for the benchmark to compare shmpipe with:
 *   futex N   round trips between two processes that sleep on futexes
 *   spin N    round trips between two processes that busy-poll
 *   unix N    round trips of 64 bytes over a Unix socket pair
 *   memcpy N [MIB]  copies of 1 MiB, or of MIB MiB (bandwidth; a large copy
 *             is the ceiling of a network transfer of as many bytes)
 *   publish-memcpy SIZE N   the floor of publishing SIZE bytes: a memcpy of
 *                           them into a new /dev/shm segment (shm_open,
 *                           ftruncate, mmap, copy: first-touch faults
 *                           included; also with posix_fallocate and
 *                           MAP_POPULATE), beside a memcpy into memory
 *                           touched before; rounds alternate, median of N
 *   record-lines K|core N   round trips of a 64 B record laid out in K cache
 *             lines (1: a 48 B payload beside its commit mark; 2: the mark
 *             in a header line, the payload in the next; 3: shmpipe's
 *             layout, a head word, then the record header, then the
 *             payload), each side busy-polling, reading the payload and
 *             writing its own: the floor of a record protocol of that
 *             shape, no library; or (core) through the core. Given as a
 *             ratio to the one-word spin ping-pong, the two alternating in
 *             5 rounds in this process (median): the host moves this VM's
 *             CPUs between runs, and a line's trip between them changes
 *             with it
 * and the same through the core (libshmpipe's calls, as every binding makes them):
 *   core-rtt blocking|busy-poll N   round trips of 64 B over two channels
 *   core-oneway SIZE N              N records of SIZE bytes one way, a call per record
 *   core-oneway-batch SIZE N        the same, up to 256 records per call on each side
 *   core-handoff SIZE IDLE_MS N     commit -> seen: the writer claims SIZE
 *                                   bytes, fills them, waits IDLE_MS, commits;
 *                                   the reader (default spin) notes when
 *                                   shmp_reader_next returned; median of N
 * With SHMPIPE_BENCH_CPUS=A,B in the environment, the first process runs
 * on CPU A and the process it forks on CPU B (sched_setaffinity): the two
 * sides of a round trip never share a core.
 * Prints one JSON object: {"case": ..., "value": ns per op or MiB/s, "unit": ...}.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
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

#include "shmpipe.h"

/* Pins this process to the `which`-th (0 or 1) CPU of SHMPIPE_BENCH_CPUS. */
static void pin(int which) {
  const char *cpus = getenv("SHMPIPE_BENCH_CPUS");
  if (cpus == NULL || *cpus == 0) return;
  int a = -1, b = -1;
  if (sscanf(cpus, "%d,%d", &a, &b) < 1) return;
  int cpu = which == 0 ? a : b;
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
}

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

/* Round trips each two-process case makes before it starts timing. */
#define WARM_UP 2000

static double pingpong(long n, int sleep) {
  struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED) exit(1);
  pid_t child = fork();
  if (child == 0) {
    pin(1);
    for (uint32_t i = 0; i < (uint32_t)n + WARM_UP; i++) {
      await_change(&s->ping, i, sleep);
      atomic_store(&s->pong, i + 1);
      if (sleep) futex_wake(&s->pong);
    }
    _exit(0);
  }
  double t0 = 0;
  for (uint32_t i = 0; i < (uint32_t)n + WARM_UP; i++) {
    if (i == WARM_UP) t0 = now_ns(); /* the child runs, pinned, and both have warm caches */
    atomic_store(&s->ping, i + 1);
    if (sleep) futex_wake(&s->ping);
    await_change(&s->pong, i, sleep);
  }
  double dt = now_ns() - t0;
  waitpid(child, NULL, 0);
  return dt / (double)n;
}

/* A one-way ring of 64 slots for record_lines: each slot is a header line
 * (the commit mark, then a 48 B payload when it fits there) and a payload
 * line; `head` is the 3-line layout's published position. */
struct line_ring {
  _Alignas(64) _Atomic uint64_t head;
  struct {
    _Alignas(64) _Atomic uint64_t mark;
    uint64_t len;
    uint8_t inline_payload[48];
    _Alignas(64) uint8_t payload[64];
  } slot[64];
};

/* Sends message `seq` (from 1) of `lines` cache lines; seq_cst stores, as a
 * commit that must be ordered before a look at sleepers is. */
static void lines_send(struct line_ring *ring, uint64_t seq, int lines, const uint8_t *payload) {
  __typeof__(ring->slot[0]) *slot = &ring->slot[seq % 64];
  if (lines == 1) {
    memcpy(slot->inline_payload, payload, 48);
    atomic_store(&slot->mark, seq);
    return;
  }
  memcpy(slot->payload, payload, 64);
  slot->len = 64;
  if (lines == 2) {
    atomic_store(&slot->mark, seq);
    return;
  }
  atomic_store_explicit(&slot->mark, seq, memory_order_relaxed);
  atomic_store(&ring->head, seq);
}

/* Waits for message `seq` and copies its payload out (the reader reads it). */
static void lines_receive(struct line_ring *ring, uint64_t seq, int lines, uint8_t *payload) {
  __typeof__(ring->slot[0]) *slot = &ring->slot[seq % 64];
  _Atomic uint64_t *poll = lines == 3 ? &ring->head : &slot->mark;
  while (atomic_load_explicit(poll, memory_order_acquire) != seq) __builtin_ia32_pause();
  if (lines == 3 && (atomic_load_explicit(&slot->mark, memory_order_relaxed) != seq || slot->len != 64)) exit(1);
  memcpy(payload, lines == 1 ? slot->inline_payload : slot->payload, lines == 1 ? 48 : 64);
  __asm__ __volatile__("" ::: "memory");
}

static double record_lines(int lines, long n) {
  struct line_ring *rings = mmap(NULL, 2 * sizeof *rings, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (rings == MAP_FAILED) exit(1);
  uint8_t payload[64] = {1};
  pid_t child = fork();
  if (child == 0) {
    pin(1);
    for (uint64_t seq = 1; seq <= (uint64_t)n + WARM_UP; seq++) {
      lines_receive(&rings[0], seq, lines, payload);
      lines_send(&rings[1], seq, lines, payload);
    }
    _exit(0);
  }
  double t0 = 0;
  for (uint64_t seq = 1; seq <= (uint64_t)n + WARM_UP; seq++) {
    if (seq == WARM_UP + 1) t0 = now_ns();
    lines_send(&rings[0], seq, lines, payload);
    lines_receive(&rings[1], seq, lines, payload);
  }
  double dt = now_ns() - t0;
  waitpid(child, NULL, 0);
  munmap(rings, 2 * sizeof *rings);
  return dt / (double)n;
}

static double unix_pingpong(long n) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) exit(1);
  char buf[64] = {0};
  pid_t child = fork();
  if (child == 0) {
    pin(1);
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

static double memcpy_bandwidth(long n, size_t size) {
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

/* The ways `publish-memcpy` writes SIZE bytes, each round in turn. */
enum { INTO_TOUCHED, INTO_NEW_SEGMENT, INTO_NEW_POPULATED, PUBLISH_WAYS };

/* Seconds to copy `size` bytes of `from` into `way`'s destination: for a
 * new segment, from shm_open to the end of the copy (what any publisher
 * pays); unmapping and removing it afterwards is not counted. */
static double copy_once(int way, const char *from, char *touched, size_t size) {
  if (way == INTO_TOUCHED) {
    double t0 = now_ns();
    memcpy(touched, from, size);
    __asm__ __volatile__("" ::: "memory");
    return (now_ns() - t0) / 1e9;
  }
  char path[64];
  snprintf(path, sizeof path, "/shmpipe.bench-c-publish-%d", (int)getpid());
  double t0 = now_ns();
  int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    perror("baselines: shm_open");
    exit(1);
  }
  int populate = way == INTO_NEW_POPULATED;
  if ((populate ? posix_fallocate(fd, 0, (off_t)size) : ftruncate(fd, (off_t)size)) != 0) {
    fprintf(stderr, "baselines: could not size the segment\n");
    shm_unlink(path);
    exit(1);
  }
  char *to = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
  if (to == MAP_FAILED) {
    perror("baselines: mmap");
    shm_unlink(path);
    exit(1);
  }
  memcpy(to, from, size);
  __asm__ __volatile__("" ::: "memory");
  double seconds = (now_ns() - t0) / 1e9;
  munmap(to, size);
  close(fd);
  shm_unlink(path);
  return seconds;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void publish_memcpy(uint64_t size, long n) {
  static const char *const label[PUBLISH_WAYS] = {
      [INTO_TOUCHED] = "C memcpy into memory touched before",
      [INTO_NEW_SEGMENT] = "C memcpy into a new /dev/shm segment (shm_open, ftruncate, mmap, copy)",
      [INTO_NEW_POPULATED] = "C memcpy into a new /dev/shm segment (posix_fallocate, mmap MAP_POPULATE, copy)",
  };
  char *from = malloc(size), *touched = malloc(size);
  double *took = calloc((size_t)n * PUBLISH_WAYS, sizeof *took);
  if (from == NULL || touched == NULL || took == NULL) exit(1);
  memset(from, 7, size);
  memset(touched, 1, size);
  for (long i = 0; i < n; i++) /* the ways take turns, so a burst of load elsewhere hits them alike */
    for (int way = 0; way < PUBLISH_WAYS; way++) took[way * n + i] = copy_once(way, from, touched, size);
  for (int way = 0; way < PUBLISH_WAYS; way++) {
    qsort(took + way * n, (size_t)n, sizeof *took, by_value);
    double median = took[way * n + n / 2];
    printf("{\"case\":\"%s, %llu B\",\"value\":%.4f,\"unit\":\"s\",\"mibps\":%.0f}\n", label[way],
           (unsigned long long)size, median, (double)size / (1 << 20) / median);
  }
  free(took);
  free(touched);
  free(from);
}

/* ---- through the core ----------------------------------------------------- */

static void die(const char *what, const shmp_error *err) {
  fprintf(stderr, "baselines: %s: %s\n", what, err->message);
  exit(1);
}

static shmp_segment *create(const char *name, uint64_t capacity) {
  shmp_error err = {0};
  shmp_segment *s = shmp_segment_create(name, capacity, 0600, &err);
  if (s == NULL) die("create", &err);
  return s;
}

static shmp_segment *open_segment(const char *name) {
  shmp_error err = {0};
  shmp_segment *s = shmp_segment_open(name, 0, INT64_C(5000000000), &err);
  if (s == NULL) die("open", &err);
  return s;
}

/* Where the per-record calls below write a failure: one per process, as a
 * binding keeps one per endpoint (zeroing 800 bytes per record measured
 * 15 % of a round trip). */
static shmp_error record_err;

/* One record, waited for as `spin` says; -1 at end of stream. */
static int64_t receive(shmp_reader *r, uint32_t spin) {
  shmp_error *const err = &record_err;
  int64_t len = shmp_reader_next(r, NULL, -1, spin, err);
  if (len == SHMP_E_CLOSED) return -1;
  if (len < 0) die("recv", err);
  shmp_reader_release(r, err);
  return len;
}

static void send_record(shmp_writer *w, const void *data, uint64_t len, uint32_t spin) {
  if (shmp_writer_send(w, data, len, -1, spin, &record_err) != SHMP_OK) die("send", &record_err);
}

/* The parent writes ping and reads pong; the child echoes. A first record
 * from the child says both of its ends are attached. */
static double core_rtt(long n, uint32_t spin) {
  char ping[64], pong[64];
  snprintf(ping, sizeof ping, "bench-c-ping-%d", (int)getpid());
  snprintf(pong, sizeof pong, "bench-c-pong-%d", (int)getpid());
  shmp_error err = {0};
  shmp_segment *ps = create(ping, 1 << 16), *qs = create(pong, 1 << 16);
  shmp_writer *w = shmp_writer_attach(ps, &err);
  shmp_reader *r = shmp_reader_attach(qs, &err);
  if (w == NULL || r == NULL) die("attach", &err);
  pid_t child = fork();
  if (child == 0) {
    pin(1);
    shmp_segment *cps = open_segment(ping), *cqs = open_segment(pong);
    shmp_reader *cr = shmp_reader_attach(cps, &err);
    shmp_writer *cw = shmp_writer_attach(cqs, &err);
    if (cr == NULL || cw == NULL) die("attach", &err);
    char buf[64] = {0};
    send_record(cw, buf, sizeof buf, spin);
    while (receive(cr, spin) >= 0) send_record(cw, buf, sizeof buf, spin);
    shmp_writer_close(cw);
    shmp_reader_close(cr);
    _exit(0);
  }
  char record[64] = {0};
  receive(r, spin);
  for (long i = 0; i < WARM_UP; i++) {
    send_record(w, record, sizeof record, spin);
    receive(r, spin);
  }
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    send_record(w, record, sizeof record, spin);
    receive(r, spin);
  }
  double dt = now_ns() - t0;
  shmp_writer_close(w);
  waitpid(child, NULL, 0);
  shmp_reader_close(r);
  shmp_unlink(ping, NULL);
  shmp_unlink(pong, NULL);
  return dt / (double)n;
}

/* In a forked child: on CPU 1, attached as a reader of `name`; tells the
 * parent through `ready` that the writer may start. */
static shmp_reader *reader_child(const char *name, int ready) {
  shmp_error err = {0};
  pin(1);
  shmp_reader *r = shmp_reader_attach(open_segment(name), &err);
  if (r == NULL) die("attach", &err);
  if (write(ready, "x", 1) != 1) _exit(1);
  return r;
}

/* Up to BATCH records per call on both sides (shmp_writer_send_batch,
 * shmp_reader_take_batch): what a batch saves on the core's own work (a
 * publish and a release per batch rather than per record). */
#define BATCH ((int)SHMP_DEFAULT_BATCH_RECORDS)

/* The child reads to the end of the stream, one record or a batch per
 * call; exits 0 if it got `n` records. */
static void read_to_end(shmp_reader *r, long n, int batches) {
  shmp_error err = {0};
  long got = 0;
  if (!batches) {
    while (receive(r, SHMP_DEFAULT_SPIN) >= 0) got++;
  } else {
    static uint64_t records[2 * BATCH];
    for (;;) {
      uint64_t lease = 0;
      int64_t count = shmp_reader_take_batch(r, records, BATCH, &lease, -1, SHMP_DEFAULT_SPIN, &err);
      if (count == SHMP_E_CLOSED) break;
      if (count < 0) die("recv", &err);
      got += count;
      shmp_reader_release_lease(r, lease, &err);
    }
  }
  shmp_reader_close(r);
  _exit(got == n ? 0 : 1);
}

/* The parent writes `n` records of `size` bytes (the default spin), one or
 * a batch per call; the child reads them to the end. Records per second. */
static double core_oneway(uint64_t size, long n, int batches) {
  char name[64];
  snprintf(name, sizeof name, "bench-c-oneway-%d", (int)getpid());
  shmp_error err = {0};
  shmp_segment *s = create(name, 16 << 20);
  shmp_writer *w = shmp_writer_attach(s, &err);
  if (w == NULL) die("attach", &err);
  int ready[2];
  if (pipe(ready) != 0) exit(1);
  pid_t child = fork();
  if (child == 0) read_to_end(reader_child(name, ready[1]), n, batches);
  char x;
  if (read(ready[0], &x, 1) != 1) exit(1);
  char *data = calloc(batches ? BATCH : 1, size);
  uint64_t lengths[BATCH];
  for (int i = 0; i < BATCH; i++) lengths[i] = size;
  double t0 = now_ns();
  for (long i = 0; i < n;) {
    if (!batches) {
      send_record(w, data, size, SHMP_DEFAULT_SPIN);
      i++;
      continue;
    }
    uint32_t count = n - i < BATCH ? (uint32_t)(n - i) : BATCH;
    if (shmp_writer_send_batch(w, data, count * size, lengths, count, -1, SHMP_DEFAULT_SPIN, NULL, &err) < 0)
      die("send", &err);
    i += count;
  }
  if (shmp_writer_drain(w, -1, SHMP_DEFAULT_SPIN, &err) != SHMP_OK) die("drain", &err);
  double dt = now_ns() - t0;
  shmp_writer_close(w);
  int status = 0;
  waitpid(child, &status, 0);
  shmp_unlink(name, NULL);
  free(data);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "baselines: the reader did not get every record\n");
    exit(1);
  }
  return (double)n / (dt / 1e9);
}

/* The C floor of scripts/bench/handoff.ts's "commit -> usable": the time
 * from just before the commit to the reader's return from its wait (no
 * Arrow, no language runtime). 30 ms between rounds: the reader sleeps. */
static double core_handoff(uint64_t size, long idle_ms, long n) {
  char name[64];
  snprintf(name, sizeof name, "bench-c-handoff-%d", (int)getpid());
  shmp_error err = {0};
  shmp_segment *s = create(name, 2 * size + 65536);
  shmp_writer *w = shmp_writer_attach(s, &err);
  if (w == NULL) die("attach", &err);
  _Atomic int64_t *seen = mmap(NULL, (size_t)n * sizeof *seen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  double *took = calloc((size_t)n, sizeof *took);
  if (seen == MAP_FAILED || took == NULL) exit(1);
  int ready[2];
  if (pipe(ready) != 0) exit(1);
  pid_t child = fork();
  if (child == 0) {
    shmp_reader *r = reader_child(name, ready[1]);
    for (long i = 0; i < n; i++) {
      if (shmp_reader_next(r, NULL, -1, SHMP_DEFAULT_SPIN, &err) < 0) die("recv", &err);
      atomic_store(&seen[i], (int64_t)now_ns());
      shmp_reader_release(r, &err);
    }
    shmp_reader_close(r);
    _exit(0);
  }
  char x;
  if (read(ready[0], &x, 1) != 1) exit(1);
  char *data = malloc(size);
  memset(data, 7, size);
  struct timespec pause_ts = {0, 30000000}, idle_ts = {idle_ms / 1000, (idle_ms % 1000) * 1000000};
  for (long i = 0; i < n; i++) {
    nanosleep(&pause_ts, NULL);
    int64_t at = shmp_writer_claim(w, size, -1, SHMP_DEFAULT_SPIN, &err);
    if (at < 0) die("claim", &err);
    memcpy((char *)shmp_segment_base(s) + at, data, size);
    if (idle_ms > 0) nanosleep(&idle_ts, NULL);
    double commit = now_ns();
    if (shmp_writer_commit(w, size, &err) != SHMP_OK) die("commit", &err);
    while (atomic_load(&seen[i]) == 0) usleep(50);
    took[i] = ((double)atomic_load(&seen[i]) - commit) / 1000;
  }
  waitpid(child, NULL, 0);
  shmp_writer_close(w);
  shmp_unlink(name, NULL);
  for (long i = 1; i < n; i++) /* insertion sort: n is small */
    for (long j = i; j > 0 && took[j] < took[j - 1]; j--) {
      double t = took[j];
      took[j] = took[j - 1];
      took[j - 1] = t;
    }
  double median = took[n / 2];
  free(took);
  free(data);
  return median;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "core-handoff") == 0) {
    pin(0);
    uint64_t size = strtoull(argv[2], NULL, 10);
    long idle = atol(argv[3]);
    double us = core_handoff(size, idle, atol(argv[4]));
    if (idle > 0)
      printf("{\"case\":\"C->C commit -> seen through the core, reader idle %ld ms, %llu B record\",\"value\":%.1f,\"unit\":\"µs\"}\n", idle,
             (unsigned long long)size, us);
    else
      printf("{\"case\":\"C->C commit -> seen through the core, %llu B record\",\"value\":%.1f,\"unit\":\"µs\"}\n",
             (unsigned long long)size, us);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "core-rtt") == 0) {
    pin(0);
    int busy = strcmp(argv[2], "busy-poll") == 0;
    if (!busy && strcmp(argv[2], "blocking") != 0) return 2;
    printf("{\"case\":\"C<->C round trip through the core, %s\",\"value\":%.0f,\"unit\":\"ns/round trip\"}\n", argv[2],
           core_rtt(atol(argv[3]), busy ? UINT32_MAX : 0));
    return 0;
  }
  if (argc == 4 && (strcmp(argv[1], "core-oneway") == 0 || strcmp(argv[1], "core-oneway-batch") == 0)) {
    pin(0);
    int batches = strcmp(argv[1], "core-oneway-batch") == 0;
    uint64_t size = strtoull(argv[2], NULL, 10);
    double rate = core_oneway(size, atol(argv[3]), batches);
    printf("{\"case\":\"C->C one way through the core, %s%llu B records\",\"value\":%.0f,\"unit\":\"records/s\",\"mibps\":%.0f}\n",
           batches ? "batches of 256, " : "", (unsigned long long)size, rate, rate * (double)size / (1 << 20));
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "record-lines") == 0) {
    pin(0);
    int core = strcmp(argv[2], "core") == 0, lines = core ? 0 : atoi(argv[2]);
    if (!core && (lines < 1 || lines > 3)) return 2;
    enum { ROUNDS = 5 };
    long n = atol(argv[3]) / ROUNDS;
    double ratio[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
      double word = pingpong(n, 0);
      ratio[i] = (core ? core_rtt(n, UINT32_MAX) : record_lines(lines, n)) / word;
    }
    qsort(ratio, ROUNDS, sizeof ratio[0], by_value);
    static const char *const shape[] = {"", "payload beside its commit mark", "commit mark in a header line, payload in the next", "a head word, the record header, the payload"};
    if (core)
      printf("{\"case\":\"C<->C round trip through the core, busy-poll ÷ one-word spin ping-pong, alternating\",\"value\":%.2f,\"unit\":\"×\"}\n", ratio[ROUNDS / 2]);
    else
      printf("{\"case\":\"C spin ping-pong of a 64 B record in %d cache line%s (%s) ÷ one-word spin ping-pong, alternating\",\"value\":%.2f,\"unit\":\"×\"}\n",
             lines, lines == 1 ? "" : "s", shape[lines], ratio[ROUNDS / 2]);
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "memcpy") == 0) {
    pin(0);
    long mib = atol(argv[3]);
    if (mib <= 0) return 2;
    printf("{\"case\":\"C memcpy %ld MiB\",\"value\":%.0f,\"unit\":\"MiB/s\"}\n", mib, memcpy_bandwidth(atol(argv[2]), (size_t)mib << 20));
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "publish-memcpy") == 0) {
    pin(0);
    publish_memcpy(strtoull(argv[2], NULL, 10), atol(argv[3]));
    return 0;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: %s futex|spin|unix|memcpy N [MIB] | record-lines 1|2|3|core N | core-rtt blocking|busy-poll N | core-oneway[-batch] SIZE N | publish-memcpy SIZE N\n", argv[0]);
    return 2;
  }
  pin(0);
  long n = atol(argv[2]);
  const char *mode = argv[1];
  if (strcmp(mode, "futex") == 0)
    printf("{\"case\":\"C futex ping-pong\",\"value\":%.0f,\"unit\":\"ns/round trip\"}\n", pingpong(n, 1));
  else if (strcmp(mode, "spin") == 0)
    printf("{\"case\":\"C spin ping-pong\",\"value\":%.0f,\"unit\":\"ns/round trip\"}\n", pingpong(n, 0));
  else if (strcmp(mode, "unix") == 0)
    printf("{\"case\":\"C Unix socket ping-pong (64 B)\",\"value\":%.0f,\"unit\":\"ns/round trip\"}\n", unix_pingpong(n));
  else if (strcmp(mode, "memcpy") == 0)
    printf("{\"case\":\"C memcpy 1 MiB\",\"value\":%.0f,\"unit\":\"MiB/s\"}\n", memcpy_bandwidth(n, 1 << 20));
  else
    return 2;
  return 0;
}
