/* Inspection: what a segment's header says about its use, read without
 * taking part (no role taken, nothing written, no wait), and the names of
 * the segments in /dev/shm. For tools (shmpipe ls, stat, gc) and progress
 * displays. Every value read from the header is read once and checked
 * before it is used, as in the ring: a hostile segment is an error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "atomics.h"
#include "error.h"
#include "layout.h"
#include "wait.h"

static int alive(uint64_t peer_word) {
  return shmp_process_alive((uint32_t)(peer_word >> 32), (uint32_t)peer_word);
}

/* A slot's holder, or 0 when it holds none (free, or a dead one's being emptied). */
static uint64_t holder(const struct shmp_slot *slot) {
  uint64_t peer = smp_load_acquire(&((struct shmp_slot *)slot)->peer);
  return peer == SHMP_PEER_CLEARING ? 0 : peer;
}

static int corrupt(const shmp_segment *s, shmp_error *err, const char *what) {
  return shmp_fail(err, SHMP_E_CORRUPT, "stat", s->name, "%s", what);
}

static int stat_of(const shmp_segment *s, shmp_stat *out, int walk, shmp_error *err) {
  if (s == NULL || out == NULL) return shmp_fail(err, SHMP_E_INVALID, "stat", "(null)", "no segment or no shmp_stat");
  memset(out, 0, sizeof *out);
  /* A peer may have written the header since it was opened: check it again. */
  uint64_t capacity = 0;
  int rc = shmp_header_check(s->base, s->size, &capacity);
  if (rc != SHMP_OK) return shmp_fail(err, rc, "stat", s->name, NULL);
  if (capacity != s->capacity) return corrupt(s, err, "its capacity changed after it was opened");
  struct shmp_header *h = s->base;

  /* The order makes the positions agree without stopping anyone: head
   * first, then the readers' tails. A tail read later is at most the head
   * read later still, and the head read first was at most a ring beyond
   * the tail it had then (the writer never passes its slowest reader), so
   * [min(tail, head), head) is at most a ring of committed records. */
  uint64_t head = smp_load_acquire(&h->head);
  uint64_t records = READ_ONCE(&h->records);
  uint64_t peers[SHMP_MAX_READERS], tails[SHMP_MAX_READERS];
  for (uint32_t i = 0; i < SHMP_MAX_READERS; i++) {
    peers[i] = holder(&h->slots[i]);
    tails[i] = smp_load_acquire(&h->slots[i].tail);
  }
  uint64_t mark = smp_load_acquire(&h->tail);
  uint64_t read_mark = smp_load_acquire(&h->read_mark);
  uint64_t head_after = smp_load_acquire(&h->head);
  uint32_t flags = smp_load_acquire(&h->flags);
  if (head % SHMP_ALIGN || head_after < head) return corrupt(s, err, "the writer's position is out of range");

  out->size = s->size;
  out->capacity = capacity;
  out->committed_bytes = head;
  out->committed_records = records;
  out->sealed = (flags & SHMP_FLAG_SEALED) != 0;
  out->persistent = out->sealed && (flags & SHMP_FLAG_PERSISTENT) != 0;
  out->writer_closed = (flags & SHMP_FLAG_WRITER_CLOSED) != 0;
  out->kind = out->sealed ? SHMP_KIND_TABLE : SHMP_KIND_CHANNEL;
  out->creator_pid = READ_PLAIN_ONCE(h->creator_pid);
  out->creator_uid = READ_PLAIN_ONCE(h->creator_uid);
  out->creator_alive = shmp_process_alive(out->creator_pid, READ_PLAIN_ONCE(h->creator_start_tag));
  uint64_t writer = smp_load_acquire(&h->writer);
  out->writer_pid = (uint32_t)(writer >> 32);
  out->writer_alive = writer != 0 && alive(writer);
  out->readers_ever = smp_load_acquire(&h->readers_attached);

  /* Where the slowest live reader is; with none, how far any reader got. */
  uint64_t from = SHMP_SLOT_FREE;
  for (uint32_t i = 0; i < SHMP_MAX_READERS; i++) {
    if (peers[i] == 0) continue;
    uint32_t n = out->readers++;
    out->reader_pid[n] = (uint32_t)(peers[i] >> 32);
    out->reader_alive[n] = (uint8_t)alive(peers[i]);
    out->readers_alive += out->reader_alive[n];
    if (tails[i] == SHMP_SLOT_FREE) continue; /* attaching or leaving: no position yet */
    if (tails[i] % SHMP_ALIGN || tails[i] > head_after) return corrupt(s, err, "a reader's position is out of range");
    if (out->reader_alive[n] && tails[i] < from) from = tails[i];
  }
  if (from == SHMP_SLOT_FREE) from = mark > read_mark ? mark : read_mark;
  if (from > head) from = head;
  /* A reader attaching holds, for a moment, a start the writer may have
   * passed (it moves up once it sees the writer's mark): count from there. */
  if (head - from > capacity) from = head - capacity;
  if (from % SHMP_ALIGN) return corrupt(s, err, "the readers' positions are out of range");

  out->stale = !out->persistent && !out->creator_alive && !(out->writer_alive && !out->writer_closed) &&
               out->readers_alive == 0;
  if (out->sealed) return SHMP_OK; /* a table's records stay: none is in flight */
  out->bytes_in_flight = head - from;
  if (walk) out->records_in_flight = shmp_ring_records((const uint8_t *)s->base + SHMP_HEADER_SIZE, capacity, from, head);
  return SHMP_OK;
}

SHMP_EXPORT int shmp_segment_stat(const shmp_segment *s, shmp_stat *out, shmp_error *err) {
  return stat_of(s, out, 1, err);
}

SHMP_EXPORT int shmp_segment_counts(const shmp_segment *s, shmp_stat *out, shmp_error *err) {
  return stat_of(s, out, 0, err);
}

SHMP_EXPORT int64_t shmp_segment_list(char *out, uint64_t out_len, shmp_error *err) {
  DIR *dir = opendir(SHMP_SHM_DIR);
  if (dir == NULL) return shmp_fail(err, -errno, "list", SHMP_SHM_DIR, "could not read the directory of shared memory objects");
  const size_t prefix = strlen(SHMP_NAME_PREFIX);
  uint64_t need = 0;
  int whole = 1; /* only whole names, in order, are written */
  for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
    const char *name = entry->d_name;
    if (strncmp(name, SHMP_NAME_PREFIX, prefix) != 0 || !shmp_name_ok(name + prefix)) continue;
    uint64_t bytes = strlen(name + prefix) + 1;
    if (out != NULL && whole && need + bytes <= out_len) memcpy(out + need, name + prefix, bytes);
    else whole = 0;
    need += bytes;
  }
  closedir(dir);
  return (int64_t)need;
}

_Static_assert(offsetof(shmp_stat, kind) == 48, "shmp_stat layout is ABI");
_Static_assert(offsetof(shmp_stat, writer_pid) == 64, "shmp_stat layout is ABI");
_Static_assert(offsetof(shmp_stat, readers) == 84, "shmp_stat layout is ABI");
_Static_assert(offsetof(shmp_stat, stale) == 96, "shmp_stat layout is ABI");
_Static_assert(offsetof(shmp_stat, reader_pid) == 104, "shmp_stat layout is ABI");
_Static_assert(offsetof(shmp_stat, reader_alive) == 232, "shmp_stat layout is ABI");
_Static_assert(sizeof(shmp_stat) == 264, "shmp_stat layout is ABI");
