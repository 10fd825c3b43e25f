/*
 * Unit tests of the C core, run under ASan and UBSan by `make test`.
 * Cross-process cases fork: parent and child share a MAP_SHARED anonymous
 * mapping handed to the core with shmp_segment_format(), as a binding that
 * maps memory itself does. Named segments in /dev/shm are tested at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "layout.h"
#include "shmpipe.h"

static int failures;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                     \
    }                                                                 \
  } while (0)
#define CHECK_EQ(a, b)                                                        \
  do {                                                                        \
    long long a_ = (long long)(a), b_ = (long long)(b);                       \
    if (a_ != b_) {                                                           \
      fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld (%s)\n", __FILE__, __LINE__, #a, \
              a_, #b, b_, shmp_error_name((int)a_));                          \
      failures++;                                                             \
    }                                                                         \
  } while (0)

#define MS INT64_C(1000000)

struct seg {
  void *base;
  uint64_t size;
  shmp_segment *sp;
};

static struct seg seg_new(uint64_t capacity) {
  struct seg s = {NULL, SHMP_HEADER_SIZE + capacity, NULL};
  s.base = mmap(NULL, s.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s.base == MAP_FAILED) abort();
  s.sp = shmp_segment_format("test", s.base, s.size, NULL);
  if (s.sp == NULL) abort();
  return s;
}

/* Drops the test's reference: the mapping goes once every endpoint closed. */
static void seg_free(struct seg s) { shmp_segment_unref(s.sp); }

static int header_check(void *base, uint64_t size) {
  uint64_t capacity;
  return shmp_header_check(base, size, &capacity);
}

static struct shmp_header *hdr(struct seg s) { return s.base; }

/* A handler of the program's own, which a binding's signal policy must keep. */
static volatile sig_atomic_t own_handler_ran;
static void own_handler(int sig) { own_handler_ran = sig; }

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift: reproducible sizes and payload bytes on both sides of a fork. */
static uint64_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void test_header_checks(void) {
  struct seg s = seg_new(8192);
  CHECK_EQ(header_check(s.base, s.size), SHMP_OK);
  CHECK_EQ(shmp_segment_capacity(s.sp), 8192);
  CHECK_EQ(shmp_segment_creator_pid(s.sp), getpid());
  CHECK_EQ(shmp_header_format(s.base, s.size), SHMP_E_BUSY);
  CHECK_EQ(header_check(s.base, s.size - 1), SHMP_E_TRUNCATED);
  CHECK_EQ(header_check(s.base, 100), SHMP_E_TRUNCATED);
  CHECK_EQ(header_check(s.base, 0), SHMP_E_NOT_READY);

  struct shmp_header *h = hdr(s);
  h->format_version = 99;
  CHECK_EQ(header_check(s.base, s.size), SHMP_E_ABI);
  h->format_version = SHMP_FORMAT_VERSION;
  h->capacity = 1u << 30;
  CHECK_EQ(header_check(s.base, s.size), SHMP_E_CORRUPT);
  h->segment_size = SHMP_HEADER_SIZE + (1u << 30);
  CHECK_EQ(header_check(s.base, s.size), SHMP_E_TRUNCATED);
  h->capacity = 8192;
  h->segment_size = s.size;
  atomic_store(&h->head, 64 * 1000);
  CHECK_EQ(header_check(s.base, s.size), SHMP_E_CORRUPT);
  atomic_store(&h->head, 0);
  atomic_store(&h->tail, 64);
  CHECK_EQ(header_check(s.base, s.size), SHMP_E_CORRUPT);
  atomic_store(&h->tail, 0);
  atomic_store(&h->magic, 0x1234);
  CHECK_EQ(header_check(s.base, s.size), SHMP_E_BAD_MAGIC);
  shmp_error err = {0};
  CHECK(shmp_reader_attach(s.sp, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_BAD_MAGIC);
  atomic_store(&h->magic, 0);
  CHECK_EQ(header_check(s.base, s.size), SHMP_E_NOT_READY);
  seg_free(s);
}

static void test_errors_named(void) {
  CHECK(strcmp(shmp_error_name(SHMP_E_TIMEOUT), "ETIMEOUT") == 0);
  CHECK(strcmp(shmp_error_name(-2), "ENOENT") == 0);
  CHECK(strcmp(shmp_error_name(-4242), "EUNKNOWN") == 0);
  shmp_error err = {0};
  CHECK_EQ(shmp_error_set(&err, -2, "open", "ticks", NULL), -2);
  CHECK_EQ(err.code, -2);
  CHECK(strcmp(err.op, "open") == 0 && strcmp(err.segment, "ticks") == 0);
  CHECK(strcmp(err.message, "open on segment \"ticks\" failed: No such file or directory [ENOENT]. No channel by "
                            "that name exists: start the side that creates it first, or check the name") == 0);
  shmp_error_set(&err, SHMP_E_CLOSED, "send", "bad\nname", "this writer was closed");
  CHECK(strcmp(err.message, "send on segment \"bad?name\" failed: the channel is closed [ECLOSED]. This writer was closed") == 0);
  /* Constants by name, so bindings keep no numbers of their own. */
  CHECK_EQ(shmp_constant("ETIMEOUT"), SHMP_E_TIMEOUT);
  CHECK_EQ(shmp_constant("ENOTYET"), SHMP_E_AGAIN);
  /* The core's own codes are named unlike any errno. */
  CHECK_EQ(shmp_constant("EAGAIN"), -EAGAIN);
  CHECK_EQ(shmp_constant("EINVAL"), -EINVAL);
  CHECK_EQ(shmp_constant("EBUSY"), -EBUSY);
  CHECK(strcmp(shmp_error_name(SHMP_E_INVALID), "EBADARG") == 0);
  CHECK(strcmp(shmp_error_name(SHMP_E_BUSY), "EINUSE") == 0);
  CHECK_EQ(shmp_constant("DEFAULT_SPIN"), 256);
  CHECK_EQ(shmp_constant("DEFAULT_TIMEOUT_NS"), INT64_C(30000000000));
  CHECK_EQ(shmp_constant("DEFAULT_READY_TIMEOUT_NS"), INT64_C(2000000000));
  CHECK_EQ(shmp_constant("ENOENT"), -2);
  CHECK_EQ(shmp_constant("ARROW_RECORD_BATCH"), SHMP_ARROW_RECORD_BATCH);
  CHECK_EQ(shmp_constant("ERROR_SIZE"), sizeof(shmp_error));
  CHECK_EQ(shmp_constant("nonsense"), INT64_MIN);
  CHECK(strcmp(shmp_version(), SHMP_VERSION) == 0);
  CHECK_EQ(shmp_abi(), SHMP_ABI);
}

static void test_single_process_ring(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  CHECK(w && r);
  CHECK(shmp_writer_attach(s.sp, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_BUSY);

  uint64_t off = 0;
  CHECK_EQ(shmp_reader_peek(r, &off, NULL), SHMP_E_AGAIN);
  CHECK_EQ(shmp_reader_release(r, NULL), SHMP_E_STATE);
  CHECK_EQ(shmp_writer_commit(w, 0, NULL), SHMP_E_STATE);
  CHECK_EQ(shmp_writer_claim(w, 4096, 0, 0, NULL), SHMP_E_TOO_LARGE);

  /* A zero-byte record, then a claim committed shorter than claimed. */
  CHECK_EQ(shmp_writer_send(w, "", 0, 0, 0, NULL), SHMP_OK);
  int64_t at = shmp_writer_claim(w, 1000, 0, 0, NULL);
  CHECK(at > 0 && at % 64 == 0);
  CHECK_EQ(shmp_writer_claim(w, 10, 0, 0, NULL), SHMP_E_STATE);
  CHECK_EQ(shmp_writer_commit(w, 1001, NULL), SHMP_E_INVALID);
  memcpy((uint8_t *)s.base + at, "hello", 5);
  CHECK_EQ(shmp_writer_commit(w, 5, NULL), SHMP_OK);

  CHECK_EQ(shmp_reader_peek(r, &off, NULL), 0);
  CHECK_EQ(shmp_reader_release(r, NULL), SHMP_OK);
  CHECK_EQ(shmp_reader_peek(r, &off, NULL), 5);
  CHECK_EQ(shmp_reader_peek(r, &off, NULL), 5); /* same record until released */
  CHECK(memcmp((uint8_t *)s.base + off, "hello", 5) == 0);
  CHECK_EQ(off % 64, 0);
  CHECK_EQ(shmp_reader_release(r, NULL), SHMP_OK);

  /* Fill: 64+64 used so far of 4096. A 4032-byte payload needs the whole
   * ring, so the writer must pad and wait for the reader to skip it. */
  CHECK_EQ(shmp_writer_claim(w, 4032, 0, 0, NULL), SHMP_E_TIMEOUT);
  CHECK_EQ(shmp_reader_peek(r, &off, NULL), SHMP_E_AGAIN); /* skips the padding */
  at = shmp_writer_claim(w, 4032, 0, 0, NULL);
  CHECK_EQ(at, SHMP_HEADER_SIZE + 64);
  CHECK_EQ(shmp_writer_commit(w, 4032, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, NULL), SHMP_E_TIMEOUT); /* full */
  CHECK_EQ(shmp_reader_next(r, &off, 0, 0, NULL), 4032);
  CHECK_EQ(shmp_reader_release(r, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, NULL), SHMP_OK);

  /* End-of-stream only after the last record is read. */
  shmp_writer_close(w);
  CHECK_EQ(shmp_reader_next(r, &off, 0, 0, NULL), 1);
  CHECK_EQ(shmp_reader_release(r, NULL), SHMP_OK);
  CHECK_EQ(shmp_reader_next(r, &off, 0, 0, NULL), SHMP_E_CLOSED);
  CHECK_EQ(shmp_reader_wait(r, 0, 0, NULL), SHMP_E_CLOSED);
  CHECK(shmp_writer_attach(s.sp, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_CLOSED);
  shmp_reader_close(r);
  seg_free(s);
}

static void test_reader_close_stops_writer(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  shmp_reader_close(r);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, NULL), SHMP_E_CLOSED);
  shmp_writer_close(w);
  seg_free(s);
}

/* Corrupt records: every field a hostile writer controls. */
static void test_corrupt_records(void) {
  struct {
    uint64_t pos, len;
    uint32_t kind;
  } cases[] = {
      {64, 1, SHMP_RECORD_DATA},            /* wrong position */
      {0, 5000, SHMP_RECORD_DATA},          /* length past the end of the ring */
      {0, UINT64_MAX - 10, SHMP_RECORD_DATA}, /* length that overflows */
      {0, 200, SHMP_RECORD_DATA},           /* length past the committed bytes */
      {0, 1, 7},                            /* unknown kind */
      {0, 64, SHMP_RECORD_PAD},             /* padding that does not reach the end */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct seg s = seg_new(4096);
    shmp_error err = {0};
    shmp_writer *w = shmp_writer_attach(s.sp, &err);
    shmp_reader *r = shmp_reader_attach(s.sp, &err);
    CHECK_EQ(shmp_writer_send(w, "abc", 3, 0, 0, NULL), SHMP_OK); /* 128 bytes committed */
    struct shmp_record *rec = (struct shmp_record *)((uint8_t *)s.base + SHMP_HEADER_SIZE);
    rec->pos = cases[i].pos;
    rec->len = cases[i].len;
    rec->kind = cases[i].kind;
    uint64_t off = 0;
    CHECK_EQ(shmp_reader_peek(r, &off, NULL), SHMP_E_CORRUPT);
    shmp_writer_close(w);
    shmp_reader_close(r);
    seg_free(s);
  }
  /* A head beyond what the ring can hold. */
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  atomic_store(&hdr(s)->head, 8192);
  uint64_t off;
  CHECK_EQ(shmp_reader_peek(r, &off, NULL), SHMP_E_CORRUPT);
  shmp_reader_close(r);
  seg_free(s);
}

static void test_timeout_is_kept(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  int64_t t0 = now_ms();
  CHECK_EQ(shmp_reader_wait(r, 120 * MS, 100, NULL), SHMP_E_TIMEOUT);
  int64_t took = now_ms() - t0;
  CHECK(took >= 119 && took < 1000);
  shmp_reader_close(r);
  seg_free(s);
}

/* A child writes many records of random sizes with a checksum; the parent
 * checks order, length and content. Exercises wrap-around and padding. */
static void test_cross_process_stream(void) {
  enum { N = 200000 };
  struct seg s = seg_new(64 * 1024);
  pid_t child = fork();
  if (child == 0) {
    shmp_error err = {0};
    shmp_writer *w = shmp_writer_attach(s.sp, &err);
    if (!w) _exit(10);
    uint64_t rng = 42;
    for (uint32_t i = 0; i < N; i++) {
      uint64_t len = next_rand(&rng) % 100 == 0 ? next_rand(&rng) % 60000 : next_rand(&rng) % 300;
      if (len < 8) len = 8;
      int64_t at = shmp_writer_claim(w, len, 5000 * MS, 1000, NULL);
      if (at < 0) _exit(11);
      uint8_t *p = (uint8_t *)s.base + at;
      memcpy(p, &i, 4);
      for (uint64_t k = 4; k < len; k++) p[k] = (uint8_t)(i * 31 + k);
      if (shmp_writer_commit(w, len, NULL) != SHMP_OK) _exit(12);
    }
    shmp_writer_close(w);
    _exit(0);
  }
  shmp_error err = {0};
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  CHECK(r != NULL);
  uint32_t got = 0, bad = 0;
  uint64_t rng = 42;
  for (;;) {
    uint64_t off;
    int64_t len = shmp_reader_next(r, &off, 5000 * MS, 1000, NULL);
    if (len < 0) {
      CHECK_EQ(len, SHMP_E_CLOSED);
      break;
    }
    uint64_t want = next_rand(&rng) % 100 == 0 ? next_rand(&rng) % 60000 : next_rand(&rng) % 300;
    if (want < 8) want = 8;
    const uint8_t *p = (const uint8_t *)s.base + off;
    uint32_t seq;
    memcpy(&seq, p, 4);
    if ((uint64_t)len != want || seq != got) bad++;
    for (uint64_t k = 4; k < (uint64_t)len; k++)
      if (p[k] != (uint8_t)(got * 31 + k)) {
        bad++;
        break;
      }
    got++;
    shmp_reader_release(r, NULL);
  }
  int status;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(got, N);
  CHECK_EQ(bad, 0);
  shmp_reader_close(r);
  seg_free(s);
}

/* A writer killed while it holds a claim: the reader sees every committed
 * record, never the partial one, and learns that the peer is gone. */
static void test_writer_killed(void) {
  for (int round = 0; round < 5; round++) {
    struct seg s = seg_new(64 * 1024);
    int ready[2];
    if (pipe(ready) != 0) abort();
    pid_t child = fork();
    if (child == 0) {
      shmp_error err = {0};
      shmp_writer *w = shmp_writer_attach(s.sp, &err);
      for (uint32_t i = 0; i < 10; i++) shmp_writer_send(w, &i, 4, 0, 0, NULL);
      int64_t at = shmp_writer_claim(w, 1000, 0, 0, NULL);
      memset((uint8_t *)s.base + at, 0xee, 500); /* half-written, never committed */
      if (write(ready[1], "k", 1) != 1) _exit(1);
      for (;;) pause();
    }
    char c;
    if (read(ready[0], &c, 1) != 1) abort();
    kill(child, SIGKILL); /* not reaped yet: the reader must treat a zombie as dead */
    shmp_error err = {0};
    shmp_reader *r = shmp_reader_attach(s.sp, &err);
    uint64_t off;
    int64_t len;
    uint32_t n = 0;
    while ((len = shmp_reader_next(r, &off, 2000 * MS, 0, NULL)) >= 0) {
      uint32_t v;
      memcpy(&v, (uint8_t *)s.base + off, 4);
      CHECK_EQ(len, 4);
      CHECK_EQ(v, n);
      n++;
      shmp_reader_release(r, NULL);
    }
    CHECK_EQ(n, 10);
    CHECK_EQ(len, SHMP_E_PEER_GONE);
    waitpid(child, NULL, 0);
    /* A new writer may take over the dead one's role and continue. */
    shmp_writer *w = shmp_writer_attach(s.sp, &err);
    CHECK(w != NULL);
    CHECK_EQ(shmp_writer_send(w, "ok", 2, 0, 0, NULL), SHMP_OK);
    CHECK_EQ(shmp_reader_next(r, &off, 0, 0, NULL), 2);
    shmp_writer_close(w);
    shmp_reader_close(r);
    close(ready[0]);
    close(ready[1]);
    seg_free(s);
  }
}

/* A writer that abandons its stream (its source broke) while its process
 * lives on: the reader gets every committed record, then SHMP_E_PEER_GONE
 * with a sentence saying so, from every path (next, peek, wait), and at
 * once rather than after a silent slice; another writer may take over. */
static void test_writer_abandons(void) {
  struct seg s = seg_new(64 * 1024);
  int go[2], done[2];
  if (pipe(go) != 0 || pipe(done) != 0) abort();
  shmp_error err = {0};
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  pid_t child = fork();
  if (child == 0) {
    shmp_writer *w = shmp_writer_attach(s.sp, &err);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    usleep(20000); /* the reader is asleep by now */
    for (uint32_t i = 0; i < 10; i++) shmp_writer_send(w, &i, 4, 0, 0, NULL);
    int64_t at = shmp_writer_claim(w, 1000, 0, 0, NULL);
    memset((uint8_t *)s.base + at, 0xee, 500); /* half-written, never committed */
    shmp_writer_abandon(w);
    if (write(done[1], "a", 1) != 1) _exit(1);
    for (;;) pause();
  }
  if (write(go[1], "g", 1) != 1) abort();
  uint64_t off;
  int64_t len;
  uint32_t n = 0;
  while ((len = shmp_reader_next(r, &off, 5000 * MS, 0, &err)) >= 0) {
    uint32_t v;
    memcpy(&v, (uint8_t *)s.base + off, 4);
    CHECK_EQ(v, n);
    n++;
    shmp_reader_release(r, NULL);
  }
  CHECK_EQ(n, 10);
  CHECK_EQ(len, SHMP_E_PEER_GONE);
  CHECK(strstr(err.message, "abandoned the stream") != NULL);
  CHECK_EQ(waitpid(child, NULL, WNOHANG), 0); /* the writer's process lives on */
  char c;
  if (read(done[0], &c, 1) != 1) abort();
  /* At once, also without a wait (a dead writer is seen only by a wait,
   * after a silent slice of 50 ms). */
  CHECK_EQ(shmp_reader_peek(r, &off, NULL), SHMP_E_PEER_GONE);
  CHECK_EQ(shmp_reader_wait(r, 0, 0, NULL), SHMP_E_PEER_GONE);
  uint64_t lease;
  CHECK_EQ(shmp_reader_take(r, &off, &lease, 1000 * MS, 0, NULL), SHMP_E_PEER_GONE);
  /* Not a close: a new writer may take the role over, as from a dead one. */
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  CHECK(w != NULL);
  CHECK_EQ(shmp_writer_send(w, "ok", 2, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_reader_next(r, &off, 0, 0, NULL), 2);
  shmp_reader_release(r, NULL);
  shmp_writer_close(w);
  CHECK_EQ(shmp_reader_next(r, &off, 0, 0, NULL), SHMP_E_CLOSED);
  shmp_writer_abandon(NULL); /* as shmp_writer_close(NULL) */
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  shmp_reader_close(r);
  close(go[0]), close(go[1]), close(done[0]), close(done[1]);
  seg_free(s);
}

/* A writer blocked on a full ring learns that its reader died. */
static void test_reader_killed(void) {
  struct seg s = seg_new(4096);
  pid_t child = fork();
  if (child == 0) {
    shmp_error err = {0};
    shmp_reader *r = shmp_reader_attach(s.sp, &err);
    (void)r;
    for (;;) pause();
  }
  while (atomic_load(&hdr(s)->slots[0].peer) == 0) usleep(1000);
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  while (shmp_writer_send(w, "fill", 4, 0, 0, NULL) == SHMP_OK) {
  }
  kill(child, SIGKILL);
  int64_t t0 = now_ms();
  CHECK_EQ(shmp_writer_send(w, "more", 4, 5000 * MS, 0, NULL), SHMP_E_PEER_GONE);
  CHECK(now_ms() - t0 < 1000);
  waitpid(child, NULL, 0);
  shmp_writer_close(w);
  seg_free(s);
}

/* interrupt() wakes a waiter in another thread of control early. */
static void test_interrupt(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  shmp_reader_interrupt(r);
  CHECK_EQ(shmp_reader_wait(r, 5000 * MS, 0, NULL), SHMP_E_AGAIN);
  CHECK_EQ(shmp_reader_wait(r, 0, 0, NULL), SHMP_E_TIMEOUT); /* the interrupt was consumed */
  shmp_reader_close(r);
  seg_free(s);
}

static void test_segment_refcount(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_segment_ref(s.sp); /* a view */
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  CHECK_EQ(shmp_segment_refs(s.sp), 3);
  shmp_reader_close(r);
  shmp_view_deallocator(s.base, s.sp);
  CHECK_EQ(shmp_segment_refs(s.sp), 1);
  CHECK_EQ(shmp_segment_range(s.sp, 4096, 4096, "recv", &err), SHMP_OK);
  CHECK_EQ(shmp_segment_range(s.sp, 4096, 4097, "recv", &err), SHMP_E_INVALID);
  CHECK_EQ(shmp_segment_range(s.sp, UINT64_MAX, 2, "recv", &err), SHMP_E_INVALID);
  CHECK(strstr(err.message, "outside the 8192-byte mapping") != NULL);
  seg_free(s); /* unmaps and frees; ASan reports a leak otherwise */
}

/* Reads one record of `len` bytes whose first byte is `tag`, and releases it. */
static int read_tagged(shmp_reader *r, struct seg s, uint8_t tag) {
  uint64_t off = 0;
  int64_t len = shmp_reader_peek(r, &off, NULL);
  int ok = len == 100 && ((uint8_t *)s.base)[off] == tag;
  shmp_reader_release(r, NULL);
  return ok;
}

/* Several readers each see every record; space is reused only behind the
 * slowest; a reader may join late and leave early. */
static void test_fan_out(void) {
  struct seg s = seg_new(4096); /* 4096 / (64 + 128) = 21 records of 100 B */
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_reader *a = shmp_reader_attach(s.sp, &err), *b = shmp_reader_attach(s.sp, &err);
  CHECK(w && a && b);
  uint8_t record[100] = {0};
  uint8_t sent = 0;
  while (record[0] = sent, shmp_writer_send(w, record, sizeof record, 0, 0, NULL) == SHMP_OK) sent++;
  CHECK_EQ(sent, 21);
  /* a reads everything; b nothing yet: the ring stays full. */
  for (uint8_t i = 0; i < sent; i++) CHECK(read_tagged(a, s, i));
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_E_TIMEOUT);
  for (uint8_t i = 0; i < 5; i++) CHECK(read_tagged(b, s, i));
  for (uint8_t i = 0; i < 5; i++) CHECK_EQ((record[0] = sent++, shmp_writer_send(w, record, sizeof record, 0, 0, NULL)), SHMP_OK);
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_E_TIMEOUT);
  /* c joins at the low-water mark: the oldest record b still holds. */
  shmp_reader *c = shmp_reader_attach(s.sp, &err);
  CHECK(c != NULL);
  for (uint8_t i = 5; i < sent; i++) CHECK(read_tagged(b, s, i) && read_tagged(c, s, i));
  for (uint8_t i = 21; i < sent; i++) CHECK(read_tagged(a, s, i));
  /* b leaves; a and c go on, and the writer with them. */
  shmp_reader_close(b);
  for (int round = 0; round < 50; round++) {
    record[0] = sent;
    CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_OK);
    CHECK(read_tagged(a, s, sent) && read_tagged(c, s, sent));
    sent++;
  }
  /* Room for SHMP_MAX_READERS readers, then EBUSY. */
  shmp_reader *more[SHMP_MAX_READERS];
  uint32_t attached = 0;
  while (attached < SHMP_MAX_READERS && (more[attached] = shmp_reader_attach(s.sp, &err)) != NULL) attached++;
  CHECK_EQ(attached, SHMP_MAX_READERS - 2);
  CHECK_EQ(err.code, SHMP_E_BUSY);
  for (uint32_t i = 0; i < attached; i++) shmp_reader_close(more[i]);
  shmp_reader_close(a);
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_OK); /* c is still there */
  shmp_reader_close(c);
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_E_CLOSED);
  shmp_writer_close(w);
  seg_free(s);
}

/* A reader that dies stops holding the writer back within a slice or so;
 * the others lose nothing. */
static void test_dead_reader_among_many(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_reader *alive = shmp_reader_attach(s.sp, &err);
  pid_t child = fork();
  if (child == 0) {
    shmp_reader_attach(s.sp, &err);
    for (;;) pause();
  }
  while (atomic_load(&hdr(s)->slots[1].peer) == 0) usleep(1000);
  uint8_t record[100] = {0};
  uint8_t sent = 0;
  while (record[0] = sent, shmp_writer_send(w, record, sizeof record, 0, 0, NULL) == SHMP_OK) sent++;
  for (uint8_t i = 0; i < sent; i++) CHECK(read_tagged(alive, s, i));
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  int64_t t0 = now_ms();
  record[0] = sent;
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 5000 * MS, 0, NULL), SHMP_OK);
  CHECK(now_ms() - t0 < 1000);
  CHECK(read_tagged(alive, s, sent));
  CHECK_EQ(atomic_load(&hdr(s)->slots[1].peer), 0);
  shmp_reader_close(alive);
  shmp_writer_close(w);
  seg_free(s);
}

static void test_sealed_table(void) {
  struct seg s = seg_new(8192);
  shmp_error err = {0};
  CHECK(shmp_table_open(s.sp, 0, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_NOT_READY);
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  for (uint8_t i = 0; i < 3; i++) CHECK_EQ(shmp_writer_send(w, &i, 1, 0, 0, NULL), SHMP_OK);
  shmp_writer_seal(w);
  /* Two readers at once, each seeing every record; nothing is consumed. */
  shmp_reader *a = shmp_table_open(s.sp, 0, &err), *b = shmp_table_open(s.sp, 0, &err);
  CHECK(a != NULL && b != NULL);
  for (uint8_t i = 0; i < 3; i++) {
    uint64_t off_a = 0, off_b = 0;
    CHECK_EQ(shmp_reader_peek(a, &off_a, NULL), 1);
    CHECK_EQ(shmp_reader_peek(b, &off_b, NULL), 1);
    CHECK_EQ(off_a, off_b);
    CHECK_EQ(((uint8_t *)s.base)[off_a], i);
    CHECK_EQ(shmp_reader_release(a, NULL), SHMP_OK);
    CHECK_EQ(shmp_reader_release(b, NULL), SHMP_OK);
  }
  CHECK_EQ(shmp_reader_peek(a, NULL, NULL), SHMP_E_CLOSED);
  CHECK_EQ(hdr(s)->tail, 0);
  shmp_reader_close(a);
  shmp_reader_close(b);
  CHECK(!(hdr(s)->flags & SHMP_FLAG_READER_CLOSED));
  /* A later reader still finds every record. */
  shmp_reader *c = shmp_table_open(s.sp, 0, &err);
  CHECK_EQ(shmp_reader_peek(c, NULL, NULL), 1);
  /* A peer clearing the flags after the open: the observer never waits
   * (its mapping may be read-only), the table is complete as sealed. */
  CHECK_EQ(shmp_reader_release(c, NULL), SHMP_OK);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ(shmp_reader_next(c, NULL, 0, 0, NULL), 1);
    CHECK_EQ(shmp_reader_release(c, NULL), SHMP_OK);
  }
  hdr(s)->flags = 0;
  CHECK_EQ(shmp_reader_next(c, NULL, 1000000000, 0, NULL), SHMP_E_CLOSED);
  CHECK_EQ(shmp_reader_wait(c, 1000000000, 0, NULL), SHMP_E_CLOSED);
  shmp_reader_close(c);
  seg_free(s);
}

/* A FIFO planted under a segment's name: every open (to read, to write,
 * to inspect) and a create of the name end at once, saying what it is. */
static void test_fifo_under_the_name(void) {
  char name[64], path[128];
  snprintf(name, sizeof name, "core-fifo-%d", (int)getpid());
  snprintf(path, sizeof path, "%s/%s%s", SHMP_SHM_DIR, SHMP_NAME_PREFIX, name);
  CHECK_EQ(mkfifo(path, 0600), 0);
  shmp_error err = {0};
  uint32_t flags[] = {0, SHMP_OPEN_READ_ONLY_DATA, SHMP_OPEN_INSPECT};
  for (int i = 0; i < 3; i++) {
    CHECK(shmp_segment_open(name, flags[i], 0, &err) == NULL);
    CHECK_EQ(err.code, SHMP_E_BAD_MAGIC);
    CHECK(strstr(err.message, "is a FIFO, not a file") != NULL);
  }
  CHECK(shmp_segment_create(name, 4096, 0600, &err) == NULL);
  CHECK_EQ(err.code, -EEXIST);
  CHECK_EQ(shmp_segment_check_file(name, S_IFREG | 0600, &err), SHMP_OK);
  unlink(path);
}

/* Named segments in /dev/shm: the rules every binding relies on. */
static void test_named_segments(void) {
  char name[64];
  snprintf(name, sizeof name, "core-test-%d", (int)getpid());
  shmp_error err = {0};

  /* Names, capacities and modes are refused with a sentence that says why. */
  const char *bad_names[] = {"", ".hidden", "-dash", "a/b", "new\nline", "sp ace"};
  for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
    CHECK(shmp_segment_create(bad_names[i], 4096, 0600, &err) == NULL);
    CHECK_EQ(err.code, SHMP_E_INVALID);
    CHECK(strstr(err.message, "1-200 characters") != NULL);
  }
  char long_name[SHMP_NAME_MAX + 2];
  memset(long_name, 'a', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  CHECK(shmp_segment_open(long_name, 0, 0, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_INVALID);
  long_name[SHMP_NAME_MAX] = '\0';
  char path[SHMP_NAME_MAX + 16];
  CHECK_EQ(shmp_shm_name(long_name, "open", path, sizeof path, &err), SHMP_OK);
  CHECK(strncmp(path, "/shmpipe.aaa", 12) == 0);
  CHECK_EQ(shmp_create_size(name, 0, 0600, &err), SHMP_E_INVALID);
  CHECK(strstr(err.message, "Capacity must be between 1 byte and 64 TiB") != NULL);
  CHECK_EQ(shmp_create_size(name, 1000, 0600, &err), SHMP_HEADER_SIZE + 4096);
  CHECK_EQ(shmp_create_size(name, 4097, 0600, &err), SHMP_HEADER_SIZE + 8192);
  CHECK_EQ(shmp_create_size(name, 4096, 07777, &err), SHMP_E_INVALID);
  CHECK_EQ(shmp_create_size(name, 4096, 0400, &err), SHMP_E_INVALID);
  CHECK(strstr(err.message, "Mode 0400") != NULL);

  /* Create, open, a second creator, unlink. */
  CHECK(shmp_segment_open(name, 0, 0, &err) == NULL);
  CHECK_EQ(err.code, -ENOENT);
  shmp_segment *created = shmp_segment_create(name, 5000, 0600, &err);
  CHECK(created != NULL);
  CHECK_EQ(shmp_segment_capacity(created), 8192);
  CHECK_EQ(shmp_segment_length(created), SHMP_HEADER_SIZE + 8192);
  CHECK(strcmp(shmp_segment_name(created), name) == 0);
  CHECK(shmp_segment_create(name, 4096, 0600, &err) == NULL);
  CHECK_EQ(err.code, -EEXIST);
  CHECK(strstr(err.message, "It is in use: its creator (pid") != NULL);
  shmp_segment *opened = shmp_segment_open(name, 0, 0, &err);
  CHECK(opened != NULL);
  CHECK_EQ(shmp_segment_creator_pid(opened), getpid());
  shmp_writer *w = shmp_writer_attach(created, &err);
  shmp_reader *r = shmp_reader_attach(opened, &err);
  CHECK_EQ(shmp_writer_send(w, "hi", 2, 0, 0, &err), SHMP_OK);
  uint64_t off = 0;
  CHECK_EQ(shmp_reader_next(r, &off, 0, 0, &err), 2);
  CHECK(memcmp((uint8_t *)shmp_segment_base(opened) + off, "hi", 2) == 0);
  /* Errors name the operation the caller made, not the one inside it. */
  CHECK_EQ(shmp_writer_send(w, NULL, 9000, 0, 0, &err), SHMP_E_TOO_LARGE);
  CHECK(strcmp(err.op, "send") == 0);
  CHECK(strstr(err.message, "A 9000-byte record does not fit: this channel carries at most 8128 bytes") != NULL);
  CHECK_EQ(shmp_writer_claim(w, 9000, 0, 0, &err), SHMP_E_TOO_LARGE);
  CHECK(strcmp(err.op, "claim") == 0);
  shmp_writer *second = shmp_writer_attach(opened, &err);
  CHECK(second == NULL);
  CHECK(strstr(err.message, "already this channel's writer") != NULL);
  shmp_writer_close(w);
  shmp_reader_close(r);
  shmp_segment_unref(opened);
  shmp_segment_unref(created);
  CHECK_EQ(shmp_unlink(name, &err), SHMP_OK);
  CHECK_EQ(shmp_unlink(name, &err), -ENOENT);
  CHECK(strcmp(err.op, "unlink") == 0);

  /* The decisions a binding that maps memory itself asks for. */
  void *base = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  uint32_t me = (uint32_t)getuid();
  CHECK(shmp_segment_adopt(name, base, 8192, me, 0, 0, 50 * MS, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_AGAIN); /* not formatted yet: look again */
  CHECK(shmp_segment_adopt(name, NULL, 0, me, 0, 60 * MS, 50 * MS, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_NOT_READY);
  CHECK(strstr(err.message, "Waited 60 ms") != NULL);
  shmp_segment *fresh = shmp_segment_format(name, base, 8192, &err);
  CHECK(fresh != NULL);
  CHECK(shmp_segment_adopt(name, base, 8192, me + 1, 0, 0, 0, &err) == NULL);
  CHECK_EQ(err.code, -EACCES);
  CHECK(strstr(err.message, "allow-other-owner") != NULL);
  shmp_segment *other = shmp_segment_adopt(name, base, 8192, me + 1, SHMP_OPEN_ALLOW_OTHER_OWNER, 0, 0, &err);
  CHECK(other != NULL);
  free(other); /* shares fresh's mapping: drop the object without unmapping */
  CHECK_EQ(shmp_syscall_failed(&err, "create", name, SHMP_CALL_FALLOCATE, ENOSPC, 1 << 20), -ENOSPC);
  CHECK(strstr(err.message, "Could not reserve 1048576 bytes in /dev/shm. /dev/shm has no room") != NULL);
  shmp_segment_unref(fresh);
}

/* Sentences about names name the right thing: a table is a table, a
 * pipeline stage is told the runner made its channels, and a name a typo
 * away from an existing one is suggested. */
static void test_names_in_sentences(void) {
  char name[64], typo[64], far[64];
  int pid = (int)getpid();
  snprintf(name, sizeof name, "core-test-features-%d", pid);
  snprintf(typo, sizeof typo, "core-test-featurs-%d", pid);
  snprintf(far, sizeof far, "core-test-zzz-%d-unrelated", pid);
  shmp_error err = {0};
  shmp_segment *s = shmp_segment_create(name, 4096, 0600, &err);
  CHECK(s != NULL);
  char expected[256];
  snprintf(expected, sizeof expected, "No table by that name is published: publish it first, or check the name. Did you mean \"%s\"?", name);

  CHECK(shmp_segment_open(typo, SHMP_OPEN_TABLE, 0, &err) == NULL);
  CHECK_EQ(err.code, -ENOENT);
  CHECK(strcmp(err.op, "open_table") == 0);
  CHECK(strstr(err.message, expected) != NULL);
  CHECK(strstr(err.message, "channel") == NULL);
  CHECK_EQ(shmp_open_missing(typo, SHMP_OPEN_TABLE, 0, 0, &err), -ENOENT); /* a binding that opens by itself */
  CHECK(strcmp(err.op, "open_table") == 0 && strstr(err.message, expected) != NULL);
  CHECK_EQ(shmp_table_unpublish(typo, 0, &err), -ENOENT);
  CHECK(strcmp(err.op, "unpublish") == 0);
  CHECK(strstr(err.message, expected) != NULL);
  CHECK_EQ(shmp_syscall_failed(&err, "unpublish", typo, SHMP_CALL_SHM_UNLINK, ENOENT, 0), -ENOENT);
  CHECK(strstr(err.message, expected) != NULL);
  /* A channel's open keeps the channel's words; nothing near: no suggestion. */
  CHECK(shmp_segment_open(typo, 0, 0, &err) == NULL);
  CHECK(strstr(err.message, "No channel by that name exists: start the side that creates it first, or check the name. Did you mean") != NULL);
  CHECK(shmp_segment_open(far, 0, 0, &err) == NULL);
  CHECK(strstr(err.message, "Did you mean") == NULL);
  CHECK_EQ(shmp_unlink(far, &err), -ENOENT);
  CHECK(strstr(err.message, "No segment by that name exists: check the name") != NULL);
  CHECK(shmp_segment_open(far, SHMP_OPEN_WAIT_FOR_NAME | SHMP_OPEN_TABLE, 5 * MS, &err) == NULL);
  CHECK(strstr(err.message, "failed: No such file or directory [ENOENT]. Waited ") != NULL);
  CHECK(strstr(err.message, "No table by that name is published") != NULL);
  CHECK_EQ(shmp_constant("OPEN_TABLE"), SHMP_OPEN_TABLE);

  /* A pipeline stage (its environment names the channel) that creates a
   * channel its runner made is told so; another process is told it is in use. */
  for (int stage = 0; stage <= 1; stage++) {
    pid_t child = fork();
    if (child == 0) {
      char variable[96];
      snprintf(variable, sizeof variable, "SHMPIPE_CHANNEL_NUMBERS=%s", name);
      if (stage) putenv(variable);
      shmp_error own = {0};
      int ok = shmp_segment_create(name, 4096, 0600, &own) == NULL && own.code == -EEXIST;
      if (stage)
        ok = ok && strstr(own.message, "It is a channel of the pipeline that started this process "
                                       "(SHMPIPE_CHANNEL_NUMBERS), created by its runner (pid") != NULL &&
             strstr(own.message, "). A pipeline stage opens its channels (open_writer, open_reader): the runner "
                                 "created them") != NULL &&
             strstr(own.message, "Pick another name") == NULL;
      else
        ok = ok && strstr(own.message, "It is in use: its creator (pid") != NULL;
      if (!ok) fprintf(stderr, "%s\n", own.message);
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  shmp_segment_unref(s);
  CHECK_EQ(shmp_unlink(name, &err), SHMP_OK);
}


/* A signal ends a wait at once, sleeping or spinning, when a binding asked
 * for it; the handler that was in place still runs. */
static void test_signal_ends_waits(void) {
  struct seg s = seg_new(4096);
  for (int spinning = 0; spinning < 2; spinning++) {
    pid_t child = fork();
    if (child == 0) {
      signal(SIGTERM, own_handler);
      if (shmp_interrupt_waits_on_signals() != SHMP_OK) _exit(10);
      shmp_reader *r = shmp_reader_attach(s.sp, NULL);
      shmp_error err = {0};
      int64_t t0 = now_ms();
      int rc = shmp_reader_wait(r, 5000 * MS, spinning ? UINT32_MAX : 0, &err);
      int64_t took = now_ms() - t0;
      int ok = rc == -EINTR && took < 1000 && own_handler_ran == SIGTERM && strstr(err.message, "SIGTERM arrived") &&
               shmp_interrupted_signal() == SIGTERM && shmp_interrupted_signal() == 0;
      shmp_reader_close(r);
      _exit(ok ? 0 : 11);
    }
    usleep(100 * 1000);
    kill(child, SIGTERM);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  seg_free(s);
}

/* A writer that never waits (the ring has room) still learns within about
 * 100 ms that its only reader died, and at once that it left. */
static void test_writer_learns_readers_went(void) {
  struct seg s = seg_new(1 << 20);
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  pid_t child = fork();
  if (child == 0) {
    shmp_reader_attach(s.sp, NULL);
    for (;;) pause();
  }
  while (atomic_load(&hdr(s)->slots[0].peer) == 0) usleep(1000);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, &err), SHMP_OK);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  int64_t t0 = now_ms();
  int rc = SHMP_OK;
  while (rc == SHMP_OK && now_ms() - t0 < 2000) {
    rc = shmp_writer_send(w, "x", 1, 0, 0, &err);
    usleep(1000);
  }
  CHECK_EQ(rc, SHMP_E_PEER_GONE);
  CHECK(now_ms() - t0 < 300);
  CHECK(strcmp(err.op, "send") == 0 && strstr(err.message, "Every reader of the channel died") != NULL);
  shmp_reader *r = shmp_reader_attach(s.sp, &err); /* a new reader: sending works again */
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, &err), SHMP_OK);
  shmp_reader_close(r);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, &err), SHMP_E_CLOSED);
  shmp_writer_close(w);
  seg_free(s);
}

/* Opening may wait for the channel to be created. */
static void test_open_waits_for_the_name(void) {
  char name[64];
  snprintf(name, sizeof name, "core-later-%d", (int)getpid());
  shmp_error err = {0};
  int64_t t0 = now_ms();
  CHECK(shmp_segment_open(name, SHMP_OPEN_WAIT_FOR_NAME, 50 * MS, &err) == NULL);
  CHECK_EQ(err.code, -ENOENT);
  CHECK(now_ms() - t0 >= 49 && strstr(err.message, "for it to be created") != NULL);
  pid_t child = fork();
  if (child == 0) {
    usleep(100 * 1000);
    shmp_segment *s = shmp_segment_create(name, 4096, 0600, NULL);
    usleep(500 * 1000);
    shmp_segment_unref(s);
    _exit(0);
  }
  shmp_segment *opened = shmp_segment_open(name, SHMP_OPEN_WAIT_FOR_NAME, 5000 * MS, &err);
  CHECK(opened != NULL);
  shmp_segment_unref(opened);
  waitpid(child, NULL, 0);
  shmp_unlink(name, NULL);
}

/* Messages the core encodes for bindings without an Arrow library pass the
 * core's own check, values and all. */
static void test_arrow_encode(void) {
  enum { ROWS = 5 };
  double prices[ROWS] = {1.5, 2.5, 0, 4.5, 5.5};
  int32_t counts[ROWS] = {1, 2, 3, 4, 5};
  int64_t stamps[ROWS] = {0, 1, 2, 3, 4};
  int32_t days[ROWS] = {19000, 19001, 19002, 19003, 19004};
  uint8_t flags = 0x15, valid = 0x1b; /* row 2 null */
  int32_t offsets[ROWS + 1] = {0, 1, 3, 3, 6, 7};
  const uint8_t text[] = "abbcccd";
  int32_t codes[ROWS] = {0, 1, 0, 1, 1};
  int32_t levels_offsets[3] = {0, 4, 8};
  const uint8_t levels[] = "MSFTAAPL";
  shmp_column columns[] = {
      {.name = "price", .kind = SHMP_COLUMN_FLOAT64, .r_na = 1, .null_count = 1, .validity = &valid, .values = prices},
      {.name = "count", .kind = SHMP_COLUMN_INT32, .values = counts},
      {.name = "flag", .kind = SHMP_COLUMN_BOOL, .values = &flags},
      {.name = "text", .kind = SHMP_COLUMN_UTF8, .offsets = offsets, .data = text},
      {.name = "symbol", .kind = SHMP_COLUMN_DICTIONARY_UTF8, .values = codes, .dictionary_length = 2,
       .dictionary_offsets = levels_offsets, .dictionary_data = levels},
      {.name = "day", .kind = SHMP_COLUMN_DATE32, .values = days},
      {.name = "at", .kind = SHMP_COLUMN_TIMESTAMP_US, .timezone = "Europe/Zurich", .values = stamps},
      {.name = "big", .kind = SHMP_COLUMN_INT64, .values = stamps},
  };
  uint32_t count = sizeof columns / sizeof *columns;
  shmp_error err = {0};
  shmp_arrow_checker *checker = shmp_arrow_checker_new("encode", "recv", &err);
  int64_t sizes[3] = {shmp_arrow_encode_schema(columns, count, NULL, 0, &err),
                      shmp_arrow_encode_dictionary(columns, count, 4, NULL, 0, &err),
                      shmp_arrow_encode_batch(columns, count, ROWS, NULL, 0, &err)};
  for (int i = 0; i < 3; i++) {
    CHECK(sizes[i] > 0 && sizes[i] % 64 == 0);
    void *record = aligned_alloc(64, (size_t)sizes[i]);
    int64_t written = i == 0   ? shmp_arrow_encode_schema(columns, count, record, (uint64_t)sizes[i], &err)
                      : i == 1 ? shmp_arrow_encode_dictionary(columns, count, 4, record, (uint64_t)sizes[i], &err)
                               : shmp_arrow_encode_batch(columns, count, ROWS, record, (uint64_t)sizes[i], &err);
    CHECK_EQ(written, sizes[i]);
    int kind = shmp_arrow_checker_check(checker, record, (uint64_t)written, &err);
    if (kind < 0) fprintf(stderr, "encoded message %d refused: %s\n", i, err.message);
    CHECK_EQ(kind, i + 1);
    CHECK_EQ(shmp_arrow_checker_columns(checker), count);
    shmp_arrow_column col;
    int64_t layout[64];
    if (i == 0) CHECK_EQ(shmp_arrow_checker_layout(checker, layout, 64), SHMP_E_INVALID); /* a schema has none */
    if (i > 0) { /* the layout handed to bindings: the same buffers the columns name */
      int64_t words = shmp_arrow_checker_layout(checker, NULL, 0);
      CHECK(words > SHMP_LAYOUT_HEADER && words <= 64);
      CHECK_EQ(shmp_arrow_checker_layout(checker, layout, (uint64_t)words - 1), words); /* too little room: nothing written */
      layout[SHMP_LAYOUT_KIND] = 0;
      CHECK_EQ(shmp_arrow_checker_layout(checker, layout, 64), words);
      CHECK_EQ(layout[SHMP_LAYOUT_KIND], i + 1);
      CHECK_EQ(layout[SHMP_LAYOUT_PREFIX_LENGTH], (int64_t)shmp_arrow_checker_prefix_length(checker));
      CHECK_EQ(layout[SHMP_LAYOUT_BODY_LENGTH], (int64_t)shmp_arrow_checker_body_length(checker));
      CHECK_EQ(layout[SHMP_LAYOUT_ROWS], i == 1 ? 2 : ROWS);
      CHECK_EQ(layout[SHMP_LAYOUT_DICTIONARY_ID], i == 1 ? 4 : -1);
      CHECK_EQ(layout[SHMP_LAYOUT_DELTA], 0);
      int64_t nodes = layout[SHMP_LAYOUT_NODES], buffers = layout[SHMP_LAYOUT_BUFFERS];
      CHECK_EQ(nodes, i == 1 ? 1 : (int64_t)count);
      CHECK_EQ(words, SHMP_LAYOUT_HEADER + 2 * nodes + 2 * buffers + layout[SHMP_LAYOUT_VARIADIC]);
      CHECK_EQ(shmp_constant("LAYOUT_HEADER"), SHMP_LAYOUT_HEADER);
      CHECK_EQ(shmp_constant("LAYOUT_ROWS"), SHMP_LAYOUT_ROWS);
      CHECK_EQ(shmp_constant("HEADER_HEAD_OFFSET"), 256);
      const int64_t *node = layout + SHMP_LAYOUT_HEADER, *buffer = node + 2 * nodes;
      CHECK_EQ(shmp_arrow_checker_column(checker, 0, &col), SHMP_OK);
      CHECK(node[0] == col.length && node[1] == col.null_count);
      uint64_t body_at = shmp_arrow_checker_prefix_length(checker);
      CHECK_EQ(body_at + (uint64_t)buffer[2], col.values_offset); /* validity, then values (or offsets) */
      CHECK_EQ((uint64_t)buffer[3], col.values_length);
    }
    if (i == 1) { /* the dictionary: one column of values */
      int delta = 1;
      CHECK_EQ(shmp_arrow_checker_dictionary(checker, &delta), 4);
      CHECK_EQ(delta, 0);
      CHECK_EQ(shmp_arrow_checker_batch_columns(checker), 1);
      CHECK_EQ(shmp_arrow_checker_column(checker, 0, &col), SHMP_OK);
      CHECK_EQ(col.length, 2);
      CHECK(memcmp((uint8_t *)record + col.data_offset, "MSFTAAPL", 8) == 0);
    }
    if (i == 2) { /* the batch: where each column's values lie */
      CHECK_EQ(shmp_arrow_checker_batch_columns(checker), count);
      CHECK_EQ(shmp_arrow_checker_column(checker, 0, &col), SHMP_OK);
      CHECK(strcmp(col.name, "price") == 0 && col.type == 3 && col.bit_width == 64 && col.r_na == 1);
      CHECK_EQ(col.null_count, 1);
      CHECK(col.validity_length == 1 && ((uint8_t *)record)[col.validity_offset] == valid);
      CHECK(col.values_length == sizeof prices && memcmp((uint8_t *)record + col.values_offset, prices, sizeof prices) == 0);
      CHECK_EQ(shmp_arrow_checker_column(checker, 3, &col), SHMP_OK);
      CHECK(col.type == 5 && col.data_length == 7 && memcmp((uint8_t *)record + col.data_offset, text, 7) == 0);
      CHECK_EQ(shmp_arrow_checker_column(checker, 4, &col), SHMP_OK);
      CHECK(col.dictionary_id == 4 && col.bit_width == 32 && col.is_signed == 1 && col.type == 5);
      CHECK_EQ(shmp_arrow_checker_column(checker, 6, &col), SHMP_OK);
      CHECK(col.type == 10 && col.unit == 2 && strcmp(col.timezone, "Europe/Zurich") == 0);
      CHECK_EQ(shmp_arrow_checker_column(checker, 1, &col), SHMP_OK);
      CHECK(col.type == 2 && col.bit_width == 32 && col.is_signed == 1 && col.r_na == 0);
      CHECK_EQ(shmp_arrow_checker_column(checker, 8, &col), SHMP_E_INVALID);
    }
    free(record);
  }
  CHECK_EQ(shmp_arrow_encode_batch(columns, count, ROWS, prices, 8, &err), SHMP_E_INVALID); /* too small */
  CHECK_EQ(shmp_arrow_encode_dictionary(columns, count, 0, NULL, 0, &err), SHMP_E_INVALID);
  shmp_arrow_checker_free(checker);
}

/* A dictionary that fails the check makes the batches that use it fail
 * (they are never read against the dictionary before it), until a valid
 * replacement comes. */
static void test_refused_dictionary(void) {
  int32_t codes[2] = {0, 1}, good_offsets[3] = {0, 4, 8}, bad_offsets[3] = {0, 8, 4};
  const uint8_t levels[] = "MSFTAAPL";
  shmp_column columns[] = {{.name = "symbol", .kind = SHMP_COLUMN_DICTIONARY_UTF8, .values = codes,
                            .dictionary_length = 2, .dictionary_offsets = good_offsets, .dictionary_data = levels}};
  shmp_error err = {0};
  shmp_arrow_checker *c = shmp_arrow_checker_new("dict", "recv", &err);
  uint8_t *record = aligned_alloc(64, 4096);
  CHECK(shmp_arrow_encode_schema(columns, 1, record, 4096, &err) > 0);
  CHECK_EQ(shmp_arrow_checker_check(c, record, 4096, &err), SHMP_ARROW_SCHEMA);
  for (int round = 0; round < 2; round++) {
    columns[0].dictionary_offsets = round == 0 ? good_offsets : bad_offsets;
    int64_t n = shmp_arrow_encode_dictionary(columns, 1, 0, record, 4096, &err);
    CHECK(n > 0);
    CHECK_EQ(shmp_arrow_checker_check(c, record, (uint64_t)n, &err), round == 0 ? SHMP_ARROW_DICTIONARY : SHMP_E_ARROW);
    n = shmp_arrow_encode_batch(columns, 1, 2, record, 4096, &err);
    CHECK(n > 0);
    int kind = shmp_arrow_checker_check(c, record, (uint64_t)n, &err);
    CHECK_EQ(kind, round == 0 ? SHMP_ARROW_RECORD_BATCH : SHMP_E_ARROW);
    if (round == 1) CHECK(strstr(err.message, "uses dictionary 0, which was refused when it arrived") != NULL);
  }
  columns[0].dictionary_offsets = good_offsets; /* a valid replacement: read again */
  int64_t n = shmp_arrow_encode_dictionary(columns, 1, 0, record, 4096, &err);
  CHECK_EQ(shmp_arrow_checker_check(c, record, (uint64_t)n, &err), SHMP_ARROW_DICTIONARY);
  n = shmp_arrow_encode_batch(columns, 1, 2, record, 4096, &err);
  CHECK_EQ(shmp_arrow_checker_check(c, record, (uint64_t)n, &err), SHMP_ARROW_RECORD_BATCH);
  free(record);
  shmp_arrow_checker_free(c);
}

/* Nested columns encode (children after their parent, pre-order) into
 * messages that pass the check and describe back as written. */
static void test_arrow_encode_nested(void) {
  enum { ROWS = 3 };
  int32_t list_offsets[ROWS + 1] = {0, 2, 2, 3}; /* [1.5, 2.5], null, [4.5] */
  uint8_t list_valid = 0x5;
  double items[3] = {1.5, 2.5, 4.5};
  int32_t numbers[ROWS] = {7, 8, 9};
  int32_t word_offsets[ROWS + 1] = {0, 1, 3, 3};
  const uint8_t words[] = "abc";
  int32_t blob_offsets[ROWS + 1] = {0, 2, 2, 3};
  const uint8_t blobs[] = {0x00, 0xff, 0x10};
  shmp_column columns[] = {
      {.name = "l", .kind = SHMP_COLUMN_LIST, .null_count = 1, .validity = &list_valid, .offsets = list_offsets},
      {.name = "item", .kind = SHMP_COLUMN_FLOAT64, .values = items},
      {.name = "s", .kind = SHMP_COLUMN_STRUCT, .dictionary_length = 2},
      {.name = "n", .kind = SHMP_COLUMN_INT32, .values = numbers},
      {.name = "w", .kind = SHMP_COLUMN_UTF8, .offsets = word_offsets, .data = words},
      {.name = "b", .kind = SHMP_COLUMN_BINARY, .offsets = blob_offsets, .data = blobs},
  };
  uint32_t count = sizeof columns / sizeof *columns;
  shmp_error err = {0};
  shmp_arrow_checker *c = shmp_arrow_checker_new("nested", "recv", &err);
  uint8_t *record = aligned_alloc(64, 4096);
  int64_t n = shmp_arrow_encode_schema(columns, count, record, 4096, &err);
  CHECK(n > 0);
  CHECK_EQ(shmp_arrow_checker_check(c, record, (uint64_t)n, &err), SHMP_ARROW_SCHEMA);
  n = shmp_arrow_encode_batch(columns, count, ROWS, record, 4096, &err);
  CHECK(n > 0);
  int kind = shmp_arrow_checker_check(c, record, (uint64_t)n, &err);
  if (kind < 0) fprintf(stderr, "nested batch refused: %s\n", err.message);
  CHECK_EQ(kind, SHMP_ARROW_RECORD_BATCH);
  CHECK_EQ(shmp_arrow_checker_batch_columns(c), 3);
  CHECK_EQ(shmp_arrow_checker_nodes(c), 6);
  shmp_arrow_node node;
  CHECK_EQ(shmp_arrow_checker_node(c, 0, &node), SHMP_OK);
  CHECK(node.column.type == 12 && node.children == 1 && node.column.null_count == 1);
  CHECK_EQ(shmp_arrow_checker_node(c, 1, &node), SHMP_OK);
  CHECK(node.column.type == 3 && node.column.length == 3 && memcmp(record + node.column.values_offset, items, sizeof items) == 0);
  CHECK_EQ(shmp_arrow_checker_node(c, 2, &node), SHMP_OK);
  CHECK(node.column.type == 13 && node.children == 2 && strcmp(node.column.name, "s") == 0);
  CHECK_EQ(shmp_arrow_checker_node(c, 4, &node), SHMP_OK);
  CHECK(node.column.type == 5 && memcmp(record + node.column.data_offset, "abc", 3) == 0);
  CHECK_EQ(shmp_arrow_checker_node(c, 5, &node), SHMP_OK);
  CHECK(node.column.type == 4 && node.column.data_length == 3 && memcmp(record + node.column.data_offset, blobs, 3) == 0);
  /* A struct whose children run past the array is refused. */
  columns[2].dictionary_length = 9;
  CHECK_EQ(shmp_arrow_encode_schema(columns, count, NULL, 0, &err), SHMP_E_INVALID);
  free(record);
  shmp_arrow_checker_free(c);
}

/* A second creator is told whether the name is in use or stale. */
static int shm_exists(const char *name) {
  char path[300];
  snprintf(path, sizeof path, "/dev/shm/shmpipe.%s", name);
  return access(path, F_OK) == 0;
}

/* The owned-name registry: a created name is this process's; unlink_all
 * removes it, a forgotten one stays, a forked child removes none of its
 * parent's names, and the signal policy acts only where the action was the
 * default. */
static void test_owned_names(void) {
  char made[64], kept[64], childs[64];
  snprintf(made, sizeof made, "core-owned-%d", (int)getpid());
  snprintf(kept, sizeof kept, "core-kept-%d", (int)getpid());
  snprintf(childs, sizeof childs, "core-childs-%d", (int)getpid());
  shmp_segment *a = shmp_segment_create(made, 4096, 0600, NULL);
  shmp_segment *b = shmp_segment_create(kept, 4096, 0600, NULL);
  CHECK(a != NULL && b != NULL);
  int before = shmp_owned_count();
  shmp_owned_forget(kept);
  CHECK_EQ(shmp_owned_count(), before - 1);
  shmp_error err = {0};
  CHECK_EQ(shmp_owned_add("bad/name", &err), SHMP_E_INVALID);

  /* A forked child, ended by SIGTERM under the policy, removes its own
   * name and none of its parent's, and dies by the signal. */
  pid_t child = fork();
  if (child == 0) {
    if (shmp_segment_create(childs, 4096, 0600, NULL) == NULL) _exit(3);
    if (shmp_owned_unlink_on_signals() != 3) _exit(4);
    raise(SIGTERM);
    _exit(5);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  CHECK(!shm_exists(childs));
  CHECK(shm_exists(made) && shm_exists(kept));

  /* A child whose program handles SIGTERM itself: the policy leaves the
   * signal alone, the program lives on and its name stays. */
  child = fork();
  if (child == 0) {
    signal(SIGTERM, SIG_IGN);
    if (shmp_segment_create(childs, 4096, 0600, NULL) == NULL) _exit(3);
    if (shmp_owned_unlink_on_signals() != 2) _exit(4); /* SIGINT and SIGHUP only */
    raise(SIGTERM);
    _exit(shm_exists(childs) ? 0 : 6);
  }
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(shmp_unlink(childs, NULL), SHMP_OK);

  /* The child's exit path calls unlink_all: still none of the parent's. */
  child = fork();
  if (child == 0) _exit(shmp_owned_unlink_all() == 0 ? 0 : 7);
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(shm_exists(made));

  /* A close removes only what this process still owns. */
  CHECK_EQ(shmp_owned_unlink(kept, &err), 0);
  CHECK(shm_exists(kept));
  char again[64];
  snprintf(again, sizeof again, "core-again-%d", (int)getpid());
  shmp_segment *c = shmp_segment_create(again, 4096, 0600, NULL);
  CHECK_EQ(shmp_owned_unlink(again, &err), 1);
  CHECK(!shm_exists(again));
  CHECK_EQ(shmp_owned_unlink(again, &err), 0); /* forgotten with it */
  shmp_segment_unref(c);

  CHECK(shmp_owned_unlink_all() >= 1);
  CHECK(!shm_exists(made));
  CHECK(shm_exists(kept));
  CHECK_EQ(shmp_unlink(kept, NULL), SHMP_OK);
  shmp_segment_unref(a);
  shmp_segment_unref(b);
}

static void test_stale_name(void) {
  char name[64];
  snprintf(name, sizeof name, "core-stale-%d", (int)getpid());
  pid_t child = fork();
  if (child == 0) _exit(shmp_segment_create(name, 4096, 0600, NULL) ? 0 : 1); /* exits without removing it */
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  shmp_error err = {0};
  CHECK(shmp_segment_create(name, 4096, 0600, &err) == NULL);
  CHECK_EQ(err.code, -EEXIST);
  char expected[128];
  snprintf(expected, sizeof expected, "It is stale: its creator (pid %d) has exited", (int)child);
  CHECK(strstr(err.message, expected) != NULL);
  CHECK_EQ(shmp_unlink(name, NULL), SHMP_OK);
}

/* A segment opened with SHMP_OPEN_READ_ONLY_DATA: a reader works, and a
 * write into the data ring faults instead of changing shared memory. */
static void test_read_only_data(void) {
  char name[64];
  snprintf(name, sizeof name, "core-ro-%d", (int)getpid());
  shmp_error err = {0};
  shmp_segment *created = shmp_segment_create(name, 4096, 0600, &err);
  shmp_segment *ro = shmp_segment_open(name, SHMP_OPEN_READ_ONLY_DATA, 0, &err);
  CHECK(created != NULL && ro != NULL);
  shmp_writer *w = shmp_writer_attach(created, &err);
  shmp_reader *r = shmp_reader_attach(ro, &err);
  CHECK_EQ(shmp_writer_send(w, "data", 4, 0, 0, &err), SHMP_OK);
  uint64_t off = 0;
  CHECK_EQ(shmp_reader_next(r, &off, 0, 0, &err), 4);
  CHECK_EQ(shmp_reader_release(r, &err), SHMP_OK);
  pid_t child = fork();
  if (child == 0) {
    signal(SIGSEGV, SIG_DFL); /* die of it, rather than in ASan's report */
    ((volatile uint8_t *)shmp_segment_base(ro))[off] = 'X';
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
  CHECK(memcmp((uint8_t *)shmp_segment_base(created) + off, "data", 4) == 0);
  /* A reader that created the channel protects its records likewise. */
  char made[64];
  snprintf(made, sizeof made, "core-ro-made-%d", (int)getpid());
  shmp_segment *mine = shmp_segment_create(made, 4096, 0600, &err);
  CHECK_EQ(shmp_segment_protect_records(mine, &err), SHMP_OK);
  child = fork();
  if (child == 0) {
    signal(SIGSEGV, SIG_DFL);
    ((volatile uint8_t *)shmp_segment_base(mine))[SHMP_HEADER_SIZE] = 'X';
    _exit(0);
  }
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
  shmp_segment_unref(mine);
  shmp_unlink(made, NULL);
  shmp_reader_close(r);
  shmp_writer_close(w);
  shmp_segment_unref(ro);
  shmp_segment_unref(created);
  shmp_unlink(name, NULL);
}

/* Leases: records kept while reading on, released in any order; the writer
 * gets space back only up to the oldest lease still held. */
static void test_leases(void) {
  struct seg s = seg_new(4096); /* 21 records of 100 B */
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  uint8_t record[100] = {0};
  for (uint8_t i = 0; i < 21; i++) CHECK_EQ((record[0] = i, shmp_writer_send(w, record, sizeof record, 0, 0, NULL)), SHMP_OK);
  uint64_t lease[3], off = 0;
  CHECK_EQ(shmp_reader_hold(r, &lease[0], &err), SHMP_E_STATE); /* nothing read yet */
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(shmp_reader_next(r, &off, 0, 0, NULL), 100);
    CHECK_EQ(((uint8_t *)s.base)[off], i);
    CHECK_EQ(shmp_reader_hold(r, &lease[i], &err), SHMP_OK);
  }
  /* Records read and released while leases are held free nothing yet. */
  CHECK(read_tagged(r, s, 3));
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_E_TIMEOUT);
  CHECK_EQ(shmp_reader_release_lease(r, lease[1], &err), SHMP_OK);
  CHECK_EQ(shmp_reader_release_lease(r, lease[1], &err), SHMP_E_STATE); /* twice */
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_E_TIMEOUT); /* lease 0 holds */
  CHECK_EQ(((uint8_t *)s.base)[lease[0] + SHMP_HEADER_SIZE + 64], 0); /* still there */
  CHECK_EQ(shmp_reader_release_lease(r, lease[0], &err), SHMP_OK);
  /* 0, 1 (released) go; 2 holds the rest: two records' room. */
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_E_TIMEOUT);
  CHECK_EQ(shmp_reader_release_lease(r, lease[2], &err), SHMP_OK);
  /* Everything up to the read position (record 3 was released) is free. */
  CHECK_EQ(hdr(s)->slots[0].tail, 4 * 192);
  for (uint8_t i = 4; i < 21; i++) CHECK(read_tagged(r, s, i));
  shmp_writer_close(w);
  shmp_reader_close(r);
  seg_free(s);
}

/* Positions a peer rewrote after the header was checked are refused before
 * any record header is read or written at them. */
static void test_forged_positions(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  atomic_store(&hdr(s)->head, 64 * 3 + 8); /* not a multiple of 64 */
  CHECK(shmp_writer_attach(s.sp, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_CORRUPT);
  CHECK_EQ(atomic_load(&hdr(s)->writer), 0); /* the role is not kept */
  atomic_store(&hdr(s)->head, 0);
  atomic_store(&hdr(s)->tail, 4096 - 8);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  CHECK(r == NULL);
  CHECK_EQ(err.code, SHMP_E_CORRUPT);
  CHECK_EQ(atomic_load(&hdr(s)->slots[0].peer), 0);
  CHECK_EQ(atomic_load(&hdr(s)->slots[0].tail), SHMP_SLOT_FREE);
  hdr(s)->flags |= SHMP_FLAG_SEALED;
  CHECK(shmp_table_open(s.sp, 0, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_CORRUPT);
  seg_free(s);
}

/* The readers-closed flag set while a reader is attached (a leaver racing an
 * attacher) does not close the channel for the writer. */
static void test_stale_readers_closed_flag(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  atomic_fetch_or(&hdr(s)->flags, SHMP_FLAG_READER_CLOSED);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, &err), SHMP_OK);
  CHECK(!(atomic_load(&hdr(s)->flags) & SHMP_FLAG_READER_CLOSED));
  shmp_reader_close(r);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, &err), SHMP_E_CLOSED);
  shmp_writer_close(w);
  seg_free(s);
}

/* Two readers leaving at once: the later one always tells the writer. */
static void test_readers_leave_together(void) {
  for (int round = 0; round < 300; round++) {
    struct seg s = seg_new(4096);
    shmp_error err = {0};
    shmp_writer *w = shmp_writer_attach(s.sp, &err);
    int go[2];
    if (pipe(go) != 0) abort();
    pid_t children[2];
    for (int c = 0; c < 2; c++) {
      children[c] = fork();
      if (children[c] == 0) {
        shmp_reader *r = shmp_reader_attach(s.sp, NULL);
        char byte;
        if (r == NULL || read(go[0], &byte, 1) != 1) _exit(1);
        shmp_reader_close(r);
        _exit(0);
      }
    }
    while (atomic_load(&hdr(s)->slots[0].peer) == 0 || atomic_load(&hdr(s)->slots[1].peer) == 0) usleep(100);
    if (write(go[1], "gg", 2) != 2) abort();
    for (int c = 0; c < 2; c++) waitpid(children[c], NULL, 0);
    CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, &err), SHMP_E_CLOSED);
    close(go[0]);
    close(go[1]);
    shmp_writer_close(w);
    seg_free(s);
  }
}

/* Two Arrow messages written by pyarrow (64-byte aligned): the schema
 * {x: int32} and a batch of it with rows 1, 2, 3. */
static const uint8_t SCHEMA_X[] = {
    0xff,0xff,0xff,0xff,0x78,0x00,0x00,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x0a,0x00,0x0c,0x00,0x06,0x00,0x05,0x00,
    0x08,0x00,0x0a,0x00,0x00,0x00,0x00,0x01,0x04,0x00,0x0c,0x00,0x00,0x00,0x08,0x00,0x08,0x00,0x00,0x00,0x04,0x00,
    0x08,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x14,0x00,0x00,0x00,0x10,0x00,0x14,0x00,0x08,0x00,
    0x06,0x00,0x07,0x00,0x0c,0x00,0x00,0x00,0x10,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x01,0x02,0x10,0x00,0x00,0x00,
    0x1c,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x78,0x00,0x00,0x00,0x08,0x00,
    0x0c,0x00,0x08,0x00,0x07,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x20,0x00,0x00,0x00};
static const uint8_t BATCH_X[] = {
    0xff,0xff,0xff,0xff,0xb8,0x00,0x00,0x00,0x14,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x0c,0x00,0x16,0x00,0x06,0x00,
    0x05,0x00,0x08,0x00,0x0c,0x00,0x0c,0x00,0x00,0x00,0x00,0x03,0x04,0x00,0x18,0x00,0x00,0x00,0x10,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x0a,0x00,0x18,0x00,0x0c,0x00,0x04,0x00,0x08,0x00,0x0a,0x00,0x00,0x00,0x3c,0x00,
    0x00,0x00,0x10,0x00,0x00,0x00,0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x02,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x0c,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x03,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x02,0x00,
    0x00,0x00,0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x00};

/* Written by pyarrow: {l: list<int32> [[1, 2], null, []], s: struct<a: int64, b: utf8>
 * [{7, "x"}, null, {null, "yz"}], v: utf8_view ["short", null, "a string longer than twelve"]}. */
static const uint8_t SCHEMA_NESTED[] = {
    0xff,0xff,0xff,0xff,0x50,0x01,0x00,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x0a,0x00,0x0c,0x00,0x06,0x00,0x05,0x00,
    0x08,0x00,0x0a,0x00,0x00,0x00,0x00,0x01,0x04,0x00,0x0c,0x00,0x00,0x00,0x08,0x00,0x08,0x00,0x00,0x00,0x04,0x00,
    0x08,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x03,0x00,0x00,0x00,0xac,0x00,0x00,0x00,0x2c,0x00,0x00,0x00,0x04,0x00,
    0x00,0x00,0x34,0xff,0xff,0xff,0x00,0x00,0x01,0x18,0x10,0x00,0x00,0x00,0x14,0x00,0x00,0x00,0x04,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x76,0x00,0x00,0x00,0x5c,0xff,0xff,0xff,0x58,0xff,0xff,0xff,0x00,0x00,
    0x01,0x0d,0x18,0x00,0x00,0x00,0x1c,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x02,0x00,0x00,0x00,0x38,0x00,0x00,0x00,
    0x10,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x73,0x00,0x00,0x00,0x88,0xff,0xff,0xff,0x84,0xff,0xff,0xff,0x00,0x00,
    0x01,0x05,0x10,0x00,0x00,0x00,0x14,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,
    0x62,0x00,0x00,0x00,0xac,0xff,0xff,0xff,0xa8,0xff,0xff,0xff,0x00,0x00,0x01,0x02,0x10,0x00,0x00,0x00,0x14,0x00,
    0x00,0x00,0x04,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x61,0x00,0x00,0x00,0x94,0xff,0xff,0xff,
    0x00,0x00,0x00,0x01,0x40,0x00,0x00,0x00,0xd4,0xff,0xff,0xff,0x00,0x00,0x01,0x0c,0x14,0x00,0x00,0x00,0x1c,0x00,
    0x00,0x00,0x04,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x24,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x6c,0x00,0x00,0x00,
    0x04,0x00,0x04,0x00,0x04,0x00,0x00,0x00,0x10,0x00,0x14,0x00,0x08,0x00,0x06,0x00,0x07,0x00,0x0c,0x00,0x00,0x00,
    0x10,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x01,0x02,0x10,0x00,0x00,0x00,0x20,0x00,0x00,0x00,0x04,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x69,0x74,0x65,0x6d,0x00,0x00,0x00,0x00,0x08,0x00,0x0c,0x00,0x08,0x00,
    0x07,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x20,0x00,0x00,0x00};
static const uint8_t BATCH_NESTED[] = {
    0xff,0xff,0xff,0xff,0xa0,0x01,0x00,0x00,0x14,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x0c,0x00,0x16,0x00,0x06,0x00,
    0x05,0x00,0x08,0x00,0x0c,0x00,0x0c,0x00,0x00,0x00,0x00,0x03,0x04,0x00,0x1c,0x00,0x00,0x00,0xb8,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x0e,0x00,0x1c,0x00,0x10,0x00,0x04,0x00,0x08,0x00,0x00,0x00,0x0c,0x00,0x0e,0x00,
    0x00,0x00,0x00,0x01,0x00,0x00,0x24,0x00,0x00,0x00,0x10,0x00,0x00,0x00,0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x0d,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x08,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x18,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x18,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x20,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x28,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x30,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x18,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x48,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x48,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x58,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x60,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x68,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x30,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x98,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x1b,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x06,0x00,0x00,0x00,0x03,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x02,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x03,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x05,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x02,0x00,0x00,0x00,
    0x02,0x00,0x00,0x00,0x02,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x02,0x00,0x00,0x00,0x05,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x03,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x07,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x01,0x00,
    0x00,0x00,0x03,0x00,0x00,0x00,0x78,0x79,0x7a,0x00,0x00,0x00,0x00,0x00,0x05,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x05,0x00,0x00,0x00,0x73,0x68,0x6f,0x72,0x74,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x1b,0x00,0x00,0x00,0x61,0x20,0x73,0x74,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x61,0x20,0x73,0x74,0x72,0x69,0x6e,0x67,0x20,0x6c,0x6f,0x6e,0x67,0x65,0x72,0x20,0x74,0x68,
    0x61,0x6e,0x20,0x74,0x77,0x65,0x6c,0x76,0x65,0x00,0x00,0x00,0x00,0x00};


/* Written by pyarrow: {d: duration[ms] [1500], m: decimal128(10, 2) [1.25], t: time32[ms] [1]}
 * (a Duration's unit is left out: MILLISECOND is its default). */
static const uint8_t SCHEMA_UNITS[] = {
    0xff,0xff,0xff,0xff,0xd0,0x00,0x00,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x0a,0x00,0x0c,0x00,0x06,0x00,0x05,0x00,
    0x08,0x00,0x0a,0x00,0x00,0x00,0x00,0x01,0x04,0x00,0x0c,0x00,0x00,0x00,0x08,0x00,0x08,0x00,0x00,0x00,0x04,0x00,
    0x08,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x03,0x00,0x00,0x00,0x74,0x00,0x00,0x00,0x2c,0x00,0x00,0x00,0x04,0x00,
    0x00,0x00,0xa8,0xff,0xff,0xff,0x00,0x00,0x01,0x09,0x10,0x00,0x00,0x00,0x14,0x00,0x00,0x00,0x04,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x74,0x00,0x00,0x00,0x98,0xff,0xff,0xff,0xcc,0xff,0xff,0xff,0x00,0x00,
    0x01,0x07,0x10,0x00,0x00,0x00,0x1c,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,
    0x6d,0x00,0x00,0x00,0x08,0x00,0x0c,0x00,0x04,0x00,0x08,0x00,0x08,0x00,0x00,0x00,0x0a,0x00,0x00,0x00,0x02,0x00,
    0x00,0x00,0x10,0x00,0x14,0x00,0x08,0x00,0x06,0x00,0x07,0x00,0x0c,0x00,0x00,0x00,0x10,0x00,0x10,0x00,0x00,0x00,
    0x00,0x00,0x01,0x12,0x10,0x00,0x00,0x00,0x18,0x00,0x00,0x00,0x04,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,
    0x00,0x00,0x64,0x00,0x00,0x00,0x04,0x00,0x04,0x00,0x04,0x00,0x00,0x00,0x00,0x00,0x00,0x00};
static const uint8_t BATCH_UNITS[] = {
    0xff,0xff,0xff,0xff,0xe8,0x00,0x00,0x00,0x14,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x0c,0x00,0x16,0x00,0x06,0x00,
    0x05,0x00,0x08,0x00,0x0c,0x00,0x0c,0x00,0x00,0x00,0x00,0x03,0x04,0x00,0x18,0x00,0x00,0x00,0x20,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x0a,0x00,0x18,0x00,0x0c,0x00,0x04,0x00,0x08,0x00,0x0a,0x00,0x00,0x00,0x7c,0x00,
    0x00,0x00,0x10,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x06,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x08,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x10,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x18,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x18,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x04,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x03,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x00,0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0xdc,0x05,
    0x00,0x00,0x00,0x00,0x00,0x00,0x7d,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,0x00,
    0x01,0x00,0x00,0x00,0x00,0x00,0x00,0x00};


/* Every node of a nested batch is described, with its buffers (R reads
 * lists, structs and views from them). */
static void test_arrow_nodes(void) {
  shmp_error err = {0};
  shmp_arrow_checker *c = shmp_arrow_checker_new("nodes", "recv", &err);
  uint8_t *schema = aligned_alloc(64, 512), *batch = aligned_alloc(64, 1024);
  memcpy(schema, SCHEMA_NESTED, sizeof SCHEMA_NESTED);
  memcpy(batch, BATCH_NESTED, sizeof BATCH_NESTED);
  CHECK_EQ(shmp_arrow_checker_check(c, schema, sizeof SCHEMA_NESTED, &err), SHMP_ARROW_SCHEMA);
  CHECK_EQ(shmp_arrow_checker_nodes(c), 0);
  CHECK_EQ(shmp_arrow_checker_check(c, batch, sizeof BATCH_NESTED, &err), SHMP_ARROW_RECORD_BATCH);
  CHECK_EQ(shmp_arrow_checker_nodes(c), 6); /* l, l.item, s, s.a, s.b, v */
  shmp_arrow_node n;
  CHECK_EQ(shmp_arrow_checker_node(c, 0, &n), SHMP_OK);
  CHECK(strcmp(n.column.name, "l") == 0 && n.column.type == 12 && n.children == 1 && n.subtree == 2);
  CHECK(n.column.length == 3 && n.column.null_count == 1 && n.buffer_count == 2 && n.first_buffer == 0);
  int32_t offsets[4];
  memcpy(offsets, batch + n.column.values_offset, sizeof offsets);
  CHECK(offsets[0] == 0 && offsets[1] == 2 && offsets[2] == 2 && offsets[3] == 2);
  CHECK_EQ(shmp_arrow_checker_node(c, 1, &n), SHMP_OK);
  int32_t items[2];
  memcpy(items, batch + n.column.values_offset, sizeof items);
  CHECK(n.column.type == 2 && n.column.bit_width == 32 && n.column.length == 2 && items[0] == 1 && items[1] == 2);
  CHECK_EQ(shmp_arrow_checker_node(c, 2, &n), SHMP_OK);
  CHECK(strcmp(n.column.name, "s") == 0 && n.column.type == 13 && n.children == 2 && n.subtree == 3 && n.column.validity_length > 0);
  CHECK_EQ(shmp_arrow_checker_node(c, 4, &n), SHMP_OK);
  CHECK(strcmp(n.column.name, "b") == 0 && n.column.type == 5 && memcmp(batch + n.column.data_offset, "xyz", 3) == 0);
  CHECK_EQ(shmp_arrow_checker_node(c, 5, &n), SHMP_OK);
  CHECK(strcmp(n.column.name, "v") == 0 && n.column.type == 24 && n.buffer_count == 3 && n.column.values_length >= 48);
  uint64_t offset = 0, length = 0;
  CHECK_EQ(shmp_arrow_checker_buffer(c, n.first_buffer + 2, &offset, &length), SHMP_OK);
  CHECK(length >= 27 && memcmp(batch + offset, "a string longer than twelve", 27) == 0);
  CHECK_EQ(shmp_arrow_checker_buffer(c, 99, &offset, &length), SHMP_E_INVALID);
  /* A binding that cannot convert a valid column says so with ETYPE. */
  CHECK(shmp_constant("ETYPE") == SHMP_E_TYPE && strcmp(shmp_error_name(SHMP_E_TYPE), "ETYPE") == 0);
  CHECK_EQ(shmp_arrow_checker_node(c, 6, &n), SHMP_E_INVALID);
  /* A new schema forgets the nodes (their names were the old schema's). */
  CHECK_EQ(shmp_arrow_checker_check(c, schema, sizeof SCHEMA_NESTED, &err), SHMP_ARROW_SCHEMA);
  CHECK_EQ(shmp_arrow_checker_nodes(c), 0);
  /* Units and decimal parameters, a Duration's default unit included. */
  memcpy(schema, SCHEMA_UNITS, sizeof SCHEMA_UNITS);
  memcpy(batch, BATCH_UNITS, sizeof BATCH_UNITS);
  CHECK_EQ(shmp_arrow_checker_check(c, schema, sizeof SCHEMA_UNITS, &err), SHMP_ARROW_SCHEMA);
  CHECK_EQ(shmp_arrow_checker_check(c, batch, sizeof BATCH_UNITS, &err), SHMP_ARROW_RECORD_BATCH);
  CHECK_EQ(shmp_arrow_checker_nodes(c), 3);
  CHECK_EQ(shmp_arrow_checker_node(c, 0, &n), SHMP_OK);
  CHECK(n.column.type == 18 && n.unit == 1);
  CHECK_EQ(shmp_arrow_checker_node(c, 1, &n), SHMP_OK);
  CHECK(n.column.type == 7 && n.precision == 10 && n.scale == 2 && n.column.bit_width == 128);
  CHECK_EQ(shmp_arrow_checker_node(c, 2, &n), SHMP_OK);
  CHECK(n.column.type == 9 && n.unit == 1 && n.column.bit_width == 32);
  free(schema);
  free(batch);
  shmp_arrow_checker_free(c);
}

/* The kind shmp_reader_check_arrow gives the next record of `r`, released. */
static int next_arrow(struct seg s, shmp_reader *r, shmp_arrow_checker *c, shmp_error *err) {
  uint64_t off = 0;
  int64_t len = shmp_reader_peek(r, &off, err);
  if (len < 0) return (int)len;
  int kind = shmp_reader_check_arrow(r, c, (uint8_t *)s.base + off, (uint64_t)len, err);
  shmp_reader_release(r, NULL);
  return kind;
}

/* A reader that attaches after the ring has wrapped missed the schema: the
 * writer is told (once), and the reader skips to the next schema instead of
 * refusing the batches before it; the reader that was there all along
 * reads the schema sent again like any other. */
static void test_late_joiners(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_reader *early = shmp_reader_attach(s.sp, &err);
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_arrow_checker *seen_early = shmp_arrow_checker_new("test", "recv", &err);
  shmp_arrow_checker *seen_late = shmp_arrow_checker_new("test", "recv", &err);
  CHECK_EQ(atomic_load(&hdr(s)->readers_attached), 1);
  CHECK_EQ(shmp_writer_readers_joined(w), 0); /* it started at the first record */
  CHECK_EQ(shmp_writer_send(w, SCHEMA_X, sizeof SCHEMA_X, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(next_arrow(s, early, seen_early, &err), SHMP_ARROW_SCHEMA);
  for (int i = 0; i < 40; i++) { /* laps round the ring: the schema's space is reused */
    CHECK_EQ(shmp_writer_send(w, BATCH_X, sizeof BATCH_X, 0, 0, NULL), SHMP_OK);
    CHECK_EQ(next_arrow(s, early, seen_early, &err), SHMP_ARROW_RECORD_BATCH);
  }
  CHECK_EQ(shmp_writer_send(w, BATCH_X, sizeof BATCH_X, 0, 0, NULL), SHMP_OK);
  CHECK(atomic_load(&hdr(s)->tail) > 0);
  shmp_reader *late = shmp_reader_attach(s.sp, &err);
  CHECK_EQ(atomic_load(&hdr(s)->readers_attached), 2);
  CHECK_EQ(shmp_writer_readers_joined(w), 1);
  CHECK_EQ(shmp_writer_readers_joined(w), 0);
  /* Without a schema the batch would be refused; a late joiner skips it. */
  shmp_arrow_checker *fresh = shmp_arrow_checker_new("test", "recv", &err);
  CHECK_EQ(shmp_reader_check_arrow(early, fresh, BATCH_X, sizeof BATCH_X, &err), SHMP_E_ARROW);
  CHECK(strstr(err.message, "A record batch arrived before any schema") != NULL);
  shmp_arrow_checker_free(fresh);
  int skipped = 0, kind;
  while ((kind = next_arrow(s, late, seen_late, &err)) == 0) skipped++;
  CHECK_EQ(kind, SHMP_E_AGAIN);
  CHECK(skipped >= 1);
  /* What the writer sends again: the schema, then batches both can read. */
  CHECK_EQ(shmp_writer_send(w, SCHEMA_X, sizeof SCHEMA_X, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_send(w, BATCH_X, sizeof BATCH_X, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(next_arrow(s, late, seen_late, &err), SHMP_ARROW_SCHEMA);
  CHECK_EQ(next_arrow(s, late, seen_late, &err), SHMP_ARROW_RECORD_BATCH);
  CHECK_EQ(next_arrow(s, early, seen_early, &err), SHMP_ARROW_RECORD_BATCH);
  CHECK_EQ(next_arrow(s, early, seen_early, &err), SHMP_ARROW_SCHEMA);
  CHECK_EQ(next_arrow(s, early, seen_early, &err), SHMP_ARROW_RECORD_BATCH);
  /* Past the schema, a late joiner's faults are reported like anyone's. */
  CHECK_EQ(shmp_reader_check_arrow(late, seen_late, "garbage!", 8, &err), SHMP_E_ARROW);
  shmp_arrow_checker_free(seen_early);
  shmp_arrow_checker_free(seen_late);
  shmp_reader_close(early);
  shmp_reader_close(late);
  shmp_writer_close(w);
  seg_free(s);
}

/* What a writer's close does with records nobody read, and drain. */
/* The Arrow sender: the schema is owed at first, after a refused or
 * abandoned message and after a reader joined mid-stream; a refused
 * message is never published. */
static void test_arrow_sender(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_arrow_sender *sender = shmp_arrow_sender_new(w, "send", 0, &err);
  CHECK(sender != NULL);
  CHECK_EQ(shmp_arrow_sender_schema_owed(sender), 1);
  uint8_t *base = s.base;
  int64_t at = shmp_writer_claim(w, sizeof SCHEMA_X, 0, 0, &err);
  CHECK(at > 0);
  memcpy(base + at, SCHEMA_X, sizeof SCHEMA_X);
  CHECK_EQ(shmp_arrow_sender_commit(sender, sizeof SCHEMA_X, &err), SHMP_ARROW_SCHEMA);
  CHECK_EQ(shmp_arrow_sender_schema_owed(sender), 0);
  at = shmp_writer_claim(w, sizeof BATCH_X, 0, 0, &err);
  memcpy(base + at, BATCH_X, sizeof BATCH_X);
  CHECK_EQ(shmp_arrow_sender_commit(sender, sizeof BATCH_X, &err), SHMP_ARROW_RECORD_BATCH);
  /* Not Arrow: refused before any reader sees it, and the schema is owed. */
  at = shmp_writer_claim(w, 64, 0, 0, &err);
  memset(base + at, 0x5a, 64);
  CHECK_EQ(shmp_arrow_sender_commit(sender, 64, &err), SHMP_E_ARROW);
  CHECK(strstr(err.message, "send on segment \"test\" failed") != NULL);
  CHECK_EQ(shmp_arrow_sender_schema_owed(sender), 1);
  CHECK_EQ(shmp_arrow_sender_commit(sender, 64, &err), SHMP_E_STATE); /* the claim went with the refusal */
  at = shmp_writer_claim(w, sizeof SCHEMA_X, 0, 0, &err);
  memcpy(base + at, SCHEMA_X, sizeof SCHEMA_X);
  CHECK_EQ(shmp_arrow_sender_commit(sender, sizeof SCHEMA_X, &err), SHMP_ARROW_SCHEMA);
  /* Abandoned half-written: owed again, nothing published. */
  CHECK(shmp_writer_claim(w, sizeof BATCH_X, 0, 0, &err) > 0);
  shmp_arrow_sender_abort(sender);
  CHECK_EQ(shmp_arrow_sender_schema_owed(sender), 1);
  /* The reader got exactly schema, batch, schema. */
  int kinds[3] = {SHMP_ARROW_SCHEMA, SHMP_ARROW_RECORD_BATCH, SHMP_ARROW_SCHEMA};
  shmp_arrow_checker *seen = shmp_arrow_checker_new("test", "recv", &err);
  for (int i = 0; i < 3; i++) CHECK_EQ(next_arrow(s, r, seen, &err), kinds[i]);
  CHECK_EQ(shmp_reader_peek(r, NULL, &err), SHMP_E_AGAIN);
  shmp_arrow_checker_free(seen);
  shmp_arrow_sender_free(sender);
  shmp_writer_close(w);
  shmp_reader_close(r);
  seg_free(s);
}

static void test_what_close_leaves(void) {
  shmp_error err = {0};
  /* The creator writes, nobody ever attaches: linger times out, and the
   * close says what was lost. */
  struct seg s = seg_new(4096);
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  CHECK_EQ(shmp_writer_linger(w, 0, 0, &err), SHMP_OK); /* nothing written: nothing to lose */
  CHECK_EQ(shmp_writer_drain(w, 0, 0, &err), SHMP_OK);
  for (uint8_t i = 0; i < 3; i++) CHECK_EQ(shmp_writer_send(w, &i, 1, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_drain(w, 10 * MS, 0, &err), SHMP_E_TIMEOUT);
  CHECK(strstr(err.message, "3 records (384 bytes) were still unread when the wait ended: no reader has opened") != NULL);
  /* Before it waits, the close says once what for and how long. */
  char notice[256];
  const char *said = "shmpipe: closing \"test\" waits up to 30 s for a reader: none has opened the channel, and its "
                     "3 records (384 bytes) go with its name if none comes";
  CHECK_EQ(shmp_writer_linger_notice(w, 30000 * MS, notice, sizeof notice), strlen(said));
  CHECK(strcmp(notice, said) == 0);
  CHECK_EQ(shmp_writer_linger_notice(w, 0, notice, sizeof notice), 0); /* no wait: nothing to say */
  CHECK(notice[0] == '\0');
  CHECK(shmp_writer_linger_notice(w, 1500 * MS, notice, sizeof notice) > 0 && strstr(notice, "waits up to 1.5 s") != NULL);
  CHECK_EQ(shmp_writer_linger_notice(w, 999 * MS, notice, sizeof notice), 0); /* under a second: no line */
  CHECK(shmp_writer_linger_notice(w, 1000 * MS, notice, sizeof notice) > 0 && strstr(notice, "waits up to 1 s") != NULL);
  CHECK(shmp_writer_linger_notice(w, -1, notice, sizeof notice) > 0 && strstr(notice, "waits until one comes") != NULL);
  CHECK_EQ(shmp_writer_linger_notice(w, 30000 * MS, NULL, 0), strlen(said)); /* its length, as snprintf */
  CHECK_EQ(shmp_writer_linger_notice(w, 30000 * MS, notice, 10), strlen(said));
  CHECK(strcmp(notice, "shmpipe: ") == 0);
  int64_t start = now_ms();
  CHECK_EQ(shmp_writer_linger(w, 30 * MS, 0, &err), SHMP_E_TIMEOUT);
  CHECK(now_ms() - start >= 30);
  CHECK_EQ(shmp_writer_close_checked(w, &err), SHMP_E_UNREAD);
  CHECK(strcmp(shmp_error_name(err.code), "EUNREAD") == 0 && strcmp(err.op, "close") == 0);
  CHECK(strstr(err.message, "3 records (384 bytes) written to it were never read: no reader opened the channel") != NULL);
  CHECK(strstr(err.message, "drain()") != NULL);
  seg_free(s);

  /* A reader that comes while the writer lingers holds the records: the
   * close loses nothing, and the reader reads them all after it. */
  s = seg_new(4096);
  w = shmp_writer_attach(s.sp, &err);
  CHECK_EQ(shmp_writer_linger_notice(w, 30000 * MS, notice, sizeof notice), 0); /* nothing written yet */
  for (uint8_t i = 0; i < 2; i++) CHECK_EQ(shmp_writer_send(w, &i, 1, 0, 0, NULL), SHMP_OK);
  pid_t child = fork();
  if (child == 0) {
    nanosleep(&(struct timespec){0, 50 * MS}, NULL);
    shmp_reader *r = shmp_reader_attach(s.sp, NULL);
    int read = 0;
    while (r != NULL && shmp_reader_next(r, NULL, 2000 * MS, 0, NULL) >= 0 && shmp_reader_release(r, NULL) == 0) read++;
    _exit(read);
  }
  CHECK_EQ(shmp_writer_linger(w, 5000 * MS, 0, &err), SHMP_OK);
  CHECK_EQ(shmp_writer_linger_notice(w, 30000 * MS, notice, sizeof notice), 0); /* a reader holds them now */
  CHECK_EQ(shmp_writer_close_checked(w, &err), SHMP_OK);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
  seg_free(s);

  /* drain: until every attached reader released everything; one that left
   * having read everything counts, one that left early does not. */
  s = seg_new(4096);
  w = shmp_writer_attach(s.sp, &err);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  CHECK_EQ(shmp_writer_send(w, "a", 1, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_send(w, "b", 1, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_drain(w, 0, 0, &err), SHMP_E_TIMEOUT);
  CHECK(strstr(err.message, "2 records (256 bytes) were still unread when the wait ended. ") != NULL);
  CHECK_EQ(shmp_reader_next(r, NULL, 0, 0, NULL), 1);
  CHECK_EQ(shmp_reader_release(r, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_drain(w, 0, 0, &err), SHMP_E_TIMEOUT);
  CHECK(strstr(err.message, "1 record (128 bytes) was still unread") != NULL);
  CHECK_EQ(shmp_reader_next(r, NULL, 0, 0, NULL), 1);
  CHECK_EQ(shmp_reader_release(r, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_drain(w, 0, 0, &err), SHMP_OK);
  shmp_reader_close(r);
  CHECK_EQ(shmp_writer_drain(w, 0, 0, &err), SHMP_OK); /* it left having read everything */
  CHECK_EQ(shmp_writer_linger(w, 0, 0, &err), SHMP_OK); /* a reader came once: it chose to leave */
  r = shmp_reader_attach(s.sp, &err);
  CHECK_EQ(shmp_writer_send(w, "c", 1, 0, 0, NULL), SHMP_OK);
  shmp_reader_close(r);
  CHECK_EQ(shmp_writer_drain(w, 1000 * MS, 0, &err), SHMP_E_CLOSED);
  CHECK(strstr(err.message, "Every reader left the channel with 1 record (128 bytes) unread") != NULL);
  CHECK_EQ(shmp_writer_claim(w, 1, 0, 0, NULL), SHMP_E_CLOSED);
  CHECK_EQ(shmp_writer_close_checked(w, &err), SHMP_OK);
  seg_free(s);
}

/* Persistent tables, unpublishing by name, and a writer that opened (not
 * created) a channel: its close never reports a loss. */
static void test_persistent_tables(void) {
  char name[64];
  snprintf(name, sizeof name, "core-test-table-%d", (int)getpid());
  shmp_error err = {0};
  shmp_segment *s = shmp_segment_create(name, 4096, 0600, &err);
  shmp_writer *w = shmp_writer_attach(s, &err);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_table_unpublish(name, 0, &err), SHMP_E_INVALID);
  CHECK(strstr(err.message, "not a published table") != NULL && strcmp(err.op, "unpublish") == 0);
  shmp_writer_seal_persistent(w);
  CHECK(atomic_load(&((struct shmp_header *)shmp_segment_base(s))->flags) & SHMP_FLAG_PERSISTENT);
  CHECK(shmp_segment_create(name, 4096, 0600, &err) == NULL);
  CHECK_EQ(err.code, -EEXIST);
  CHECK(strstr(err.message, "a persistent published table (published by pid") != NULL);
  shmp_reader *t = shmp_table_open(s, 0, &err);
  CHECK_EQ(shmp_reader_peek(t, NULL, NULL), 1);
  shmp_reader_close(t);
  shmp_segment_unref(s);
  CHECK_EQ(shmp_table_unpublish(name, 0, &err), SHMP_OK);
  CHECK_EQ(shmp_table_unpublish(name, 0, &err), -ENOENT);

  s = shmp_segment_create(name, 4096, 0600, &err);
  shmp_segment *opened = shmp_segment_open(name, 0, 0, &err);
  w = shmp_writer_attach(opened, &err);
  CHECK_EQ(shmp_writer_send(w, "x", 1, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_linger(w, 1000 * MS, 0, &err), SHMP_OK); /* the name is not its to remove */
  char notice[256];
  CHECK_EQ(shmp_writer_linger_notice(w, 1000 * MS, notice, sizeof notice), 0);
  CHECK_EQ(shmp_writer_close_checked(w, &err), SHMP_OK);
  shmp_segment_unref(opened);
  shmp_segment_unref(s);
  shmp_unlink(name, NULL);
}

/* Inspection: a snapshot of who uses a segment and how far the stream got,
 * taken without a role; a corrupt header is an error, never a wrong read. */
static void test_stat(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_stat st;
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_OK);
  CHECK_EQ(st.kind, SHMP_KIND_CHANNEL);
  CHECK_EQ(st.capacity, 4096);
  CHECK_EQ(st.size, SHMP_HEADER_SIZE + 4096);
  CHECK_EQ(st.creator_pid, getpid());
  CHECK_EQ(st.creator_uid, getuid());
  CHECK_EQ(st.creator_alive, 1);
  CHECK_EQ(st.writer_pid, 0);
  CHECK_EQ(st.readers, 0);
  CHECK_EQ(st.committed_records, 0);
  CHECK_EQ(st.stale, 0);

  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  for (int i = 0; i < 3; i++) CHECK_EQ(shmp_writer_send(w, "abc", 3, 0, 0, &err), SHMP_OK);
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_OK);
  CHECK_EQ(st.writer_pid, getpid());
  CHECK_EQ(st.writer_alive, 1);
  CHECK_EQ(st.committed_records, 3);
  CHECK_EQ(st.committed_bytes, 3 * 128);
  CHECK_EQ(st.records_in_flight, 3); /* no reader yet: none was read */
  CHECK_EQ(st.bytes_in_flight, 3 * 128);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  CHECK_EQ(shmp_reader_next(r, NULL, 0, 0, &err), 3);
  CHECK_EQ(shmp_reader_release(r, &err), SHMP_OK);
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_OK);
  CHECK_EQ(st.readers, 1);
  CHECK_EQ(st.readers_alive, 1);
  CHECK_EQ(st.readers_ever, 1);
  CHECK_EQ(st.reader_pid[0], getpid());
  CHECK_EQ(st.reader_alive[0], 1);
  CHECK_EQ(st.records_in_flight, 2);
  CHECK_EQ(st.bytes_in_flight, 2 * 128);
  /* Padding is not a record: 40 more records wrap the ring once. */
  for (int i = 0; i < 40; i++) {
    CHECK_EQ(shmp_writer_send(w, "0123456789", 10, 0, 0, &err), SHMP_OK);
    CHECK_EQ(shmp_reader_next(r, NULL, 0, 0, &err) >= 0, 1);
    CHECK_EQ(shmp_reader_release(r, &err), SHMP_OK);
  }
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_OK);
  CHECK_EQ(st.committed_records, 43);
  CHECK_EQ(st.records_in_flight, 2);
  shmp_writer_close(w);
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_OK);
  CHECK_EQ(st.writer_closed, 1);

  /* Forged positions: refused with a sentence. */
  struct shmp_header *h = hdr(s);
  uint64_t tail = atomic_load(&h->slots[0].tail);
  atomic_store(&h->slots[0].tail, atomic_load(&h->head) + 64);
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_E_CORRUPT);
  CHECK(strstr(err.message, "A reader's position is out of range") != NULL && strcmp(err.op, "stat") == 0);
  atomic_store(&h->slots[0].tail, tail + 1);
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_E_CORRUPT);
  atomic_store(&h->slots[0].tail, tail);
  atomic_store(&h->magic, 0x1234);
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_E_BAD_MAGIC);
  atomic_store(&h->magic, SHMP_MAGIC);
  CHECK_EQ(shmp_segment_stat(s.sp, &st, &err), SHMP_OK);
  CHECK_EQ(shmp_segment_stat(NULL, &st, &err), SHMP_E_INVALID);
  shmp_reader_close(r);
  seg_free(s);
}

/* A child that creates `name` (a persistent table if `table`) and exits
 * without removing it, as a SIGKILLed one would. */
static void leave_behind(const char *name, int table) {
  pid_t child = fork();
  if (child == 0) {
    shmp_segment *s = shmp_segment_create(name, 4096, 0600, NULL);
    shmp_writer *w = s ? shmp_writer_attach(s, NULL) : NULL;
    if (w == NULL || shmp_writer_send(w, "x", 1, 0, 0, NULL) != SHMP_OK) _exit(1);
    if (table) shmp_writer_seal_persistent(w);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int listed(const char *list, int64_t len, const char *name) {
  for (int64_t at = 0; at < len; at += (int64_t)strlen(list + at) + 1)
    if (strcmp(list + at, name) == 0) return 1;
  return 0;
}

/* Opening for inspection takes no role and cannot write; stale segments and
 * persistent tables are told apart; the lister finds shmpipe names only;
 * a garbage file named like a segment is an error. */
static void test_inspect_named(void) {
  char live[64], stale[64], table[64], garbage[64], bad[64];
  snprintf(live, sizeof live, "core-inspect-live-%d", (int)getpid());
  snprintf(stale, sizeof stale, "core-inspect-stale-%d", (int)getpid());
  snprintf(table, sizeof table, "core-inspect-table-%d", (int)getpid());
  snprintf(garbage, sizeof garbage, "core-inspect-garbage-%d", (int)getpid());
  snprintf(bad, sizeof bad, "/" SHMP_NAME_PREFIX "-bad-%d", (int)getpid());
  shmp_error err = {0};
  shmp_stat st;

  shmp_segment *created = shmp_segment_create(live, 4096, 0600, &err);
  shmp_segment *look = shmp_segment_open(live, SHMP_OPEN_INSPECT, 0, &err);
  CHECK(created != NULL && look != NULL);
  CHECK(shmp_writer_attach(look, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_INVALID);
  CHECK(strstr(err.message, "opened for inspection") != NULL);
  CHECK(shmp_reader_attach(look, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_INVALID);
  CHECK_EQ(shmp_segment_stat(look, &st, &err), SHMP_OK);
  CHECK_EQ(st.creator_alive, 1);
  CHECK_EQ(st.stale, 0);
  pid_t child = fork();
  if (child == 0) {
    signal(SIGSEGV, SIG_DFL);
    ((volatile uint8_t *)shmp_segment_base(look))[64] = 1; /* the header too is read-only */
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
  shmp_segment_unref(look);

  leave_behind(stale, 0);
  leave_behind(table, 1);
  look = shmp_segment_open(stale, SHMP_OPEN_INSPECT, 0, &err);
  CHECK(look != NULL);
  CHECK_EQ(shmp_segment_stat(look, &st, &err), SHMP_OK);
  CHECK_EQ(st.creator_alive, 0);
  CHECK_EQ(st.writer_alive, 0);
  CHECK_EQ(st.stale, 1);
  CHECK_EQ(st.records_in_flight, 1);
  shmp_segment_unref(look);
  look = shmp_segment_open(table, SHMP_OPEN_INSPECT, 0, &err);
  CHECK(look != NULL);
  CHECK_EQ(shmp_segment_stat(look, &st, &err), SHMP_OK);
  CHECK_EQ(st.kind, SHMP_KIND_TABLE);
  CHECK_EQ(st.persistent, 1);
  CHECK_EQ(st.stale, 0);
  CHECK_EQ(st.committed_records, 1);
  CHECK_EQ(st.records_in_flight, 0);
  shmp_reader *t = shmp_table_open(look, 0, &err); /* reads a table without writing */
  CHECK(t != NULL);
  CHECK_EQ(shmp_reader_peek(t, NULL, &err), 1);
  CHECK_EQ(shmp_reader_release(t, &err), SHMP_OK);
  shmp_reader_close(t);
  shmp_segment_unref(look);

  /* Garbage named like a segment, and an object whose name is not a channel's. */
  char path[SHMP_NAME_MAX + 16];
  shmp_shm_name(garbage, "create", path, sizeof path, NULL);
  int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  CHECK(fd >= 0 && ftruncate(fd, 8192) == 0);
  void *junk = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  memset(junk, 0xa5, 8192);
  munmap(junk, 8192);
  close(fd);
  CHECK(shmp_segment_open(garbage, SHMP_OPEN_INSPECT, 0, &err) == NULL);
  CHECK_EQ(err.code, SHMP_E_BAD_MAGIC);
  CHECK(strstr(err.message, garbage) != NULL);
  fd = shm_open(bad, O_RDWR | O_CREAT | O_EXCL, 0600);
  CHECK(fd >= 0);
  close(fd);

  int64_t need = shmp_segment_list(NULL, 0, &err);
  CHECK(need > 0);
  char *list = malloc((size_t)need + 256);
  int64_t len = shmp_segment_list(list, (uint64_t)need + 256, &err);
  CHECK(len >= 0 && len <= need + 256);
  CHECK(listed(list, len, live) && listed(list, len, stale) && listed(list, len, table) && listed(list, len, garbage));
  CHECK(!listed(list, len, bad + 1 + strlen(SHMP_NAME_PREFIX)));
  CHECK(shmp_segment_list(list, 3, &err) > 3); /* too small: says how much */
  free(list);

  shm_unlink(bad);
  shmp_unlink(garbage, NULL);
  shmp_unlink(stale, NULL);
  CHECK_EQ(shmp_table_unpublish(table, 0, &err), SHMP_OK);
  shmp_segment_unref(created);
  shmp_unlink(live, NULL);
}

/* A binding that polls the ring's head itself (HEADER_HEAD_OFFSET) sees
 * every commit move it, and a call then finds the record; nothing there
 * is a cheap SHMP_E_AGAIN that leaves err alone, and *read_to is the head
 * value that means nothing new, also across padding at the ring's end. */
static void test_head_for_pollers(void) {
  struct seg s = seg_new(4096);
  shmp_writer *w = shmp_writer_attach(s.sp, NULL);
  shmp_reader *r = shmp_reader_attach(s.sp, NULL);
  CHECK(w != NULL && r != NULL);
  const _Atomic uint64_t *head = (const _Atomic uint64_t *)((char *)s.base + shmp_constant("HEADER_HEAD_OFFSET"));
  CHECK_EQ(shmp_reader_next(r, NULL, 0, 0, NULL), SHMP_E_TIMEOUT); /* the waiting call's answer */
  char record[1000] = "ping";
  for (int i = 0; i < 12; i++) { /* 3 records of 1 KiB fill the ring: it wraps, with padding */
    shmp_error err = {0};
    uint64_t offset = 0, lease = UINT64_MAX, read_to = UINT64_MAX;
    CHECK_EQ(shmp_reader_try_take(r, &offset, &lease, &read_to, &err), SHMP_E_AGAIN);
    CHECK_EQ(err.message[0], 0);
    CHECK_EQ(read_to, atomic_load(head));
    CHECK_EQ(shmp_writer_send(w, record, sizeof record, 0, 0, NULL), SHMP_OK);
    CHECK(atomic_load(head) != read_to);
    CHECK_EQ(shmp_reader_try_take(r, &offset, &lease, &read_to, &err), (int64_t)sizeof record);
    CHECK_EQ(memcmp((char *)s.base + offset, "ping", 5), 0);
    CHECK_EQ(read_to, atomic_load(head));
    CHECK_EQ(shmp_reader_release_lease(r, lease, NULL), SHMP_OK);
  }
  shmp_writer_close(w);
  shmp_error err = {0};
  uint64_t read_to = 0;
  CHECK_EQ(shmp_reader_try_take(r, NULL, NULL, &read_to, &err), SHMP_E_CLOSED); /* the head did not move */
  CHECK_EQ(read_to, atomic_load(head));
  CHECK(strstr(err.message, "every record was read") != NULL);
  shmp_reader_close(r);
  seg_free(s);

  /* A signal caught ends the poll as it ends a wait. */
  s = seg_new(4096);
  pid_t child = fork();
  if (child == 0) {
    signal(SIGTERM, own_handler);
    if (shmp_interrupt_waits_on_signals() != SHMP_OK) _exit(10);
    shmp_reader *cr = shmp_reader_attach(s.sp, NULL);
    shmp_error cerr = {0};
    int before = shmp_reader_try_take(cr, NULL, NULL, NULL, &cerr) == SHMP_E_AGAIN;
    raise(SIGTERM);
    int ok = before && shmp_reader_try_take(cr, NULL, NULL, NULL, &cerr) == -EINTR &&
             strstr(cerr.message, "SIGTERM arrived") && shmp_interrupted_signal() == SIGTERM;
    shmp_reader_close(cr);
    _exit(ok ? 0 : 11);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  seg_free(s);
}

/* shmp_reader_try_take_copy: a record of at most copy_room bytes comes as a
 * copy with its space back at once (the writer can fill the ring again
 * while the copy is kept), a longer one under a lease, behind which the
 * copies' space waits; nothing there and the end are try_take's answers. */
static void test_small_records_copied(void) {
  struct seg s = seg_new(4096);
  shmp_writer *w = shmp_writer_attach(s.sp, NULL);
  shmp_reader *r = shmp_reader_attach(s.sp, NULL);
  CHECK(w != NULL && r != NULL);
  CHECK_EQ(shmp_constant("COPY_BELOW"), SHMP_COPY_BELOW);
  char copy[SHMP_COPY_BELOW] = {0}, small[100] = "small", large[1000] = "large";
  uint64_t room = SHMP_COPY_BELOW - 1, offset = UINT64_MAX, lease = UINT64_MAX, read_to = 0;
  CHECK_EQ(shmp_reader_try_take_copy(r, copy, room, &offset, &lease, &read_to, NULL), SHMP_E_AGAIN);
  for (int i = 0; i < 100; i++) { /* 25 rings' worth: each copy gave its space back */
    small[6] = (char)i;
    CHECK_EQ(shmp_writer_send(w, small, sizeof small, 0, 0, NULL), SHMP_OK);
    CHECK_EQ(shmp_reader_try_take_copy(r, copy, room, &offset, &lease, &read_to, NULL), (int64_t)sizeof small);
    CHECK(memcmp(copy, small, sizeof small) == 0);
    CHECK(offset == UINT64_MAX && lease == UINT64_MAX); /* no lease, nothing to release */
  }
  CHECK_EQ(shmp_writer_send(w, small, 0, 0, 0, NULL), SHMP_OK); /* an empty record is copied too */
  CHECK_EQ(shmp_reader_try_take_copy(r, copy, room, &offset, &lease, &read_to, NULL), 0);
  /* A record longer than the room is leased, and holds the ring. */
  CHECK_EQ(shmp_writer_send(w, large, sizeof large, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_reader_try_take_copy(r, copy, room, &offset, &lease, &read_to, NULL), (int64_t)sizeof large);
  CHECK(lease != UINT64_MAX && memcmp((char *)s.base + offset, "large", 6) == 0);
  CHECK_EQ(read_to, atomic_load((_Atomic uint64_t *)((char *)s.base + shmp_constant("HEADER_HEAD_OFFSET"))));
  int sent = 0;
  while (shmp_writer_send(w, small, sizeof small, 0, 0, NULL) == SHMP_OK) {
    CHECK_EQ(shmp_reader_try_take_copy(r, copy, room, &offset, &lease, &read_to, NULL), (int64_t)sizeof small);
    sent++;
  }
  CHECK(sent > 0 && sent < 40); /* the lease kept the writer from going round the ring */
  CHECK_EQ(shmp_reader_release_lease(r, lease, NULL), SHMP_OK);
  CHECK_EQ(shmp_writer_send(w, small, sizeof small, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_reader_try_take_copy(r, copy, room, &offset, &lease, &read_to, NULL), (int64_t)sizeof small);
  shmp_writer_close(w);
  shmp_error err = {0};
  CHECK_EQ(shmp_reader_try_take_copy(r, copy, room, &offset, &lease, &read_to, &err), SHMP_E_CLOSED);
  CHECK(strstr(err.message, "every record was read") != NULL);
  shmp_reader_close(r);
  seg_free(s);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* try_take_copy against a writer in another process, polled as a busy
 * binding polls (the head, then a call): every small record arrives once,
 * in order, as a copy with its space given back. A record committed
 * between two looks at the ring in one call was once taken under a lease
 * that nobody released: the writer then waited for room for ever. */
static void test_copies_across_processes(void) {
  enum { N = 200000 };
  struct seg s = seg_new(4096);
  const _Atomic uint64_t *head = (const _Atomic uint64_t *)((char *)s.base + shmp_constant("HEADER_HEAD_OFFSET"));
  shmp_reader *r = shmp_reader_attach(s.sp, NULL);
  CHECK(r != NULL);
  pid_t child = fork();
  if (child == 0) {
    shmp_writer *w = shmp_writer_attach(s.sp, NULL);
    if (!w) _exit(10);
    for (uint32_t i = 0; i < N; i++) {
      uint32_t record[8] = {i};
      if (shmp_writer_send(w, record, (i % 8 + 1) * 4, 5000 * MS, 1000, NULL) != SHMP_OK) _exit(11);
    }
    shmp_writer_close(w);
    _exit(0);
  }
  uint32_t copy[SHMP_COPY_BELOW / 4], got = 0, bad = 0;
  uint64_t offset = UINT64_MAX, lease = UINT64_MAX, read_to = 0;
  int64_t start = mono_ns(), n;
  while ((n = shmp_reader_try_take_copy(r, copy, SHMP_COPY_BELOW - 1, &offset, &lease, &read_to, NULL)) != SHMP_E_CLOSED) {
    if (n == SHMP_E_AGAIN) {
      while (atomic_load(head) == read_to && mono_ns() - start < 20000 * MS) cpu_relax();
      if (mono_ns() - start >= 20000 * MS) break;
      continue;
    }
    bad += n != (int64_t)(got % 8 + 1) * 4 || copy[0] != got;
    got++;
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(got, N);
  CHECK_EQ(bad, 0);
  CHECK(offset == UINT64_MAX && lease == UINT64_MAX);
  shmp_reader_close(r);
  seg_free(s);
}

/* A claim wakes a reader asleep in its wait, which then waits through the
 * copy (spinning, then napping in short slices) and gets the record; large claims say a record is coming even with
 * nobody asleep, small ones do not; commit, abort and close end it; a
 * writer that dies holding a claim is noticed by the spinning reader. */
static void test_wake_ahead(void) {
  struct seg s = seg_new(1 << 20);
  struct shmp_header *h = s.base;
  shmp_writer *w = shmp_writer_attach(s.sp, NULL);
  shmp_reader *r = shmp_reader_attach(s.sp, NULL);
  CHECK(w != NULL && r != NULL);
  CHECK(shmp_writer_claim(w, 100, 0, 0, NULL) > 0);
  CHECK_EQ(atomic_load(&h->data_coming), 0); /* small, nobody asleep */
  CHECK_EQ(shmp_writer_abort(w, NULL), SHMP_OK);
  CHECK(shmp_writer_claim(w, 512 << 10, 0, 0, NULL) > 0);
  CHECK_EQ(atomic_load(&h->data_coming), 1); /* large */
  CHECK_EQ(shmp_writer_abort(w, NULL), SHMP_OK);
  CHECK_EQ(atomic_load(&h->data_coming), 0);

  pid_t child = fork();
  if (child == 0) { /* the reader: sleeps at once (spin 0) */
    int64_t len = shmp_reader_next(r, NULL, 5000 * MS, 0, NULL);
    _exit(len == 64 ? 0 : 1);
  }
  int64_t start = mono_ns();
  while (atomic_load(&h->data_waiters) == 0 && mono_ns() - start < 2000 * MS) usleep(1000);
  CHECK_EQ(atomic_load(&h->data_waiters), 1);
  usleep(20000); /* asleep for a while, as during an idle stream */
  uint32_t wakes = atomic_load(&h->data_futex);
  CHECK(shmp_writer_claim(w, 64, 0, 0, NULL) > 0);
  CHECK_EQ(atomic_load(&h->data_coming), 1); /* small, but a reader sleeps */
  CHECK_EQ(atomic_load(&h->data_futex), wakes + 1); /* woken at the claim */
  usleep(20000);
  CHECK_EQ(waitpid(child, NULL, WNOHANG), 0); /* waiting through the copy still */
  CHECK_EQ(shmp_writer_commit(w, 64, NULL), SHMP_OK);
  CHECK_EQ(atomic_load(&h->data_coming), 0);
  int status;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(shmp_writer_claim(w, 512 << 10, 0, 0, NULL) > 0);
  shmp_writer_close(w); /* a claim left open ends with the writer */
  CHECK_EQ(atomic_load(&h->data_coming), 0);
  shmp_reader_close(r);
  seg_free(s);

  /* A writer killed while it fills a large record: the reader spinning
   * through the copy learns that it died. */
  struct seg t = seg_new(1 << 20);
  int ready[2];
  if (pipe(ready) != 0) abort();
  shmp_reader *tr = shmp_reader_attach(t.sp, NULL);
  CHECK(tr != NULL);
  pid_t writer = fork();
  if (writer == 0) {
    shmp_writer *cw = shmp_writer_attach(t.sp, NULL);
    if (cw == NULL || shmp_writer_claim(cw, 512 << 10, 0, 0, NULL) < 0) _exit(1);
    if (write(ready[1], "k", 1) != 1) _exit(1);
    for (;;) pause();
  }
  char c;
  CHECK(read(ready[0], &c, 1) == 1);
  CHECK_EQ(atomic_load(&((struct shmp_header *)t.base)->data_coming), 1);
  kill(writer, SIGKILL);
  start = mono_ns();
  CHECK_EQ(shmp_reader_next(tr, NULL, 5000 * MS, 0, NULL), SHMP_E_PEER_GONE);
  CHECK(mono_ns() - start < 1000 * MS);
  waitpid(writer, NULL, 0);
  close(ready[0]);
  close(ready[1]);
  shmp_reader_close(tr);
  seg_free(t);
}

/* A table being published (shmp_table_create) is written through its
 * file: the bytes are the ones the encoder writes into memory, padding
 * zeroed even where the record held other bytes, the range is checked,
 * and the file is closed when the table is sealed. */
static void test_table_written_through_its_file(void) {
  enum { ROWS = 1000 };
  char name[64];
  snprintf(name, sizeof name, "core-test-file-%d", (int)getpid());
  double prices[ROWS];
  int32_t counts[ROWS];
  for (int i = 0; i < ROWS; i++) prices[i] = i * 0.5, counts[i] = i; /* 4000 bytes: padding after them */
  shmp_column columns[] = {{.name = "price", .kind = SHMP_COLUMN_FLOAT64, .values = prices},
                           {.name = "count", .kind = SHMP_COLUMN_INT32, .values = counts}};
  shmp_error err = {0};
  int64_t size = shmp_arrow_encode_batch(columns, 2, ROWS, NULL, 0, &err);
  uint8_t *expected = aligned_alloc(64, (size_t)size);
  memset(expected, 0xAA, (size_t)size); /* a reused record: the encoder zeroes the padding itself */
  CHECK_EQ(shmp_arrow_encode_batch(columns, 2, ROWS, expected, (uint64_t)size, &err), size);
  uint8_t *zeroed = aligned_alloc(64, (size_t)size);
  memset(zeroed, 0, (size_t)size);
  CHECK_EQ(shmp_arrow_encode_batch(columns, 2, ROWS, zeroed, (uint64_t)size, &err), size);
  CHECK(memcmp(expected, zeroed, (size_t)size) == 0);

  uint64_t schema = (uint64_t)shmp_arrow_encode_schema(columns, 2, NULL, 0, &err);
  shmp_segment *s = shmp_table_create(name, shmp_record_footprint(schema) + shmp_record_footprint((uint64_t)size), 0600, &err);
  CHECK(s != NULL && s->fd >= 0);
  shmp_writer *w = shmp_writer_attach(s, &err);
  shmp_arrow_sender *sender = shmp_arrow_sender_new(w, "publish", 0, &err);
  int64_t at = shmp_writer_claim(w, schema, 0, 0, &err);
  CHECK_EQ(shmp_arrow_encode_schema(columns, 2, (uint8_t *)s->base + at, schema, &err), (int64_t)schema);
  CHECK_EQ(shmp_arrow_sender_commit(sender, schema, &err), SHMP_ARROW_SCHEMA);
  at = shmp_writer_claim(w, (uint64_t)size, 0, 0, &err);
  CHECK(at > 0);
  memset((uint8_t *)s->base + at, 0xAA, (size_t)size);
  CHECK_EQ(shmp_arrow_encode_batch_into(columns, 2, ROWS, s, (uint64_t)at, (uint64_t)size, &err), size);
  CHECK(memcmp((uint8_t *)s->base + at, expected, (size_t)size) == 0); /* the file's pages are the mapping's */
  CHECK_EQ(shmp_arrow_sender_commit(sender, (uint64_t)size, &err), SHMP_ARROW_RECORD_BATCH); /* and pass the check */
  /* Outside the mapping: refused, saying where. */
  CHECK_EQ(shmp_segment_write(s, s->size - 8, prices, 16, &err), SHMP_E_INVALID);
  CHECK(strstr(err.message, "outside the") != NULL);
  CHECK_EQ(shmp_arrow_encode_batch_into(columns, 2, ROWS, s, s->size - 64, (uint64_t)size, &err), SHMP_E_INVALID);
  CHECK_EQ(shmp_arrow_encode_batch_into(columns, 2, ROWS, NULL, 0, (uint64_t)size, &err), SHMP_E_INVALID);
  shmp_arrow_sender_free(sender);
  shmp_writer_seal(w);
  CHECK_EQ(s->fd, -1); /* sealed: written no more */
  shmp_segment_unref(s);
  CHECK_EQ(shmp_unlink(name, &err), SHMP_OK);

  /* A channel's segment keeps no file: the same call copies through the mapping. */
  s = shmp_segment_create(name, 4096, 0600, &err);
  CHECK(s != NULL && s->fd == -1);
  CHECK_EQ(shmp_segment_write(s, SHMP_HEADER_SIZE, prices, 16, &err), SHMP_OK);
  CHECK(memcmp((uint8_t *)s->base + SHMP_HEADER_SIZE, prices, 16) == 0);
  shmp_segment_unref(s);
  CHECK_EQ(shmp_unlink(name, &err), SHMP_OK);
  free(expected);
  free(zeroed);
}

/* A binding that maps its segments itself (TypeScript) hands the core the
 * file of a table it publishes: the core refuses a descriptor of another
 * size and leaves no name recorded; it keeps a descriptor of its own, which
 * outlives the binding's, writes through it, and closes it at the seal. */
static void test_table_formatted_with_its_file(void) {
  char name[64], path[SHMP_NAME_MAX + 10];
  snprintf(name, sizeof name, "core-test-format-%d", (int)getpid());
  shmp_error err = {0};
  CHECK_EQ(shmp_shm_name(name, "create", path, sizeof path, &err), SHMP_OK);
  int64_t size = shmp_create_size(name, 8192, 0600, &err);
  CHECK(size > 0);
  int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  CHECK(fd >= 0);
  CHECK_EQ(posix_fallocate(fd, 0, size), 0);
  void *base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(base != MAP_FAILED);
  int owned = shmp_owned_count();
  int pipe_fds[2];
  CHECK_EQ(pipe(pipe_fds), 0);
  CHECK(shmp_table_format(name, base, (uint64_t)size, pipe_fds[0], &err) == NULL); /* not a file */
  CHECK_EQ(err.code, SHMP_E_INVALID);
  CHECK(strstr(err.message, "is not the file of the") != NULL);
  CHECK(shmp_table_format(name, base, (uint64_t)size - 4096, fd, &err) == NULL); /* not its size */
  CHECK_EQ(shmp_owned_count(), owned);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  shmp_segment *s = shmp_table_format(name, base, (uint64_t)size, fd, &err);
  CHECK(s != NULL && s->fd >= 0 && s->fd != fd);
  CHECK_EQ(shmp_owned_count(), owned + 1);
  close(fd); /* the binding's: the segment writes through its own */
  const char greeting[] = "written through the file";
  CHECK_EQ(shmp_segment_write(s, SHMP_HEADER_SIZE + 64, greeting, sizeof greeting, &err), SHMP_OK);
  CHECK(memcmp((uint8_t *)base + SHMP_HEADER_SIZE + 64, greeting, sizeof greeting) == 0);
  int kept = s->fd;
  CHECK(fcntl(kept, F_GETFD) & FD_CLOEXEC);
  shmp_writer *w = shmp_writer_attach(s, &err);
  CHECK(w != NULL);
  shmp_writer_seal(w);
  CHECK_EQ(s->fd, -1);
  CHECK_EQ(fcntl(kept, F_GETFD), -1); /* closed */
  shmp_segment_unref(s);
  CHECK_EQ(shmp_unlink(name, &err), SHMP_OK);
  CHECK_EQ(shmp_owned_count(), owned);
}

/* ---- batches ---------------------------------------------------------------- */

/* The bytes of record `i` of a batch stream: a function of its number and place. */
static uint8_t batch_byte(uint32_t record, uint64_t at) { return (uint8_t)(record * 7 + at * 13); }

/* Record `first + i` for i < count, as a batch: their bytes into `data`, lengths into `lengths`. */
static uint64_t fill_batch(uint8_t *data, uint64_t *lengths, const uint64_t *sizes, uint32_t first, uint32_t count) {
  uint64_t at = 0;
  for (uint32_t i = 0; i < count; i++) {
    lengths[i] = sizes[i];
    for (uint64_t k = 0; k < sizes[i]; k++) data[at + k] = batch_byte(first + i, k);
    at += sizes[i];
  }
  return at;
}

/* Record i of what take_batch gave has `length` bytes of record `number`. */
static int batch_record_is(struct seg s, const uint64_t *records, uint32_t i, uint32_t number, uint64_t length) {
  if (records[2 * i + 1] != length || records[2 * i] % 64 != 0) return 0;
  if (records[2 * i] < SHMP_HEADER_SIZE || records[2 * i] + length > s.size) return 0;
  const uint8_t *p = (const uint8_t *)s.base + records[2 * i];
  for (uint64_t k = 0; k < length; k++)
    if (p[k] != batch_byte(number, k)) return 0;
  return 1;
}

/* Arguments are checked before anything is sent; the records of a batch
 * arrive as sent one by one would; padding inside a batch; one lease holds
 * a batch, padding included; a batch the ring cannot hold publishes what
 * fits and says how far it got. */
static void test_batches(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  uint8_t data[8192];
  uint64_t lengths[8], records[16], lease = 0, lease2 = 0, sent = 99;

  uint64_t five[] = {0, 5, 100, 1, 200}; /* ring bytes 64 + 128 + 192 + 128 + 320 */
  uint64_t bytes = fill_batch(data, lengths, five, 0, 5);
  CHECK_EQ(shmp_writer_send_batch(w, data, bytes - 1, lengths, 5, 0, 0, &sent, &err), SHMP_E_INVALID);
  CHECK(strstr(err.message, "add up to 306 bytes, but 305") != NULL);
  CHECK_EQ(sent, 0);
  CHECK_EQ(shmp_writer_send_batch(w, data, bytes, NULL, 5, 0, 0, &sent, &err), SHMP_E_INVALID);
  uint64_t huge[] = {1, 4096};
  CHECK_EQ(shmp_writer_send_batch(w, data, 4097, huge, 2, 0, 0, &sent, &err), SHMP_E_TOO_LARGE);
  CHECK(strstr(err.message, "Record 1 of the batch (4096 bytes) does not fit") != NULL);
  CHECK_EQ(shmp_writer_send_batch(w, NULL, 0, NULL, 0, 0, 0, &sent, &err), 0);
  CHECK_EQ(shmp_reader_peek(r, NULL, NULL), SHMP_E_AGAIN); /* none of that sent anything */
  CHECK_EQ(shmp_reader_take_batch(r, records, 0, &lease, 0, 0, &err), SHMP_E_INVALID);
  CHECK_EQ(shmp_reader_take_batch(r, NULL, 8, &lease, 0, 0, &err), SHMP_E_INVALID);
  CHECK_EQ(shmp_reader_take_batch(r, records, 8, &lease, 0, 0, &err), SHMP_E_TIMEOUT);
  CHECK_EQ(shmp_writer_claim(w, 10, 0, 0, NULL) > 0, 1);
  CHECK_EQ(shmp_writer_send_batch(w, data, bytes, lengths, 5, 0, 0, &sent, &err), SHMP_E_STATE);
  CHECK_EQ(shmp_writer_abort(w, NULL), SHMP_OK);

  CHECK_EQ(shmp_writer_send_batch(w, data, bytes, lengths, 5, 0, 0, &sent, &err), 5);
  CHECK_EQ(sent, 5);
  CHECK_EQ(atomic_load(&hdr(s)->records), 5);
  CHECK_EQ(atomic_load(&hdr(s)->head), 832);
  /* A record peeked is the first of the batch; `max` bounds it. */
  CHECK_EQ(shmp_reader_peek(r, NULL, NULL), 0);
  CHECK_EQ(shmp_reader_take_batch(r, records, 3, &lease, 0, 0, &err), 3);
  CHECK_EQ(lease, 0);
  for (uint32_t i = 0; i < 3; i++) CHECK(batch_record_is(s, records, i, i, five[i]));
  CHECK_EQ(shmp_reader_take_batch(r, records, 8, &lease2, 0, 0, &err), 2);
  CHECK_EQ(lease2, 384);
  for (uint32_t i = 0; i < 2; i++) CHECK(batch_record_is(s, records, i, 3 + i, five[3 + i]));
  CHECK_EQ(shmp_reader_take_batch(r, records, 8, &lease, 0, 0, &err), SHMP_E_TIMEOUT);
  CHECK_EQ(atomic_load(&hdr(s)->slots[0].tail), 0);
  CHECK_EQ(shmp_reader_release_lease(r, 0, &err), SHMP_OK);
  CHECK_EQ(atomic_load(&hdr(s)->slots[0].tail), 384);
  CHECK_EQ(shmp_reader_release_lease(r, lease2, &err), SHMP_OK);
  CHECK_EQ(atomic_load(&hdr(s)->slots[0].tail), 832);

  /* Padding inside a batch: records at 1024 and 2112, padding from 3200,
   * the third at the start of the ring. The ring is then full, and the
   * batch's lease keeps it so although the padding was skipped. */
  CHECK_EQ(shmp_writer_send(w, data, 100, 0, 0, NULL), SHMP_OK);
  CHECK_EQ(shmp_reader_next(r, NULL, 0, 0, NULL), 100);
  CHECK_EQ(shmp_reader_release(r, NULL), SHMP_OK);
  uint64_t three[] = {1000, 1000, 900};
  bytes = fill_batch(data, lengths, three, 10, 3);
  CHECK_EQ(shmp_writer_send_batch(w, data, bytes, lengths, 3, 0, 0, &sent, &err), 3);
  CHECK_EQ(atomic_load(&hdr(s)->head), 5120);
  CHECK_EQ(shmp_reader_take_batch(r, records, 8, &lease, 0, 0, &err), 3);
  for (uint32_t i = 0; i < 3; i++) CHECK(batch_record_is(s, records, i, 10 + i, three[i]));
  CHECK_EQ(records[4], SHMP_HEADER_SIZE + 64);
  CHECK_EQ(atomic_load(&hdr(s)->slots[0].tail), 1024);
  CHECK_EQ(shmp_writer_send(w, data, 1, 0, 0, NULL), SHMP_E_TIMEOUT);
  CHECK_EQ(shmp_reader_release_lease(r, lease, &err), SHMP_OK);
  CHECK_EQ(atomic_load(&hdr(s)->slots[0].tail), 5120);

  /* Five records of 1088 ring bytes from 5120: two fit before the end,
   * then padding, and the third would need the space they hold. */
  uint64_t big[] = {1000, 1000, 1000, 1000, 1000};
  bytes = fill_batch(data, lengths, big, 20, 5);
  CHECK_EQ(shmp_writer_send_batch(w, data, bytes, lengths, 5, 0, 0, &sent, &err), SHMP_E_TIMEOUT);
  CHECK_EQ(sent, 2);
  CHECK(strstr(err.message, "2 of the batch's 5 records were sent before it") != NULL);
  CHECK_EQ(shmp_reader_take_batch(r, records, 8, &lease, 0, 0, &err), 2); /* published, padding too */
  for (uint32_t i = 0; i < 2; i++) CHECK(batch_record_is(s, records, i, 20 + i, 1000));
  CHECK_EQ(shmp_reader_take_batch(r, records, 8, &lease2, 0, 0, &err), SHMP_E_TIMEOUT);
  /* Going on from record 2 (send_batch_from): while the two are held it
   * fails again, counting the whole batch; once released, the rest goes. */
  CHECK_EQ(shmp_writer_send_batch_from(w, data, bytes, lengths, 5, 2, 0, 0, &sent, &err), SHMP_E_TIMEOUT);
  CHECK_EQ(sent, 2);
  CHECK(strstr(err.message, "2 of the batch's 5 records were sent before it") != NULL);
  CHECK_EQ(shmp_writer_send_batch_from(w, data, bytes, lengths, 5, 6, 0, 0, &sent, &err), SHMP_E_INVALID);
  CHECK(strstr(err.message, "A batch of 5 records has no record 6 to go on from") != NULL);
  CHECK_EQ(shmp_reader_release_lease(r, lease, &err), SHMP_OK);
  CHECK_EQ(shmp_writer_send_batch_from(w, data, bytes, lengths, 5, 2, 0, 0, &sent, &err), 5);
  CHECK_EQ(sent, 5);
  CHECK_EQ(shmp_writer_send_batch_from(w, data, bytes, lengths, 5, 5, 0, 0, &sent, &err), 5); /* nothing left */
  /* The rest one by one, then the end of the stream. */
  shmp_writer_close(w);
  for (uint32_t i = 2; i < 5; i++) {
    CHECK_EQ(shmp_reader_take_batch(r, records, 1, &lease, 0, 0, &err), 1);
    CHECK(batch_record_is(s, records, 0, 20 + i, 1000));
    CHECK_EQ(shmp_reader_release_lease(r, lease, &err), SHMP_OK);
  }
  CHECK_EQ(shmp_reader_take_batch(r, records, 8, &lease, 0, 0, &err), SHMP_E_CLOSED);
  shmp_reader_close(r);
  seg_free(s);
}

/* A corrupt record header ends a batch before it; the next call reports it. */
static void test_batch_stops_at_corruption(void) {
  struct seg s = seg_new(4096);
  shmp_error err = {0};
  shmp_writer *w = shmp_writer_attach(s.sp, &err);
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  uint8_t data[300];
  uint64_t lengths[3], records[8], lease = 0;
  uint64_t sizes[] = {100, 100, 100};
  uint64_t bytes = fill_batch(data, lengths, sizes, 0, 3);
  CHECK_EQ(shmp_writer_send_batch(w, data, bytes, lengths, 3, 0, 0, NULL, &err), 3);
  struct shmp_record *third = (struct shmp_record *)((uint8_t *)s.base + SHMP_HEADER_SIZE + 2 * 192);
  third->len = 5000; /* past the end of the ring */
  CHECK_EQ(shmp_reader_take_batch(r, records, 4, &lease, 0, 0, &err), 2);
  CHECK_EQ(shmp_reader_take_batch(r, records, 4, &lease, 0, 0, &err), SHMP_E_CORRUPT);
  CHECK(strstr(err.message, "record header is out of range") != NULL);
  shmp_writer_close(w);
  shmp_reader_close(r);
  seg_free(s);
}

/* A child sends batches of random counts and sizes (some of 20 KB, so
 * batches wait for room part-way, and pad the ring's end); the parent
 * takes batches of random sizes, holding two leases at times, and checks
 * every byte. */
static void test_cross_process_batches(void) {
  enum { N = 100000 };
  struct seg s = seg_new(64 * 1024);
  pid_t child = fork();
  if (child == 0) {
    shmp_error err = {0};
    shmp_writer *w = shmp_writer_attach(s.sp, &err);
    if (!w) _exit(10);
    static uint8_t data[64 * 20000];
    uint64_t rng = 7, sizes[64], lengths[64];
    for (uint32_t i = 0; i < N;) {
      uint32_t count = (uint32_t)(next_rand(&rng) % 64) + 1;
      if (count > N - i) count = N - i;
      for (uint32_t k = 0; k < count; k++)
        sizes[k] = next_rand(&rng) % 50 == 0 ? next_rand(&rng) % 20000 : next_rand(&rng) % 200;
      uint64_t bytes = fill_batch(data, lengths, sizes, i, count);
      if (shmp_writer_send_batch(w, data, bytes, lengths, count, 5000 * MS, 1000, NULL, &err) != count) _exit(11);
      i += count;
    }
    shmp_writer_close(w);
    _exit(0);
  }
  shmp_error err = {0};
  shmp_reader *r = shmp_reader_attach(s.sp, &err);
  CHECK(r != NULL);
  uint64_t rng = 7, rng_reader = 99, records[2 * 50], held = 0;
  int holding = 0;
  uint32_t got = 0, bad = 0, in_batch = 0;
  uint64_t want[64];
  for (;;) {
    uint64_t lease;
    /* Never wait while holding: the writer may wait for the held room. */
    int64_t n = shmp_reader_take_batch(r, records, (uint32_t)(next_rand(&rng_reader) % 50) + 1, &lease,
                                       holding ? 0 : 5000 * MS, 1000, &err);
    if (n == SHMP_E_TIMEOUT && holding) {
      CHECK_EQ(shmp_reader_release_lease(r, held, &err), SHMP_OK);
      holding = 0;
      continue;
    }
    if (n < 0) {
      CHECK_EQ(n, SHMP_E_CLOSED);
      break;
    }
    for (int64_t i = 0; i < n; i++, got++) {
      if (in_batch == 0) { /* the writer's next batch: the sizes it drew */
        uint32_t count = (uint32_t)(next_rand(&rng) % 64) + 1;
        if (count > N - got) count = N - got;
        for (uint32_t k = 0; k < count; k++)
          want[count - 1 - k] = next_rand(&rng) % 50 == 0 ? next_rand(&rng) % 20000 : next_rand(&rng) % 200;
        in_batch = count;
      }
      if (!batch_record_is(s, records, (uint32_t)i, got, want[--in_batch])) bad++;
    }
    /* Hold every other batch until the next one is taken. */
    if (holding) CHECK_EQ(shmp_reader_release_lease(r, held, &err), SHMP_OK);
    holding = !holding && next_rand(&rng_reader) % 2;
    if (holding) held = lease;
    else CHECK_EQ(shmp_reader_release_lease(r, lease, &err), SHMP_OK);
  }
  int status;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(got, N);
  CHECK_EQ(bad, 0);
  shmp_reader_close(r);
  seg_free(s);
}

int main(void) {
  test_wake_ahead();
  test_head_for_pollers();
  test_small_records_copied();
  test_copies_across_processes();
  test_header_checks();
  test_errors_named();
  test_single_process_ring();
  test_reader_close_stops_writer();
  test_corrupt_records();
  test_timeout_is_kept();
  test_interrupt();
  test_segment_refcount();
  test_sealed_table();
  test_fifo_under_the_name();
  test_fan_out();
  test_dead_reader_among_many();
  test_cross_process_stream();
  test_writer_killed();
  test_writer_abandons();
  test_reader_killed();
  test_leases();
  test_batches();
  test_batch_stops_at_corruption();
  test_cross_process_batches();
  test_forged_positions();
  test_stale_readers_closed_flag();
  test_readers_leave_together();
  test_late_joiners();
  test_what_close_leaves();
  test_arrow_sender();
  test_persistent_tables();
  test_named_segments();
  test_names_in_sentences();
  test_read_only_data();
  test_stale_name();
  test_owned_names();
  test_stat();
  test_inspect_named();
  test_signal_ends_waits();
  test_writer_learns_readers_went();
  test_open_waits_for_the_name();
  test_arrow_encode();
  test_arrow_nodes();
  test_refused_dictionary();
  test_arrow_encode_nested();
  test_table_written_through_its_file();
  test_table_formatted_with_its_file();
  if (failures) {
    fprintf(stderr, "core tests: %d failure(s)\n", failures);
    return 1;
  }
  printf("core tests: all passed\n");
  return 0;
}
