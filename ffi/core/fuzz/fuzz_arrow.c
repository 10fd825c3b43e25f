/*
 * Fuzzers of the Arrow message check, run under ASan and UBSan.
 *
 * The input of the libFuzzer entry point, and every file of the corpus
 * (fuzz/corpus/), is a stream of records as a reader's ring hands them
 * over, each framed as
 *
 *   [u32 little-endian length][that many bytes: one record]
 *
 * (the last record is cut short where the input ends). All records go
 * through one checker, in order, each copied into a buffer of exactly its
 * length so that ASan sees any read past it (an input whose size is 7
 * modulo 8 goes through a checker that trusts the values). The corpus holds
 * whole streams written by apache-arrow and pyarrow (a schema, dictionaries,
 * record batches with their bodies; fuzz/make-corpus.ts makes it), so a mutated
 * dictionary or batch is checked against the schema and dictionaries that
 * came before it, values in the body (offsets, list views, string views,
 * dictionary indices) included. The custom mutator below keeps that
 * structure: mostly it mutates one record (metadata and body alike) and
 * rewrites its length; sometimes it drops, repeats or swaps records, and
 * sometimes it mutates the input's bytes as they are, the framing with them.
 * (A cross-over of records cost more speed than it brought coverage.)
 *
 * Built with gcc (no libFuzzer), the same file is a mutation fuzzer of its
 * own and the corpus tool:
 *
 *   fuzz_arrow ROUNDS SEED_STREAM...            mutated rounds (below)
 *   fuzz_arrow --write-corpus DIR SEED_STREAM... each stream as a corpus file
 *   fuzz_arrow --accept CORPUS_FILE...          each file accepted whole
 *
 * A seed is an Arrow IPC stream (written by fuzz/seeds.ts). Every message of
 * every seed must first be accepted as it is. Then each round copies one
 * message into a buffer of exactly its size, mutates it - random bytes and
 * edge values in its metadata or its body, truncation - and checks the
 * stream with the mutated message in place of the original, so a mutated
 * schema is used to check the unmutated batches after it and a mutated
 * batch is checked against the real schema and dictionaries. Any
 * out-of-bounds read or undefined behaviour aborts the run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatbuf.h"
#include "shmpipe.h"

/* More records than any seed has; an input's records past it are ignored. */
#define MAX_RECORDS 256

/* What R reads of a batch that passed: every node described, its
 * subtree within the list, each span and buffer inside the record. */
static void check_nodes(const shmp_arrow_checker *checker, uint64_t len) {
  uint32_t count = shmp_arrow_checker_nodes(checker);
  for (uint32_t k = 0; k < count; k++) {
    shmp_arrow_node n;
    if (shmp_arrow_checker_node(checker, k, &n) != SHMP_OK || n.subtree == 0 || k + n.subtree > count) abort();
    const shmp_arrow_column *c = &n.column;
    uint64_t spans[3][2] = {{c->validity_offset, c->validity_length}, {c->values_offset, c->values_length},
                            {c->data_offset, c->data_length}};
    for (int s = 0; s < 3; s++)
      if (spans[s][1] > 0 && (spans[s][0] > len || spans[s][1] > len - spans[s][0])) abort();
    for (uint32_t b = 0; b < n.buffer_count; b++) {
      uint64_t offset = 0, length = 0;
      if (shmp_arrow_checker_buffer(checker, n.first_buffer + b, &offset, &length) != SHMP_OK) abort();
      if (offset > len || length > len - offset) abort();
    }
  }
  shmp_arrow_node past;
  if (shmp_arrow_checker_node(checker, count, &past) != SHMP_E_INVALID) abort();
}

/* Checks the framed records of `data` through one checker. Returns how
 * many were refused; `label` (strict mode) reports the first refusal and
 * stops there. Aborts where the checker breaks a promise of its API. */
static size_t check_framed(const uint8_t *data, size_t size, const char *label, size_t *batches) {
  shmp_arrow_checker *checker = shmp_arrow_checker_new("fuzz", "recv", NULL);
  if (checker == NULL) abort();
  /* One input in eight, by its size, runs a checker that trusts the values
   * (the metadata only); the corpus, whose sizes are multiples of 4, checks them. */
  if (label == NULL && size % 8 == 7) shmp_arrow_checker_trust_values(checker, 1);
  size_t pos = 0, refused = 0;
  for (unsigned n = 0; size - pos >= 4 && n < MAX_RECORDS; n++) {
    uint32_t declared;
    memcpy(&declared, data + pos, 4);
    pos += 4;
    size_t len = declared < size - pos ? declared : size - pos;
    uint8_t *record = malloc(len ? len : 1); /* exactly len: ASan guards both sides */
    if (record == NULL) abort();
    memcpy(record, data + pos, len);
    pos += len;
    shmp_error err = {0};
    int kind = shmp_arrow_checker_check(checker, len ? record : NULL, len, &err);
    if (kind > 0) {
      /* What a binding then decodes: the checked private copy of the
       * framing and metadata, the record's own bytes, the body after it. */
      uint64_t prefix = shmp_arrow_checker_prefix_length(checker), body = shmp_arrow_checker_body_length(checker);
      const void *copy = shmp_arrow_checker_prefix(checker);
      if (kind > SHMP_ARROW_RECORD_BATCH || prefix < 8 || prefix > len || body > len - prefix || copy == NULL ||
          memcmp(copy, record, prefix) != 0)
        abort();
      if (batches && kind == SHMP_ARROW_RECORD_BATCH) ++*batches;
      if (kind != SHMP_ARROW_SCHEMA) check_nodes(checker, len);
    } else {
      /* A refusal is EARROW (or ENOMEM) with its sentence, and leaves nothing to decode. */
      if ((kind != SHMP_E_ARROW && kind != -ENOMEM) || err.code != kind || err.message[0] == '\0') abort();
      if (shmp_arrow_checker_prefix_length(checker) != 0 || shmp_arrow_checker_body_length(checker) != 0) abort();
      refused++;
      if (label) {
        fprintf(stderr, "%s: record %u refused: %s\n", label, n, err.message);
        free(record);
        break;
      }
    }
    free(record);
  }
  shmp_arrow_checker_free(checker);
  return refused;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_framed(data, size, NULL, NULL);
  return 0;
}

#ifdef SHMP_LIBFUZZER
/* ---- structure-aware mutations (libFuzzer) ----------------------------------- */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

typedef struct record {
  size_t frame; /* where its length is */
  size_t len;   /* the bytes after it that the record has */
} record;

/* The records of a framed input, at most MAX_RECORDS of them. */
static size_t records_of(const uint8_t *data, size_t size, record *out) {
  size_t n = 0, pos = 0;
  while (size - pos >= 4 && n < MAX_RECORDS) {
    uint32_t declared;
    memcpy(&declared, data + pos, 4);
    size_t len = declared < size - pos - 4 ? declared : size - pos - 4;
    out[n++] = (record){pos, len};
    pos += 4 + len;
  }
  return n;
}

static void put_length(uint8_t *at, size_t len) {
  uint32_t v = (uint32_t)len;
  memcpy(at, &v, 4);
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= UINT64_C(0xff51afd7ed558ccd);
  x ^= x >> 33;
  return x;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  static record recs[MAX_RECORDS];
  size_t n = records_of(data, size, recs);
  uint64_t r = mix(seed + UINT64_C(0x9E3779B97F4A7C15));
  unsigned action = (unsigned)(r % 16);
  r = mix(r);
  if (n == 0 || action < 4) return LLVMFuzzerMutate(data, size, max_size); /* as bytes, the framing too */
  size_t end = recs[n - 1].frame + 4 + recs[n - 1].len;                        /* bytes past it are dropped */
  if (action == 4 && n > 1) {                                                  /* drop a record */
    const record *k = &recs[r % n];
    size_t gone = 4 + k->len;
    memmove(data + k->frame, data + k->frame + gone, end - k->frame - gone);
    return end - gone;
  }
  if (action == 5) { /* repeat a record (a dictionary twice, a batch again) */
    const record *k = &recs[r % n];
    size_t copy = 4 + k->len;
    if (end + copy > max_size) return LLVMFuzzerMutate(data, size, max_size);
    size_t after = k->frame + copy;
    memmove(data + after + copy, data + after, end - after);
    memcpy(data + after, data + k->frame, copy);
    put_length(data + k->frame, k->len);
    put_length(data + after, k->len);
    return end + copy;
  }
  if (action == 6 && n > 1) { /* swap a record with the next (a batch before its dictionary) */
    size_t i = r % (n - 1);
    const record *a = &recs[i], *b = &recs[i + 1];
    size_t first = 4 + a->len, second = 4 + b->len;
    uint8_t *saved = malloc(first);
    if (saved == NULL) return size;
    memcpy(saved, data + a->frame, first);
    put_length(saved, a->len);
    memmove(data + a->frame, data + b->frame, second);
    put_length(data + a->frame, b->len);
    memcpy(data + a->frame + second, saved, first);
    free(saved);
    return end;
  }
  /* Mutate one record, mostly one after the schema. */
  size_t k = n > 1 && r % 4 != 0 ? 1 + (size_t)(mix(r) % (n - 1)) : (size_t)(mix(r) % n);
  size_t at = recs[k].frame + 4, len = recs[k].len, tail = end - (at + len);
  if (end - len >= max_size) return LLVMFuzzerMutate(data, size, max_size); /* no room for one byte of it */
  size_t room = max_size - (end - len); /* what the record may grow to: a little */
  if (room > len + 64) room = len + 64;
  uint8_t *saved = malloc(tail ? tail : 1);
  if (saved == NULL) return size;
  memcpy(saved, data + at + len, tail);
  size_t grown = LLVMFuzzerMutate(data + at, len, room);
  memcpy(data + at + grown, saved, tail);
  free(saved);
  put_length(data + recs[k].frame, grown);
  return end - len + grown;
}

#else
/* ---- the gcc mutation fuzzer and the corpus tool ---------------------------- */

typedef struct msg {
  uint8_t *bytes;
  uint64_t len;
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

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long end = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc((size_t)end + 1);
  if (!data || fread(data, 1, (size_t)end, f) != (size_t)end) exit(2);
  fclose(f);
  *size = (size_t)end;
  return data;
}

static stream load(const char *path) {
  stream s = {NULL, 0};
  size_t size;
  uint8_t *data = read_file(path, &size);
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

/* The stream framed as a corpus input, with `replace` in place of message `at`. */
static uint8_t *framed(const stream *s, const msg *replace, size_t at, size_t *size) {
  size_t total = 0;
  for (size_t i = 0; i < s->count; i++) total += 4 + (i == at && replace ? replace : &s->msgs[i])->len;
  uint8_t *out = malloc(total ? total : 1), *p = out;
  for (size_t i = 0; i < s->count; i++) {
    const msg *m = i == at && replace ? replace : &s->msgs[i];
    uint32_t len = (uint32_t)m->len;
    memcpy(p, &len, 4);
    memcpy(p + 4, m->bytes, m->len);
    p += 4 + m->len;
  }
  *size = total;
  return out;
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

/* An edge value, or a small step from what is there, over an aligned
 * integer of m->bytes[from, to): a length, an offset, a size, an index. */
static void nudge_integer(msg *m, uint64_t from, uint64_t to) {
  uint64_t width = (next_rand() & 1) ? 8 : 4;
  if (to - from < width) return;
  uint64_t at = from + (next_rand() % ((to - from) / width)) * width;
  if (next_rand() & 1) {
    int64_t v = edges[next_rand() % (sizeof edges / sizeof *edges)];
    memcpy(m->bytes + at, &v, width);
  } else {
    uint32_t v;
    memcpy(&v, m->bytes + at, 4);
    v += (uint32_t)(next_rand() % 64) - 32;
    memcpy(m->bytes + at, &v, 4);
  }
}

static void mutate(msg *m) {
  int64_t prefix = prefix_length(m->bytes, m->len);
  uint64_t meta_end = prefix > 0 ? (uint64_t)prefix : m->len;
  unsigned edits = 1 + (unsigned)(next_rand() % 4);
  for (unsigned e = 0; e < edits && m->len > 0; e++) {
    switch (next_rand() % 6) {
      case 0: /* one random byte of the metadata */
        m->bytes[next_rand() % meta_end] = (uint8_t)next_rand();
        break;
      case 1: case 2: /* an integer of the metadata: lengths, counts, buffer offsets, flatbuffer offsets */
        nudge_integer(m, 0, meta_end);
        break;
      case 3: /* an integer of the body: string and list offsets, list view sizes, views, indices */
        if (meta_end < m->len) nudge_integer(m, meta_end, m->len);
        break;
      case 4: /* one random byte of the body */
        if (meta_end < m->len) m->bytes[meta_end + next_rand() % (m->len - meta_end)] = (uint8_t)next_rand();
        break;
      default: /* truncation */
        m->len = next_rand() % (m->len + 1);
        break;
    }
  }
}

/* Writes each seed stream as a framed corpus file DIR/<its name without .arrows>. */
static int write_corpus(const char *dir, int count, char **paths) {
  for (int i = 0; i < count; i++) {
    stream s = load(paths[i]);
    if (s.count == 0 || check_stream(&s, NULL, 0, 1, paths[i]) != s.count) {
      fprintf(stderr, "%s: a valid stream was not accepted whole\n", paths[i]);
      return 1;
    }
    size_t size;
    uint8_t *bytes = framed(&s, NULL, 0, &size);
    const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
    char out[4096];
    snprintf(out, sizeof out, "%s/%.*s", dir, (int)(strstr(base, ".arrows") ? strstr(base, ".arrows") - base : (long)strlen(base)), base);
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(bytes, 1, size, f) != size || fclose(f) != 0) {
      perror(out);
      return 1;
    }
    printf("%s: %zu messages, %zu bytes\n", out, s.count, size);
    free(bytes);
    for (size_t j = 0; j < s.count; j++) free(s.msgs[j].bytes);
    free(s.msgs);
  }
  return 0;
}

/* Each corpus file must be accepted whole; prints how many record batches they hold. */
static int accept_corpus(int count, char **paths) {
  size_t total_batches = 0;
  for (int i = 0; i < count; i++) {
    size_t size, batches = 0;
    uint8_t *data = read_file(paths[i], &size);
    size_t refused = check_framed(data, size, paths[i], &batches);
    free(data);
    if (refused != 0) {
      fprintf(stderr, "%s: not a stream the checker accepts whole\n", paths[i]);
      return 1;
    }
    total_batches += batches;
  }
  printf("fuzz_arrow: %d corpus files accepted whole, %zu record batches\n", count, total_batches);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2], argc - 3, argv + 3);
  if (argc >= 2 && strcmp(argv[1], "--accept") == 0) return accept_corpus(argc - 2, argv + 2);
  if (argc < 3) {
    fprintf(stderr, "usage: %s ROUNDS SEED_STREAM... | --write-corpus DIR SEED_STREAM... | --accept CORPUS_FILE...\n", argv[0]);
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
    size_t which = next_rand() % nstreams;
    stream *s = &streams[which];
    size_t at = next_rand() % s->count;
    msg m = {malloc(s->msgs[at].len + 1), s->msgs[at].len};
    memcpy(m.bytes, s->msgs[at].bytes, m.len);
    mutate(&m);
    /* Exactly m.len bytes: a copy ASan guards on both sides. */
    msg exact = {malloc(m.len ? m.len : 1), m.len};
    memcpy(exact.bytes, m.bytes, m.len);
    size_t ok = check_stream(s, &exact, at, 0, argv[which + 2]);
    kept += ok == s->count;
    if (r % 8 == 0) { /* the libFuzzer entry point, on the same stream framed */
      size_t size;
      uint8_t *input = framed(s, &exact, at, &size);
      LLVMFuzzerTestOneInput(input, size);
      free(input);
    }
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
