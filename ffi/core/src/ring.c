/*
 * The record ring: the one implementation of writing and reading records.
 *
 * Positions count bytes since the segment was formatted and never wrap; a
 * record at position p lives at offset p % capacity of the data ring. One
 * writer owns head; each reader (up to SHMP_MAX_READERS) owns the tail in
 * its slot, and every reader sees every record:
 *
 *   writer: claim (wait for space) -> fill payload -> commit: write the
 *           record header, then publish head with a full barrier and wake
 *           the readers only if one announced that it sleeps.
 *   reader: peek (acquire head, validate the record header) -> use ->
 *           release: publish its tail, wake the writer only if it sleeps.
 *
 * Space is reused only behind the slowest reader: the writer computes the
 * lowest tail of the slots when it runs short, and publishes it as the
 * low-water mark (h->tail). A reader attaching starts at that mark; the
 * order of the stores and loads on both sides (see attach_slot and
 * refresh_low) makes sure the writer never reuses space it has not seen
 * released. With no reader attached, nothing is released and the writer
 * waits, so a reader that attaches late still sees what was written.
 *
 * A record never wraps: when it does not fit before the end of the ring, a
 * padding record fills the tail and is published on its own, so a payload
 * of up to capacity - 64 bytes always fits once the readers catch up.
 *
 * The peer may be buggy, hostile or dead: every value read from the ring is
 * read once, checked against this endpoint's private copy of the geometry,
 * and only then used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "error.h"
#include "layout.h"
#include "wait.h"

struct geometry {
  shmp_segment *seg; /* one reference, held until the endpoint is closed */
  struct shmp_header *h;
  uint8_t *data;     /* base + header size */
  uint64_t capacity; /* the segment's private copy: the shared one may be overwritten */
  uint64_t data_offset;
};

struct shmp_writer {
  struct geometry g;
  uint64_t head;       /* next position to write; equals h->head between calls */
  uint64_t records;    /* data records committed; equals h->records between calls */
  uint64_t tail_seen;  /* the lowest reader tail last seen: refreshed only when short of space */
  uint64_t claim_len;  /* payload bytes reserved by claim */
  uint64_t claim_offset; /* and where they start, from the mapping base */
  int claimed;
  int coming;             /* this claim set the header's data_coming (wake_ahead) */
  int had_reader;         /* a scan of the slots once found a reader */
  uint32_t joins_seen;    /* the header's late_joins when shmp_writer_readers_joined last looked */
  int64_t readers_looked; /* when commit last looked whether readers live (coarse clock) */
  _Atomic uint32_t interrupted;
  struct shmp_wait wait;
};

/* A record a reader keeps after reading on (shmp_reader_take). */
struct lease {
  uint64_t pos;  /* ring position of its record header */
  uint64_t size; /* ring bytes */
  int released;
};

struct shmp_reader {
  struct geometry g;
  struct shmp_slot *slot; /* this reader's place; NULL for a table's observer */
  uint64_t tail;      /* bytes released to the writer; equals slot->tail between calls */
  uint64_t read;      /* position of the next record to read (>= tail: held leases lie between) */
  struct lease *leases; /* held records, oldest first */
  uint32_t lease_count, lease_capacity;
  uint64_t head_seen; /* last head read from the writer: refreshed only when caught up */
  uint64_t cur_size;  /* ring bytes of the record handed out by peek, 0 if none */
  uint64_t cur_len;
  uint64_t cur_offset;
  int awaiting_schema; /* attached mid-stream: Arrow messages are skipped until a schema */
  _Atomic uint32_t interrupted;
  struct shmp_wait wait;
};

/* The geometry comes from the segment's copy, checked when it was mapped;
 * the header is checked again, as a peer may have written it since. */
static int load_geometry(shmp_segment *seg, struct geometry *g) {
  uint64_t capacity = 0;
  int rc = shmp_header_check(seg->base, seg->size, &capacity);
  if (rc != SHMP_OK) return rc;
  if (capacity != seg->capacity) return SHMP_E_CORRUPT;
  shmp_segment_ref(seg);
  g->seg = seg;
  g->h = seg->base;
  g->capacity = seg->capacity;
  g->data_offset = SHMP_HEADER_SIZE;
  g->data = (uint8_t *)seg->base + SHMP_HEADER_SIZE;
  return SHMP_OK;
}

static const char *name_of(const struct geometry *g) { return g->seg->name; }

/* Positions read from the header after it was checked may have been
 * rewritten since: one that is not a multiple of 64 would put a record
 * header across the end of the ring. */
static int aligned(uint64_t pos) { return pos % SHMP_ALIGN == 0; }

/* Takes `role` if it is free or its holder died; never from a live one. */
static int take_role(shmp_peer_word *role) {
  uint64_t self = shmp_self_peer_word();
  uint64_t holder = smp_load_acquire(role);
  for (;;) {
    if (holder == SHMP_PEER_CLEARING || (holder != 0 && !shmp_peer_gone(role))) return SHMP_E_BUSY;
    /* Full barrier: what this endpoint does next is ordered after taking
     * the role, and a failed CAS reloads the holder for another look. */
    if (smp_cas(role, &holder, self)) return SHMP_OK;
  }
}

static int writer_gone(void *ctx) { return shmp_peer_gone(ctx); }

uint64_t shmp_ring_records(const uint8_t *data, uint64_t capacity, uint64_t from, uint64_t head) {
  if (!aligned(from) || from > head || head - from > capacity) return 0;
  uint64_t count = 0;
  for (uint64_t pos = from; pos < head;) {
    uint64_t ring_offset = pos % capacity, room = capacity - ring_offset;
    const struct shmp_record *rec = (const struct shmp_record *)(data + ring_offset);
    uint64_t at = READ_PLAIN_ONCE(rec->pos), len = READ_PLAIN_ONCE(rec->len);
    uint32_t kind = READ_PLAIN_ONCE(rec->kind);
    if (room < SHMP_RECORD_HEADER || at != pos || len > room - SHMP_RECORD_HEADER) break;
    uint64_t size = shmp_record_size(len);
    if (size > head - pos) break;
    count += kind == SHMP_RECORD_DATA;
    pos += size;
  }
  return count;
}

/* ---- writer ---------------------------------------------------------------- */

/* Empties the slot of a reader that died, so it holds nobody back. The
 * CLEARING mark keeps an attaching reader out until the tail is reset. */
static int clear_dead_slot(struct shmp_slot *slot) {
  uint64_t holder = smp_load_acquire(&slot->peer);
  if (holder == 0 || holder == SHMP_PEER_CLEARING || !shmp_peer_gone(&slot->peer)) return 0;
  if (!smp_cas(&slot->peer, &holder, SHMP_PEER_CLEARING)) return 0;
  /* The tail is free before the slot is: an attaching reader that takes
   * the slot then writes its own tail over a free one. */
  smp_store_mb(&slot->tail, SHMP_SLOT_FREE);
  smp_store_release(&slot->peer, 0);
  return 1;
}

/* After a silent slice: empty the slots of dead readers. The writer is told
 * EPEERGONE when that left no reader at all. */
static int readers_gone(void *ctx) {
  shmp_writer *w = ctx;
  int cleared = 0, left = 0;
  for (uint32_t i = 0; i < SHMP_MAX_READERS; i++) {
    cleared += clear_dead_slot(&w->g.h->slots[i]);
    left += smp_load_acquire(&w->g.h->slots[i].peer) != 0;
  }
  if (left > 0) w->had_reader = 1;
  return (cleared > 0 || w->had_reader) && left == 0;
}

/* The lowest tail of the readers' slots; SHMP_SLOT_FREE if none takes part. */
static uint64_t lowest_tail(struct shmp_header *h) {
  uint64_t low = SHMP_SLOT_FREE;
  for (uint32_t i = 0; i < SHMP_MAX_READERS; i++) {
    uint64_t tail = smp_load_acquire(&h->slots[i].tail);
    if (tail < low) low = tail;
  }
  return low;
}

/* Recomputes how far the writer may reuse the ring. With an attaching
 * reader (attach_slot) this is Dekker's pattern: the writer stores the mark,
 * fences, and reads the slots again; the reader stores its tail, fences, and
 * reads the mark. Either the writer sees the reader's tail, or the reader
 * sees the mark and starts at or after it. */
static int refresh_low(shmp_writer *w) {
  struct shmp_header *h = w->g.h;
  uint64_t first = lowest_tail(h);
  if (first == SHMP_SLOT_FREE) return SHMP_OK; /* no reader: nothing more is free */
  uint64_t mark = smp_load_acquire(&h->tail);
  if (first > mark) smp_store_mb(&h->tail, first);
  else smp_mb();
  uint64_t again = lowest_tail(h);
  uint64_t low = again < first ? again : first;
  if (low > w->head || low % SHMP_ALIGN) return SHMP_E_CORRUPT;
  if (low > w->tail_seen) w->tail_seen = low;
  return SHMP_OK;
}

/* Why attaching failed, in the words of the role asked for. */
static int attach_failed(shmp_segment *seg, int rc, const char *busy, shmp_error *err) {
  const char *detail = rc == SHMP_E_BUSY ? busy
                       : rc == SHMP_E_CLOSED ? "its writer has closed it: a channel has one writer for its life"
                       : rc == SHMP_E_INVALID && seg && seg->inspecting
                           ? "it was opened for inspection (read-only): open it again to write or read"
                           : "";
  return shmp_fail(err, rc, "attach", seg ? seg->name : "(null)", "%s", detail);
}

SHMP_EXPORT shmp_writer *shmp_writer_attach(shmp_segment *seg, shmp_error *err) {
  shmp_writer *w = seg ? calloc(1, sizeof *w) : NULL;
  int rc = seg == NULL || seg->inspecting ? SHMP_E_INVALID : w ? load_geometry(seg, &w->g) : -ENOMEM;
  if (rc == SHMP_OK && (READ_ONCE(&w->g.h->flags) & SHMP_FLAG_WRITER_CLOSED)) rc = SHMP_E_CLOSED;
  if (rc == SHMP_OK) rc = take_role(&w->g.h->writer);
  if (rc != SHMP_OK) {
    if (w) shmp_segment_unref(w->g.seg);
    free(w);
    attach_failed(seg, rc, "another live process is already this channel's writer", err);
    return NULL;
  }
  struct shmp_header *h = w->g.h;
  w->head = smp_load_acquire(&h->head);
  w->records = READ_ONCE(&h->records); /* a writer taking over from a dead one counts on */
  w->tail_seen = smp_load_acquire(&h->tail);
  if (!aligned(w->head) || !aligned(w->tail_seen) || w->tail_seen > w->head ||
      w->head - w->tail_seen > w->g.capacity) {
    smp_store_release(&h->writer, 0);
    shmp_segment_unref(w->g.seg);
    free(w);
    attach_failed(seg, SHMP_E_CORRUPT, "", err);
    return NULL;
  }
  w->joins_seen = smp_load_acquire(&h->late_joins);
  w->wait = (struct shmp_wait){&h->space_futex, &h->space_waiters, readers_gone, w, &w->interrupted, NULL};
  smp_store_release(&h->data_coming, 0); /* a dead writer's claim is over */
  return w;
}

/* Ends the writer's part: readers ACQUIRE the flag after their last look
 * at head, so they see every record committed before it. */
static void writer_finish(shmp_writer *w, uint32_t flags) {
  if (w == NULL) return;
  if (w->coming) smp_store_release(&w->g.h->data_coming, 0); /* a claim left open is over */
  smp_fetch_or(&w->g.h->flags, flags);
  shmp_wake_all(&w->g.h->data_futex);
  if (flags & SHMP_FLAG_SEALED) shmp_segment_close_file(w->g.seg);
  shmp_segment_unref(w->g.seg);
  free(w);
}

SHMP_EXPORT void shmp_writer_close(shmp_writer *w) { writer_finish(w, SHMP_FLAG_WRITER_CLOSED); }

SHMP_EXPORT void shmp_writer_abandon(shmp_writer *w) {
  if (w == NULL) return;
  /* Not a clean end: no flag. The role word becomes one no process holds,
   * RELEASE after the last commit's head, so that a reader that ACQUIREs
   * it and looks at head again has every committed record (as with the
   * closed flag), then is told its writer is gone, as if this process had
   * died. A new writer may take the role over, as from a dead one. */
  if (w->coming) smp_store_release(&w->g.h->data_coming, 0); /* a claim left open is over */
  smp_store_release(&w->g.h->writer, SHMP_PEER_ABANDONED);
  shmp_wake_all(&w->g.h->data_futex);
  shmp_segment_unref(w->g.seg);
  free(w);
}

SHMP_EXPORT void shmp_writer_seal(shmp_writer *w) { writer_finish(w, SHMP_FLAG_SEALED | SHMP_FLAG_WRITER_CLOSED); }

SHMP_EXPORT void shmp_writer_seal_persistent(shmp_writer *w) {
  writer_finish(w, SHMP_FLAG_SEALED | SHMP_FLAG_WRITER_CLOSED | SHMP_FLAG_PERSISTENT);
}

SHMP_EXPORT uint32_t shmp_writer_readers_joined(shmp_writer *w) {
  uint32_t joins = smp_load_acquire(&w->g.h->late_joins);
  uint32_t joined = joins - w->joins_seen;
  w->joins_seen = joins;
  return joined;
}

SHMP_EXPORT uint64_t shmp_writer_max_payload(const shmp_writer *w) {
  return w->g.capacity - SHMP_RECORD_HEADER;
}

SHMP_EXPORT void shmp_writer_interrupt(shmp_writer *w) {
  /* Private word, read by this endpoint's own waiter in another thread. */
  atomic_store(&w->interrupted, 1);
  shmp_wake_all(&w->g.h->space_futex);
}

struct space_need {
  shmp_writer *w;
  uint64_t bytes;
};

/* True if the readers-closed flag is right: no slot is held. A reader that
 * attaches while the last one leaves can have its clearing of the flag
 * overtaken by the leaver's setting of it; the writer then clears it again. */
static int readers_closed(struct shmp_header *h) {
  if (!(READ_ONCE(&h->flags) & SHMP_FLAG_READER_CLOSED)) return 0;
  for (uint32_t i = 0; i < SHMP_MAX_READERS; i++) {
    uint64_t peer = smp_load_mb(&h->slots[i].peer);
    if (peer != 0 && peer != SHMP_PEER_CLEARING) {
      smp_fetch_and(&h->flags, ~SHMP_FLAG_READER_CLOSED);
      return 0;
    }
  }
  return 1;
}

/* Ready when `bytes` more fit behind the slowest reader's released position. */
static int space_ready(void *ctx) {
  struct space_need *need = ctx;
  shmp_writer *w = need->w;
  if (readers_closed(w->g.h)) return SHMP_E_CLOSED;
  if (w->head - w->tail_seen + need->bytes <= w->g.capacity) return 1;
  int rc = refresh_low(w);
  if (rc != SHMP_OK) return rc;
  return w->head - w->tail_seen + need->bytes <= w->g.capacity;
}

static void publish_head(shmp_writer *w) {
  smp_store_mb(&w->g.h->head, w->head);
  shmp_wake_if_waiting(&w->g.h->data_futex, &w->g.h->data_waiters);
}

/* Plain stores: publish_head()'s barrier orders them before the head. */
static void write_record_header(shmp_writer *w, uint64_t len, uint32_t kind) {
  struct shmp_record *rec = (struct shmp_record *)(w->g.data + w->head % w->g.capacity);
  WRITE_PLAIN_ONCE(rec->pos, w->head);
  WRITE_PLAIN_ONCE(rec->len, len);
  WRITE_PLAIN_ONCE(rec->kind, kind);
}

/* What ended a wait on the writer's side, said in words ("" if the code says it all). */
static const char *writer_wait_detail(int rc) {
  return rc == SHMP_E_PEER_GONE ? "Every reader of the channel died; records not yet read are lost"
         : rc == SHMP_E_CLOSED  ? "every reader has left the channel"
         : rc == -EINTR         ? shmp_signal_detail()
                                : "";
}

/* The sentence for a failed wait on the writer's side. */
static int writer_failed(shmp_writer *w, int rc, const char *op, shmp_error *err) {
  return shmp_fail(err, rc, op, name_of(&w->g), "%s", writer_wait_detail(rc));
}

/* How often a writer that never waits for room looks whether its readers
 * are still there: it learns within this long that no live reader is left. */
#define READERS_LOOK_NS INT64_C(100000000)

/* The coarse clock: a read of the vDSO's page (a few ns), exact to a few ms. */
static int64_t coarse_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Before a claim: are readers left to read the record? That the last one
 * left is a flag (checked where the claim waits for room); whether they
 * died is a look at /proc, at most every READERS_LOOK_NS, so that a writer
 * that never waits learns it too, before it writes into the void. */
static int readers_alive(shmp_writer *w) {
  int64_t now = coarse_ns();
  if (now - w->readers_looked < READERS_LOOK_NS) return SHMP_OK;
  w->readers_looked = now;
  return readers_gone(w) ? SHMP_E_PEER_GONE : SHMP_OK;
}

/* Records this large say they are coming even when no reader sleeps yet
 * (a reader that starts waiting during the copy stays awake): their copy
 * takes longer than a wake-up (10 µs and more). */
#define SHMP_WAKE_AHEAD_BYTES (UINT64_C(256) << 10)

/* At a claim: a reader asleep would pay a wake-up after the commit (tens
 * to hundreds of µs; after a long sleep on a VM, more), and a large record
 * takes a while to fill. Then say that a record is coming and wake the
 * sleepers now: they wait through the copy awake (shmp_wait_until: a
 * spin of 50 µs, then naps of 50 µs) and see the commit sooner. What it
 * costs: a reader's 50 µs of spin, then a futex wait per 50 µs, from the
 * claim to the commit. Nothing when nobody sleeps and the record is small (one relaxed
 * load); a sleeper missed by the race only wakes at the commit, as before. */
static void wake_ahead(shmp_writer *w, uint64_t len) {
  struct shmp_header *h = w->g.h;
  int sleepers = atomic_load_explicit(&h->data_waiters, memory_order_relaxed) != 0;
  if (!sleepers && len < SHMP_WAKE_AHEAD_BYTES) return;
  w->coming = 1;
  smp_store_release(&h->data_coming, 1);
  if (sleepers) shmp_wake_all(&h->data_futex);
}

/* The claim is over (committed or aborted): readers sleep again when idle. */
static void claim_over(shmp_writer *w) {
  if (!w->coming) return;
  w->coming = 0;
  smp_store_release(&w->g.h->data_coming, 0);
}

static int64_t claim(shmp_writer *w, uint64_t len, int64_t timeout_ns, uint32_t spin, const char *op,
                     shmp_error *err) {
  if (w->claimed)
    return shmp_fail(err, SHMP_E_STATE, op, name_of(&w->g), "commit or abort the previous claim first");
  if (len > shmp_writer_max_payload(w))
    return shmp_fail(err, SHMP_E_TOO_LARGE, op, name_of(&w->g),
                     "a %llu-byte record does not fit: this channel carries at most %llu bytes per record; create it "
                     "with a larger capacity",
                     (unsigned long long)len, (unsigned long long)shmp_writer_max_payload(w));
  int rc = readers_alive(w);
  if (rc != SHMP_OK) return writer_failed(w, rc, op, err);
  struct shmp_deadline deadline = shmp_deadline_in(timeout_ns);
  uint64_t size = shmp_record_size(len);
  uint64_t offset = w->head % w->g.capacity;
  struct space_need need = {w, 0};

  if (offset + size > w->g.capacity) {
    /* Pad to the end of the ring and publish the padding alone: the reader
     * skips it and releases it, which is what makes room at offset 0. */
    need.bytes = w->g.capacity - offset;
    rc = shmp_wait_until(&w->wait, space_ready, &need, &deadline, spin);
    if (rc != SHMP_OK) return writer_failed(w, rc, op, err);
    write_record_header(w, need.bytes - SHMP_RECORD_HEADER, SHMP_RECORD_PAD);
    w->head += need.bytes;
    publish_head(w);
    offset = 0;
  }
  need.bytes = size;
  rc = shmp_wait_until(&w->wait, space_ready, &need, &deadline, spin);
  if (rc != SHMP_OK) return writer_failed(w, rc, op, err);
  w->claimed = 1;
  w->claim_len = len;
  w->claim_offset = w->g.data_offset + offset + SHMP_RECORD_HEADER;
  wake_ahead(w, len);
  return (int64_t)w->claim_offset;
}

SHMP_EXPORT int64_t shmp_writer_claim(shmp_writer *w, uint64_t len, int64_t timeout_ns, uint32_t spin,
                                      shmp_error *err) {
  return claim(w, len, timeout_ns, spin, "claim", err);
}

static int commit(shmp_writer *w, uint64_t len, const char *op, shmp_error *err) {
  if (!w->claimed) return shmp_fail(err, SHMP_E_STATE, op, name_of(&w->g), "claim a record first");
  if (len > w->claim_len)
    return shmp_fail(err, SHMP_E_INVALID, op, name_of(&w->g), "length %llu is outside the %llu bytes claimed",
                     (unsigned long long)len, (unsigned long long)w->claim_len);
  write_record_header(w, len, SHMP_RECORD_DATA);
  w->head += shmp_record_size(len);
  w->claimed = 0;
  /* For tools only; publish_head()'s barrier orders it before the head,
   * so whoever ACQUIREs the head sees at least the count of its records. */
  WRITE_ONCE(&w->g.h->records, ++w->records);
  publish_head(w);
  claim_over(w); /* after the head: a spinning reader sees the record first */
  return SHMP_OK;
}

SHMP_EXPORT int shmp_writer_commit(shmp_writer *w, uint64_t len, shmp_error *err) { return commit(w, len, "commit", err); }

const uint8_t *shmp_writer_claimed(const shmp_writer *w, uint64_t *len) {
  if (!w->claimed) return NULL;
  *len = w->claim_len;
  return (const uint8_t *)w->g.h + w->claim_offset;
}

const char *shmp_writer_name(const shmp_writer *w) { return name_of(&w->g); }

SHMP_EXPORT int shmp_writer_abort(shmp_writer *w, shmp_error *err) {
  if (!w->claimed) return shmp_fail(err, SHMP_E_STATE, "abort", name_of(&w->g), "claim a record first");
  w->claimed = 0;
  claim_over(w);
  return SHMP_OK;
}

SHMP_EXPORT int shmp_writer_send(shmp_writer *w, const void *data, uint64_t len, int64_t timeout_ns, uint32_t spin,
                                 shmp_error *err) {
  int64_t offset = claim(w, len, timeout_ns, spin, "send", err);
  if (offset < 0) return (int)offset;
  if (len) memcpy((uint8_t *)w->g.h + offset, data, len);
  return commit(w, len, "send", err);
}

/* ---- batches: many small records per call ----------------------------------
 *
 * A binding whose calls into C cost as much as a small record (a JavaScript
 * FFI call, cgo) sends and takes records by the hundred. The rules are the
 * ones above, record by record; only the publishing is shared: the head is
 * published once for the batch, and before every wait for room, so that
 * the readers can free the space the writer waits for. */

/* Why a batch stopped, with how far it got: the records before the failure
 * are published and will be read. */
static int batch_failed(shmp_writer *w, int rc, uint64_t sent, uint32_t count, shmp_error *err) {
  const char *detail = writer_wait_detail(rc);
  return shmp_fail(err, rc, "send", name_of(&w->g), "%s%s%llu of the batch's %u records were sent before it", detail,
                   *detail ? "; " : "", (unsigned long long)sent, count);
}

/* Publishes what the batch wrote so far (records and padding). */
static void publish_batch(shmp_writer *w) {
  /* For tools only; publish_head()'s barrier orders it before the head. */
  WRITE_ONCE(&w->g.h->records, w->records);
  publish_head(w);
}

/* Makes room for `bytes` more at the head: at once if the readers' last
 * known position allows, else after publishing what the batch wrote (the
 * readers free space only behind what they have seen) and waiting. */
static int batch_room(shmp_writer *w, uint64_t bytes, uint64_t *published, struct shmp_deadline *deadline, uint32_t spin) {
  if (w->head - w->tail_seen + bytes <= w->g.capacity) return SHMP_OK;
  if (*published != w->head) {
    publish_batch(w);
    *published = w->head;
  }
  struct space_need need = {w, bytes};
  return shmp_wait_until(&w->wait, space_ready, &need, deadline, spin);
}

/* Records [first, count) of a batch whose records before `first` earlier
 * calls sent; the checks, *sent and the sentence are the whole batch's. */
static int64_t send_batch(shmp_writer *w, const void *data, uint64_t data_len, const uint64_t *lengths, uint32_t count,
                          uint32_t first, int64_t timeout_ns, uint32_t spin, uint64_t *sent, shmp_error *err) {
  if (sent) *sent = first;
  if (w->claimed) return shmp_fail(err, SHMP_E_STATE, "send", name_of(&w->g), "commit or abort the claim first");
  if (count > 0 && lengths == NULL)
    return shmp_fail(err, SHMP_E_INVALID, "send", name_of(&w->g), "a batch of %u records needs their lengths", count);
  if (first > count)
    return shmp_fail(err, SHMP_E_INVALID, "send", name_of(&w->g), "a batch of %u records has no record %u to go on from",
                     count, first);
  /* Every record is checked before any is written: a batch refused for its
   * arguments sends nothing. */
  uint64_t total = 0, before = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (lengths[i] > shmp_writer_max_payload(w))
      return shmp_fail(err, SHMP_E_TOO_LARGE, "send", name_of(&w->g),
                       "record %u of the batch (%llu bytes) does not fit: this channel carries at most %llu bytes per "
                       "record; create it with a larger capacity",
                       i, (unsigned long long)lengths[i], (unsigned long long)shmp_writer_max_payload(w));
    if (i == first) before = total;
    total += lengths[i]; /* no overflow: each is below the capacity, and there are fewer than 2^32 */
  }
  if (total != data_len || (data == NULL && total > 0))
    return shmp_fail(err, SHMP_E_INVALID, "send", name_of(&w->g),
                     "the lengths of the batch's records add up to %llu bytes, but %llu bytes of data were given",
                     (unsigned long long)total, (unsigned long long)(data == NULL ? 0 : data_len));
  if (first == count) return count;
  if (readers_closed(w->g.h)) return batch_failed(w, SHMP_E_CLOSED, first, count, err);
  int rc = readers_alive(w);
  if (rc != SHMP_OK) return batch_failed(w, rc, first, count, err);
  struct shmp_deadline deadline = shmp_deadline_in(timeout_ns);
  const uint8_t *from = (const uint8_t *)data + before;
  uint64_t published = w->head;
  uint32_t i = first;
  wake_ahead(w, total - before);
  for (; i < count; i++) {
    uint64_t len = lengths[i], size = shmp_record_size(len);
    uint64_t offset = w->head % w->g.capacity;
    if (offset + size > w->g.capacity) { /* pad to the end of the ring, as claim() does */
      rc = batch_room(w, w->g.capacity - offset, &published, &deadline, spin);
      if (rc != SHMP_OK) break;
      write_record_header(w, w->g.capacity - offset - SHMP_RECORD_HEADER, SHMP_RECORD_PAD);
      w->head += w->g.capacity - offset;
      offset = 0;
    }
    rc = batch_room(w, size, &published, &deadline, spin);
    if (rc != SHMP_OK) break;
    if (len) memcpy(w->g.data + offset + SHMP_RECORD_HEADER, from, len);
    write_record_header(w, len, SHMP_RECORD_DATA);
    w->head += size;
    w->records++;
    from += len;
  }
  /* Every record written is whole: published also when a wait failed. */
  if (published != w->head) publish_batch(w);
  claim_over(w);
  if (sent) *sent = i;
  return rc == SHMP_OK ? (int64_t)count : batch_failed(w, rc, i, count, err);
}

SHMP_EXPORT int64_t shmp_writer_send_batch(shmp_writer *w, const void *data, uint64_t data_len, const uint64_t *lengths,
                                           uint32_t count, int64_t timeout_ns, uint32_t spin, uint64_t *sent,
                                           shmp_error *err) {
  return send_batch(w, data, data_len, lengths, count, 0, timeout_ns, spin, sent, err);
}

SHMP_EXPORT int64_t shmp_writer_send_batch_from(shmp_writer *w, const void *data, uint64_t data_len,
                                                const uint64_t *lengths, uint32_t count, uint32_t first,
                                                int64_t timeout_ns, uint32_t spin, uint64_t *sent, shmp_error *err) {
  return send_batch(w, data, data_len, lengths, count, first, timeout_ns, spin, sent, err);
}

/* ---- what becomes of the records a writer leaves ---------------------------- */

/* Where the records some reader has not read yet start: the lowest tail of
 * the attached readers; with none attached, the furthest a reader that left
 * had read, or the writer's mark when none ever did. Clamped to head. */
static uint64_t unread_from(shmp_writer *w) {
  struct shmp_header *h = w->g.h;
  uint64_t from = lowest_tail(h);
  if (from == SHMP_SLOT_FREE) {
    from = smp_load_acquire(&h->tail);
    uint64_t mark = smp_load_acquire(&h->read_mark);
    if (mark > from) from = mark;
  }
  return from > w->head ? w->head : from;
}

static uint64_t records_between(const shmp_writer *w, uint64_t from) {
  return shmp_ring_records(w->g.data, w->g.capacity, from, w->head);
}

/* True if closing this writer now would lose records: this mapping created
 * the channel (its name goes with the writer), records were committed, and
 * no reader has ever attached, so nobody holds them once the name is gone. */
static int close_would_lose(shmp_writer *w) {
  if (!w->g.seg->created) return 0;
  if (smp_load_acquire(&w->g.h->readers_attached) != 0) return 0;
  return unread_from(w) < w->head;
}

/* Ready when every committed record was released by every attached reader
 * (or, with none attached, read by one that left). With no reader ever
 * attached it waits for one; readers that all left early are ECLOSED. */
static int drained(void *ctx) {
  shmp_writer *w = ctx;
  struct shmp_header *h = w->g.h;
  uint64_t low = lowest_tail(h);
  if (low != SHMP_SLOT_FREE) return low > w->head || !aligned(low) ? SHMP_E_CORRUPT : low == w->head;
  if (smp_load_acquire(&h->read_mark) >= w->head) return 1;
  return smp_load_acquire(&h->readers_attached) == 0 ? 0 : SHMP_E_CLOSED;
}

/* Ready when closing would lose nothing: a reader attached (it keeps the
 * records readable once the name is gone), or there is nothing to lose. */
static int kept(void *ctx) { return !close_would_lose(ctx); }

/* The records and bytes some reader has not read yet. */
struct unread {
  unsigned long long records, bytes;
};

static struct unread unread_of(shmp_writer *w) {
  uint64_t from = unread_from(w);
  return (struct unread){records_between(w, from), w->head - from};
}

#define UNREAD_FMT "%llu record%s (%llu bytes)"
#define UNREAD_ARGS(u) (u).records, (u).records == 1 ? "" : "s", (u).bytes
#define WAS(u) ((u).records == 1 ? "was" : "were")

SHMP_EXPORT int shmp_writer_drain(shmp_writer *w, int64_t timeout_ns, uint32_t spin, shmp_error *err) {
  if (w->claimed) return shmp_fail(err, SHMP_E_STATE, "drain", name_of(&w->g), "commit or abort the claim first");
  struct shmp_deadline deadline = shmp_deadline_in(timeout_ns);
  int rc = shmp_wait_until(&w->wait, drained, w, &deadline, spin);
  if (rc == SHMP_OK || rc == SHMP_E_AGAIN) return rc;
  struct unread u = unread_of(w);
  if (rc == SHMP_E_TIMEOUT)
    return shmp_fail(err, rc, "drain", name_of(&w->g), UNREAD_FMT " %s still unread when the wait ended%s",
                     UNREAD_ARGS(u), WAS(u),
                     smp_load_acquire(&w->g.h->readers_attached) == 0 ? ": no reader has opened the channel yet" : "");
  if (rc == SHMP_E_CLOSED)
    return shmp_fail(err, rc, "drain", name_of(&w->g), "every reader left the channel with " UNREAD_FMT " unread",
                     UNREAD_ARGS(u));
  return writer_failed(w, rc, "drain", err);
}

SHMP_EXPORT int shmp_writer_linger(shmp_writer *w, int64_t timeout_ns, uint32_t spin, shmp_error *err) {
  if (!close_would_lose(w)) return SHMP_OK;
  struct shmp_deadline deadline = shmp_deadline_in(timeout_ns);
  int rc = shmp_wait_until(&w->wait, kept, w, &deadline, spin);
  if (rc == SHMP_OK || rc == SHMP_E_AGAIN) return rc;
  return writer_failed(w, rc, "close", err);
}

/* The shortest close wait that is announced. */
#define NOTICE_AFTER_NS INT64_C(1000000000)

/* "30 s", "1.5 s": a wait of a second or more as a person reads it. */
static void say_duration(char *out, size_t cap, int64_t ns) {
  if (ns % 1000000000 == 0) snprintf(out, cap, "%lld s", (long long)(ns / 1000000000));
  else snprintf(out, cap, "%.1f s", (double)ns / 1e9);
}

SHMP_EXPORT int64_t shmp_writer_linger_notice(shmp_writer *w, int64_t timeout_ns, char *out, uint64_t out_len) {
  if (out != NULL && out_len > 0) out[0] = '\0';
  /* A wait under a second is no silence worth a line (the EUNREAD that may end it says enough). */
  if (w == NULL || (timeout_ns >= 0 && timeout_ns < NOTICE_AFTER_NS) || !close_would_lose(w)) return 0;
  struct unread u = unread_of(w);
  char wait[32];
  if (timeout_ns < 0) snprintf(wait, sizeof wait, "until one comes");
  else {
    char duration[24];
    say_duration(duration, sizeof duration, timeout_ns);
    snprintf(wait, sizeof wait, "up to %s", duration);
  }
  int n = snprintf(out, out != NULL ? out_len : 0,
                   "shmpipe: closing \"%s\" waits %s for a reader: none has opened the channel, and its " UNREAD_FMT
                   " %s with its name if none comes",
                   name_of(&w->g), wait, UNREAD_ARGS(u), u.records == 1 ? "goes" : "go");
  return n < 0 ? 0 : n;
}

SHMP_EXPORT int shmp_writer_close_checked(shmp_writer *w, shmp_error *err) {
  if (w == NULL) return SHMP_OK;
  char name[SHMP_NAME_MAX + 1];
  snprintf(name, sizeof name, "%s", name_of(&w->g));
  int lost = close_would_lose(w);
  struct unread u = lost ? unread_of(w) : (struct unread){0, 0};
  shmp_writer_close(w);
  if (!lost) return SHMP_OK;
  return shmp_fail(err, SHMP_E_UNREAD, "close", name,
                   UNREAD_FMT " written to it %s never read: no reader opened the channel before its creator closed "
                   "it, and the records went with its name",
                   UNREAD_ARGS(u), WAS(u));
}

/* ---- reader ---------------------------------------------------------------- */

/* Takes a free slot (or a dead reader's) and the position to start from:
 * the writer's low-water mark, read after this reader's tail is visible
 * (the reader's half of Dekker's pattern in refresh_low). */
static int attach_slot(shmp_reader *r) {
  struct shmp_header *h = r->g.h;
  for (uint32_t i = 0; i < SHMP_MAX_READERS; i++) {
    struct shmp_slot *slot = &h->slots[i];
    if (take_role(&slot->peer) != SHMP_OK) continue;
    uint64_t start = smp_load_acquire(&h->tail);
    smp_store_mb(&slot->tail, start);
    uint64_t mark = smp_load_acquire(&h->tail);
    if (mark > start) {
      start = mark;
      smp_store_mb(&slot->tail, start);
    }
    if (!aligned(start)) {
      smp_store_mb(&slot->tail, SHMP_SLOT_FREE);
      smp_store_release(&slot->peer, 0);
      return SHMP_E_CORRUPT;
    }
    smp_fetch_and(&h->flags, ~SHMP_FLAG_READER_CLOSED);
    r->slot = slot;
    r->tail = r->read = start;
    /* Counted once the tail is in place. A reader that starts past the
     * first record has missed the start of the stream: the writer learns
     * it (shmp_writer_readers_joined) and can send what a stream starts
     * with again. */
    smp_fetch_add(&h->readers_attached, 1);
    if (start > 0) {
      r->awaiting_schema = 1;
      smp_fetch_add(&h->late_joins, 1);
    }
    return SHMP_OK;
  }
  return SHMP_E_BUSY;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A table's observer: waits (polling each millisecond) until the publisher
 * has sealed the segment. */
static int await_sealed(shmp_reader *r, int64_t ready_timeout_ns) {
  int64_t deadline = ready_timeout_ns < 0 ? INT64_MAX : now_ns() + ready_timeout_ns;
  while (!(smp_load_acquire(&r->g.h->flags) & SHMP_FLAG_SEALED)) {
    if (shmp_pending_signal()) return -EINTR;
    if (now_ns() >= deadline) return SHMP_E_NOT_READY;
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  r->tail = r->read = smp_load_acquire(&r->g.h->tail);
  return aligned(r->read) ? SHMP_OK : SHMP_E_CORRUPT;
}

static shmp_reader *new_reader(shmp_segment *seg, int observer, int64_t ready_timeout_ns, shmp_error *err) {
  shmp_reader *r = seg ? calloc(1, sizeof *r) : NULL;
  int rc = seg == NULL || (seg->inspecting && !observer) ? SHMP_E_INVALID : r ? load_geometry(seg, &r->g) : -ENOMEM;
  if (rc == SHMP_OK) rc = observer ? await_sealed(r, ready_timeout_ns) : attach_slot(r);
  if (rc != SHMP_OK) {
    if (r) shmp_segment_unref(r->g.seg);
    free(r);
    if (observer)
      shmp_fail(err, rc, "open", seg ? seg->name : "(null)", "%s",
                rc == SHMP_E_NOT_READY ? "the table is still being published, or this is a channel rather than a table"
                : rc == -EINTR         ? shmp_signal_detail()
                                       : "");
    else
      attach_failed(seg, rc, "all 32 reader slots of this channel are taken by live readers", err);
    return NULL;
  }
  struct shmp_header *h = r->g.h;
  r->head_seen = r->read;
  r->wait = (struct shmp_wait){&h->data_futex, &h->data_waiters, writer_gone, &h->writer, &r->interrupted,
                               &h->data_coming};
  return r;
}

SHMP_EXPORT shmp_reader *shmp_reader_attach(shmp_segment *seg, shmp_error *err) {
  return new_reader(seg, 0, 0, err);
}

SHMP_EXPORT shmp_reader *shmp_table_open(shmp_segment *seg, int64_t ready_timeout_ns, shmp_error *err) {
  return new_reader(seg, 1, ready_timeout_ns, err);
}

SHMP_EXPORT void shmp_reader_close(shmp_reader *r) {
  if (r == NULL) return;
  if (r->slot != NULL) {
    struct shmp_header *h = r->g.h;
    /* What it read stays known: a writer draining the channel asks. */
    uint64_t mark = smp_load_acquire(&h->read_mark);
    while (mark < r->tail && !smp_cas(&h->read_mark, &mark, r->tail)) {
    }
    /* Free the tail before the slot (as clear_dead_slot does), with a full
     * barrier so the writer's next scan of the tails does not count it. */
    smp_store_mb(&r->slot->tail, SHMP_SLOT_FREE);
    /* The last reader to leave closes the channel for the writer. The slot
     * goes first and the scan follows (both seq_cst): of two readers that
     * leave at once, the later one in that order sees both slots free. */
    smp_store_mb(&r->slot->peer, 0);
    uint32_t others = 0;
    for (uint32_t i = 0; i < SHMP_MAX_READERS; i++) others += smp_load_mb(&h->slots[i].peer) != 0;
    if (others == 0) smp_fetch_or(&h->flags, SHMP_FLAG_READER_CLOSED);
    shmp_wake_all(&h->space_futex);
  }
  shmp_segment_unref(r->g.seg);
  free(r->leases);
  free(r);
}

SHMP_EXPORT void shmp_reader_interrupt(shmp_reader *r) {
  /* Private word, read by this endpoint's own waiter in another thread. */
  atomic_store(&r->interrupted, 1);
  shmp_wake_all(&r->g.h->data_futex);
}

static void publish_tail(shmp_reader *r) {
  if (r->slot == NULL) return; /* a table's readers share nothing but the data */
  smp_store_mb(&r->slot->tail, r->tail);
  shmp_wake_if_waiting(&r->g.h->space_futex, &r->g.h->space_waiters);
}

/* Gives the writer everything before the oldest lease still held (or
 * before the read position when none is): released leases at the front
 * go, and so do records released in the ordinary way and padding. */
static void advance_tail(shmp_reader *r) {
  uint32_t done = 0;
  while (done < r->lease_count && r->leases[done].released) done++;
  if (done > 0) {
    memmove(r->leases, r->leases + done, (r->lease_count - done) * sizeof *r->leases);
    r->lease_count -= done;
  }
  uint64_t tail = r->lease_count > 0 ? r->leases[0].pos : r->read;
  if (tail == r->tail) return;
  r->tail = tail;
  publish_tail(r);
}

/* Bytes committed and not yet read, refreshing head only when caught up.
 * Returns SHMP_E_CORRUPT if the writer's head is impossible. */
static int64_t committed_bytes(shmp_reader *r) {
  if (r->head_seen == r->read) {
    uint64_t head = smp_load_acquire(&r->g.h->head);
    if (head < r->read || head - r->tail > r->g.capacity || head % SHMP_ALIGN)
      return SHMP_E_CORRUPT;
    r->head_seen = head;
  }
  return (int64_t)(r->head_seen - r->read);
}

/* The writer gave up its stream (shmp_writer_abandon): ACQUIREs the role
 * word, so that head, looked at again, holds every record it committed. */
static int writer_abandoned(const shmp_reader *r) {
  return smp_load_acquire(&r->g.h->writer) == SHMP_PEER_ABANDONED;
}

static int64_t peek(shmp_reader *r, uint64_t *offset) {
  if (r->cur_size) {
    if (offset) *offset = r->cur_offset;
    return (int64_t)r->cur_len;
  }
  for (;;) {
    int64_t available = committed_bytes(r);
    if (available < 0) return available;
    if (available == 0) {
      /* A table's observer found it sealed: complete, whatever a peer does
       * to the flags since (it never waits: its mapping may be read-only). */
      if (r->slot == NULL) return SHMP_E_CLOSED;
      /* The writer sets CLOSED after its last commit: look at head once
       * more after seeing the flag, or the last records would be lost. */
      int closed = (smp_load_acquire(&r->g.h->flags) & SHMP_FLAG_WRITER_CLOSED) != 0;
      if (!closed && !writer_abandoned(r)) return SHMP_E_AGAIN;
      available = committed_bytes(r);
      if (available <= 0) return available < 0 ? available : closed ? SHMP_E_CLOSED : SHMP_E_PEER_GONE;
    }
    uint64_t ring_offset = r->read % r->g.capacity;
    const struct shmp_record *rec = (const struct shmp_record *)(r->g.data + ring_offset);
    uint64_t pos = READ_PLAIN_ONCE(rec->pos);
    uint64_t len = READ_PLAIN_ONCE(rec->len);
    uint32_t kind = READ_PLAIN_ONCE(rec->kind);
    uint64_t room = r->g.capacity - ring_offset; /* bytes to the end of the ring */
    if (room < SHMP_RECORD_HEADER || pos != r->read || len > room - SHMP_RECORD_HEADER) return SHMP_E_CORRUPT;
    uint64_t size = shmp_record_size(len);
    if (kind == SHMP_RECORD_PAD) {
      if (size != room || size > (uint64_t)available) return SHMP_E_CORRUPT;
      r->read += size;
      advance_tail(r);
      continue;
    }
    if (kind != SHMP_RECORD_DATA || size > (uint64_t)available) return SHMP_E_CORRUPT;
    r->cur_size = size;
    r->cur_len = len;
    r->cur_offset = r->g.data_offset + ring_offset + SHMP_RECORD_HEADER;
    if (offset) *offset = r->cur_offset;
    return (int64_t)len;
  }
}

/* The sentence for a reader's failure; SHMP_E_AGAIN is no failure. */
static int64_t reader_failed(shmp_reader *r, int64_t rc, const char *op, shmp_error *err) {
  if (rc >= 0 || rc == SHMP_E_AGAIN) return rc;
  const char *detail = rc == SHMP_E_PEER_GONE && writer_abandoned(r)
                           ? "The writer abandoned the stream before its end (its source broke); every record it "
                             "committed was delivered"
                       : rc == SHMP_E_PEER_GONE ? "The writer died; every record it committed was delivered"
                       : rc == SHMP_E_CLOSED  ? "the writer closed it and every record was read"
                       : rc == SHMP_E_CORRUPT ? "the writer's position or a record header is out of range"
                       : rc == -EINTR         ? shmp_signal_detail()
                                              : "";
  return shmp_fail(err, (int)rc, op, name_of(&r->g), "%s", detail);
}

SHMP_EXPORT int64_t shmp_reader_peek(shmp_reader *r, uint64_t *offset, shmp_error *err) {
  return reader_failed(r, peek(r, offset), "recv", err);
}

SHMP_EXPORT uint64_t shmp_reader_offset(const shmp_reader *r) { return r->cur_offset; }

/* Reads on past the record peek handed out and gives its space back. */
static void release_current(shmp_reader *r) {
  r->read += r->cur_size;
  r->cur_size = 0;
  advance_tail(r);
}

SHMP_EXPORT int shmp_reader_release(shmp_reader *r, shmp_error *err) {
  if (!r->cur_size) return shmp_fail(err, SHMP_E_STATE, "release", name_of(&r->g), "no record is held: receive one first");
  release_current(r);
  return SHMP_OK;
}

int shmp_reader_hold(shmp_reader *r, uint64_t *lease, shmp_error *err) {
  if (!r->cur_size) return shmp_fail(err, SHMP_E_STATE, "recv", name_of(&r->g), "no record is held: receive one first");
  if (r->lease_count == r->lease_capacity) {
    uint32_t capacity = r->lease_capacity ? 2 * r->lease_capacity : 16;
    struct lease *grown = realloc(r->leases, capacity * sizeof *grown);
    if (grown == NULL) return shmp_fail(err, -ENOMEM, "recv", name_of(&r->g), NULL);
    r->leases = grown;
    r->lease_capacity = capacity;
  }
  r->leases[r->lease_count++] = (struct lease){r->read, r->cur_size, 0};
  if (lease) *lease = r->read;
  r->read += r->cur_size;
  r->cur_size = 0;
  return SHMP_OK;
}

SHMP_EXPORT int64_t shmp_reader_take(shmp_reader *r, uint64_t *offset, uint64_t *lease, int64_t timeout_ns,
                                     uint32_t spin, shmp_error *err) {
  int64_t length = shmp_reader_next(r, offset, timeout_ns, spin, err);
  if (length < 0) return length;
  int rc = shmp_reader_hold(r, lease, err);
  return rc != SHMP_OK ? rc : length;
}

/* What try_take and try_take_copy do with what peek said: take the record
 * under a lease, or say why not. The one look at the ring was peek's: a
 * record committed after it waits for the next call. */
static int64_t take_peeked(shmp_reader *r, int64_t length, uint64_t at, uint64_t *offset, uint64_t *lease,
                           uint64_t *read_to, shmp_error *err) {
  /* Nothing yet and a signal caught: it ends the binding's poll as it would
   * end a wait in the core. */
  if (length == SHMP_E_AGAIN && shmp_pending_signal()) length = -EINTR;
  int rc = SHMP_OK;
  if (length >= 0) {
    if (offset) *offset = at;
    rc = shmp_reader_hold(r, lease, err);
  }
  if (read_to) *read_to = r->read;
  if (rc != SHMP_OK) return rc;
  return reader_failed(r, length, "recv", err);
}

/* A binding that polls the head itself calls this when the head moved:
 * one call per record, and nothing to pay (no clock read, no sentence)
 * when the move was padding, or when it looks now and then to learn of the
 * end of the stream. */
SHMP_EXPORT int64_t shmp_reader_try_take(shmp_reader *r, uint64_t *offset, uint64_t *lease, uint64_t *read_to,
                                         shmp_error *err) {
  uint64_t at = 0;
  int64_t length = peek(r, &at);
  return take_peeked(r, length, at, offset, lease, read_to, err);
}

SHMP_EXPORT int64_t shmp_reader_try_take_copy(shmp_reader *r, void *copy, uint64_t copy_room, uint64_t *offset,
                                              uint64_t *lease, uint64_t *read_to, shmp_error *err) {
  uint64_t at = 0;
  int64_t length = peek(r, &at);
  if (length < 0 || (uint64_t)length > copy_room) return take_peeked(r, length, at, offset, lease, read_to, err);
  /* peek checked that the record lies in the ring; it is copied before its
   * space goes back, so the writer cannot be writing over it meanwhile. */
  if (length > 0) memcpy(copy, (const uint8_t *)r->g.seg->base + at, (size_t)length);
  release_current(r);
  if (read_to) *read_to = r->read;
  return length;
}

SHMP_EXPORT int64_t shmp_reader_take_batch(shmp_reader *r, uint64_t *records, uint32_t max, uint64_t *lease,
                                           int64_t timeout_ns, uint32_t spin, shmp_error *err) {
  if (records == NULL || max == 0)
    return shmp_fail(err, SHMP_E_INVALID, "recv", name_of(&r->g), "a batch needs room for at least one record");
  uint64_t offset = 0;
  int64_t length = shmp_reader_next(r, &offset, timeout_ns, spin, err);
  if (length < 0) return length;
  uint64_t start = r->read;
  /* The first record becomes the batch's lease before the others are
   * looked at: padding skipped on the way moves the tail up to the lease,
   * never past it. */
  int rc = shmp_reader_hold(r, NULL, err);
  if (rc != SHMP_OK) return rc;
  records[0] = offset;
  records[1] = (uint64_t)length;
  uint32_t n = 1;
  /* What is committed by now, each record checked by peek as one read
   * alone; whatever stops the batch (nothing more yet, the end, a corrupt
   * record) is what the next call reports. */
  while (n < max && (length = peek(r, &offset)) >= 0) {
    records[2 * n] = offset;
    records[2 * n + 1] = (uint64_t)length;
    n++;
    r->read += r->cur_size;
    r->cur_size = 0;
  }
  r->leases[r->lease_count - 1].size = r->read - start; /* the batch's lease is the newest */
  if (lease) *lease = start;
  return n;
}

SHMP_EXPORT int shmp_reader_release_lease(shmp_reader *r, uint64_t lease, shmp_error *err) {
  for (uint32_t i = 0; i < r->lease_count; i++) {
    if (r->leases[i].pos != lease || r->leases[i].released) continue;
    r->leases[i].released = 1;
    advance_tail(r);
    return SHMP_OK;
  }
  return shmp_fail(err, SHMP_E_STATE, "release", name_of(&r->g), "lease %llu is not held by this reader",
                   (unsigned long long)lease);
}

/* Ready when a record (or padding) is committed, or the writer closed. */
static int data_ready(void *ctx) {
  shmp_reader *r = ctx;
  if (r->cur_size) return 1;
  int64_t available = committed_bytes(r);
  if (available != 0) return available > 0 ? 1 : (int)available;
  /* Closed, or abandoned: peek tells which (and looks at head again). */
  return (READ_ONCE(&r->g.h->flags) & SHMP_FLAG_WRITER_CLOSED) != 0 || writer_abandoned(r);
}

static int wait_data(shmp_reader *r, int64_t timeout_ns, uint32_t spin) {
  if (r->slot == NULL) { /* a table's observer has nothing to wait for (peek above) */
    int64_t len = peek(r, NULL);
    return len >= 0 ? SHMP_OK : (int)len;
  }
  struct shmp_deadline deadline = shmp_deadline_in(timeout_ns);
  for (;;) {
    int rc = shmp_wait_until(&r->wait, data_ready, r, &deadline, spin);
    if (rc != SHMP_OK) return rc;
    /* Ready may mean "closed", or only padding was committed: peek tells
     * a record from end-of-stream and skips padding. */
    int64_t len = peek(r, NULL);
    if (len != SHMP_E_AGAIN) return len >= 0 ? SHMP_OK : (int)len;
  }
}

SHMP_EXPORT int shmp_reader_wait(shmp_reader *r, int64_t timeout_ns, uint32_t spin, shmp_error *err) {
  return (int)reader_failed(r, wait_data(r, timeout_ns, spin), "recv", err);
}

SHMP_EXPORT int64_t shmp_reader_next(shmp_reader *r, uint64_t *offset, int64_t timeout_ns, uint32_t spin,
                                     shmp_error *err) {
  int64_t len = peek(r, offset);
  if (len == SHMP_E_AGAIN) {
    int rc = wait_data(r, timeout_ns, spin);
    len = rc == SHMP_OK ? peek(r, offset) : rc;
  }
  return reader_failed(r, len, "recv", err);
}

/* ---- Arrow streams ---------------------------------------------------------- */

SHMP_EXPORT int shmp_reader_check_arrow(shmp_reader *r, shmp_arrow_checker *c, const void *record, uint64_t len,
                                        shmp_error *err) {
  if (r == NULL || !r->awaiting_schema) return shmp_arrow_checker_check(c, record, len, err);
  /* Joined mid-stream: the schema (and the dictionaries) of what comes
   * next went by before this reader came. Skip to the next schema, which
   * the writer sends again once it sees the join. */
  int kind = shmp_arrow_checker_check(c, record, len, NULL);
  if (kind != SHMP_ARROW_SCHEMA) return 0;
  r->awaiting_schema = 0;
  return kind;
}
