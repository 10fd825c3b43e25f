/*
 * Mutation fuzzer for the Arrow message checks, run under ASan and UBSan.
 *
 *   fuzz_arrow ROUNDS SEED_STREAM...
 *
 * Each seed is an Arrow IPC stream (written by pyarrow and by apache-arrow
 * in test/arrow-fuzz.test.ts). Every message of every seed must first be
 * accepted as it is. Then each round copies one message into a buffer of
 * exactly its size (so ASan sees any read past it), mutates it - random
 * bytes, metadata integers set to edge values, truncation - and checks it.
 * A mutated schema that still parses is used to check the unmutated batches
 * of its stream, so a schema lying about types cannot lead the batch check
 * astray. Any out-of-bounds read or undefined behaviour aborts the run.
 *
 * With clang, the same check can run under libFuzzer: build this file with
 * -fsanitize=fuzzer -DSHMP_LIBFUZZER (LLVMFuzzerTestOneInput below, which
 * reads its input as a stream of messages through one checker, so a batch
 * is checked against the schema before it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatbuf.h"
#include "shmpipe.h"

typedef struct msg {
  uint8_t *bytes;
  uint64_t len;
  int kind;
} msg;

typedef struct stream {
  msg *msgs;
  size_t count;
} stream;

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Framing plus metadata bytes of the message at `m`, or -1 at the end of
 * the stream (or where the framing is not a message's). */
static int64_t prefix_length(const uint8_t *m, uint64_t len) {
  uint32_t marker, meta;
  if (len < 8) return -1;
  memcpy(&marker, m, 4);
  memcpy(&meta, m + 4, 4);
  if (marker != 0xFFFFFFFFu || meta == 0 || meta > len - 8) return -1;
  return 8 + (int64_t)meta;
}

/* The body length recorded in a well-formed message's metadata. */
static uint64_t body_length(const uint8_t *m, uint64_t prefix) {
  if (prefix < 12) return 0; /* no room for the root offset */
  fb_buf b = {m + 8, prefix - 8};
  fb_table root;
  int bad = 0;
  if (!fb_table_at(&b, fb_u32(&b, 0), &root)) return 0;
  int64_t n = fb_int(&root, 3, 8, 0, &bad);
  return bad || n < 0 ? 0 : (uint64_t)n;
}

static stream load(const char *path) {
  stream s = {NULL, 0};
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc((size_t)size + 1);
  if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) exit(2);
  fclose(f);
  uint64_t pos = 0;
  while (pos + 8 <= (uint64_t)size) {
    int64_t prefix = prefix_length(data + pos, (uint64_t)size - pos);
    if (prefix < 0) break; /* end-of-stream marker */
    uint64_t len = (uint64_t)prefix + body_length(data + pos, (uint64_t)prefix);
    if (len > (uint64_t)size - pos) break;
    s.msgs = realloc(s.msgs, (s.count + 1) * sizeof *s.msgs);
    msg *m = &s.msgs[s.count++];
    m->bytes = malloc(len);
    memcpy(m->bytes, data + pos, len);
    m->len = len;
    pos += len;
  }
  free(data);
  return s;
}

/* Checks every message of a stream in order, as a reader would. Returns
 * how many were accepted; `strict` reports the first rejection. */
static size_t check_stream(const stream *s, const msg *replace, size_t at, int strict, const char *path) {
  shmp_arrow_checker *checker = shmp_arrow_checker_new("fuzz", "recv", NULL);
  size_t accepted = 0;
  for (size_t i = 0; i < s->count; i++) {
    const msg *m = i == at && replace ? replace : &s->msgs[i];
    shmp_error err = {0};
    int kind = shmp_arrow_checker_check(checker, m->bytes, m->len, &err);
    if (kind < 0) {
      if (strict) fprintf(stderr, "%s: message %zu rejected: %s\n", path, i, err.message);
      if (strict || i == at) break;
      continue;
    }
    accepted++;
  }
  shmp_arrow_checker_free(checker);
  return accepted;
}

static const int64_t edges[] = {0, 1, -1, 7, 8, 64, 0x7fffffff, -0x80000000LL, INT64_MAX, INT64_MIN, 4096, 1 << 20};

static void mutate(msg *m) {
  int64_t prefix = prefix_length(m->bytes, m->len);
  uint64_t meta_end = prefix > 0 ? (uint64_t)prefix : m->len;
  unsigned edits = 1 + (unsigned)(next_rand() % 4);
  for (unsigned e = 0; e < edits && m->len > 0; e++) {
    switch (next_rand() % 4) {
      case 0: /* one random byte, mostly in the metadata */
        m->bytes[next_rand() % meta_end] = (uint8_t)next_rand();
        break;
      case 1: { /* an edge value over an aligned integer of the metadata */
        uint64_t width = (next_rand() & 1) ? 8 : 4;
        if (meta_end < width) break;
        uint64_t at = (next_rand() % (meta_end / width)) * width;
        int64_t v = edges[next_rand() % (sizeof edges / sizeof *edges)];
        memcpy(m->bytes + at, &v, width);
        break;
      }
      case 2: /* small increments of a 32-bit word: offsets pointing elsewhere */
        if (meta_end >= 4) {
          uint64_t at = (next_rand() % (meta_end / 4)) * 4;
          uint32_t v;
          memcpy(&v, m->bytes + at, 4);
          v += (uint32_t)(next_rand() % 64) - 32;
          memcpy(m->bytes + at, &v, 4);
        }
        break;
      default: /* truncation */
        m->len = next_rand() % (m->len + 1);
        break;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  shmp_arrow_checker *checker = shmp_arrow_checker_new("fuzz", "recv", NULL);
  uint64_t pos = 0;
  while (pos < size) {
    int64_t prefix = prefix_length(data + pos, size - pos);
    uint64_t len = prefix < 0 ? size - pos : (uint64_t)prefix + body_length(data + pos, (uint64_t)prefix);
    if (len > size - pos) len = size - pos;
    shmp_arrow_checker_check(checker, data + pos, len, NULL);
    if (prefix < 0 || len == 0) break;
    pos += len;
  }
  shmp_arrow_checker_free(checker);
  return 0;
}

#ifndef SHMP_LIBFUZZER
int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ROUNDS SEED_STREAM...\n", argv[0]);
    return 2;
  }
  long rounds = atol(argv[1]);
  size_t nstreams = (size_t)argc - 2, messages = 0, kept = 0;
  stream *streams = calloc(nstreams, sizeof *streams);
  for (size_t i = 0; i < nstreams; i++) {
    streams[i] = load(argv[i + 2]);
    messages += streams[i].count;
    if (streams[i].count == 0 || check_stream(&streams[i], NULL, 0, 1, argv[i + 2]) != streams[i].count) {
      fprintf(stderr, "%s: a valid stream was not accepted whole\n", argv[i + 2]);
      return 1;
    }
  }
  for (long r = 0; r < rounds; r++) {
    stream *s = &streams[next_rand() % nstreams];
    size_t at = next_rand() % s->count;
    msg m = {malloc(s->msgs[at].len + 1), s->msgs[at].len, 0};
    memcpy(m.bytes, s->msgs[at].bytes, m.len);
    mutate(&m);
    /* Exactly m.len bytes: a copy ASan guards on both sides. */
    msg exact = {malloc(m.len ? m.len : 1), m.len, 0};
    memcpy(exact.bytes, m.bytes, m.len);
    size_t ok = check_stream(s, &exact, at, 0, argv[2]);
    kept += ok == s->count;
    LLVMFuzzerTestOneInput(exact.bytes, exact.len);
    free(m.bytes);
    free(exact.bytes);
  }
  printf("fuzz_arrow: %zu streams, %zu messages accepted as written; %ld mutated rounds, %zu left every message acceptable\n",
         nstreams, messages, rounds, kept);
  for (size_t i = 0; i < nstreams; i++) {
    for (size_t j = 0; j < streams[i].count; j++) free(streams[i].msgs[j].bytes);
    free(streams[i].msgs);
  }
  free(streams);
  return 0;
}
#endif
