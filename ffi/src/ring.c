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
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "layout.h"
#include "wait.h"

struct geometry {
  struct shmp_header *h;
  uint8_t *data;     /* base + header size */
  uint64_t capacity; /* private copy: the shared one may be overwritten */
  uint64_t data_offset;
};

struct shmp_writer {
  struct geometry g;
  uint64_t head;       /* next position to write; equals h->head between calls */
  uint64_t tail_seen;  /* the lowest reader tail last seen: refreshed only when short of space */
  uint64_t claim_len;  /* payload bytes reserved by claim */
  int claimed;
  _Atomic uint32_t interrupted;
  struct shmp_wait wait;
};

struct shmp_reader {
  struct geometry g;
  struct shmp_slot *slot; /* this reader's place; NULL for a table's observer */
  uint64_t tail;      /* position of the next record; equals slot->tail between calls */
  uint64_t head_seen; /* last head read from the writer: refreshed only when caught up */
  uint64_t cur_size;  /* ring bytes of the record handed out by peek, 0 if none */
  uint64_t cur_len;
  uint64_t cur_offset;
  _Atomic uint32_t interrupted;
  struct shmp_wait wait;
};

static int load_geometry(void *base, uint64_t size, struct geometry *g) {
  int rc = shmp_segment_check(base, size);
  if (rc != SHMP_OK) return rc;
  g->h = base;
  /* Re-read and re-check: the peer could change the header after the check. */
  g->capacity = READ_PLAIN_ONCE(g->h->capacity);
  if (g->capacity < SHMP_MIN_CAPACITY || g->capacity % SHMP_MIN_CAPACITY ||
      g->capacity > size - SHMP_HEADER_SIZE)
    return SHMP_E_CORRUPT;
  g->data_offset = SHMP_HEADER_SIZE;
  g->data = (uint8_t *)base + SHMP_HEADER_SIZE;
  return SHMP_OK;
}

/* Takes `role` if it is free or its holder died; never from a live one. */
static int take_role(shmp_peer_word *role) {
  uint64_t self = shmp_self_peer_word();
  uint64_t holder = smp_load_acquire(role);
  for (;;) {
    if (holder == SHMP_PEER_CLEARING || (holder != 0 && !shmp_peer_gone(role))) return SHMP_E_BUSY;
    if (atomic_compare_exchange_strong(role, &holder, self)) return SHMP_OK;
  }
}

static int writer_gone(void *ctx) { return shmp_peer_gone(ctx); }

/* ---- writer ---------------------------------------------------------------- */

/* Empties the slot of a reader that died, so it holds nobody back. The
 * CLEARING mark keeps an attaching reader out until the tail is reset. */
static int clear_dead_slot(struct shmp_slot *slot) {
  uint64_t holder = smp_load_acquire(&slot->peer);
  if (holder == 0 || holder == SHMP_PEER_CLEARING || !shmp_peer_gone(&slot->peer)) return 0;
  if (!atomic_compare_exchange_strong(&slot->peer, &holder, SHMP_PEER_CLEARING)) return 0;
  atomic_store(&slot->tail, SHMP_SLOT_FREE);
  atomic_store(&slot->peer, 0);
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
  return cleared > 0 && left == 0;
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

SHMP_EXPORT shmp_writer *shmp_writer_attach(void *base, uint64_t size, int32_t *err) {
  shmp_writer *w = calloc(1, sizeof *w);
  int rc = w ? SHMP_OK : -12 /* ENOMEM */;
  if (rc == SHMP_OK) rc = load_geometry(base, size, &w->g);
  if (rc == SHMP_OK && (READ_ONCE(&w->g.h->flags) & SHMP_FLAG_WRITER_CLOSED)) rc = SHMP_E_CLOSED;
  if (rc == SHMP_OK) rc = take_role(&w->g.h->writer);
  if (rc != SHMP_OK) {
    free(w);
    if (err) *err = rc;
    return NULL;
  }
  struct shmp_header *h = w->g.h;
  w->head = smp_load_acquire(&h->head);
  w->tail_seen = smp_load_acquire(&h->tail);
  w->wait = (struct shmp_wait){&h->space_futex, &h->space_waiters, readers_gone, w, &w->interrupted};
  if (err) *err = SHMP_OK;
  return w;
}

SHMP_EXPORT void shmp_writer_close(shmp_writer *w) {
  if (w == NULL) return;
  atomic_fetch_or(&w->g.h->flags, SHMP_FLAG_WRITER_CLOSED);
  shmp_wake_all(&w->g.h->data_futex);
  free(w);
}

SHMP_EXPORT void shmp_writer_seal(shmp_writer *w) {
  if (w == NULL) return;
  atomic_fetch_or(&w->g.h->flags, SHMP_FLAG_SEALED | SHMP_FLAG_WRITER_CLOSED);
  shmp_wake_all(&w->g.h->data_futex);
  free(w);
}

SHMP_EXPORT void shmp_writer_interrupt(shmp_writer *w) {
  atomic_store(&w->interrupted, 1);
  shmp_wake_all(&w->g.h->space_futex);
}

struct space_need {
  shmp_writer *w;
  uint64_t bytes;
};

/* Ready when `bytes` more fit behind the slowest reader's released position. */
static int space_ready(void *ctx) {
  struct space_need *need = ctx;
  shmp_writer *w = need->w;
  if (READ_ONCE(&w->g.h->flags) & SHMP_FLAG_READER_CLOSED) return SHMP_E_CLOSED;
  if (w->head - w->tail_seen + need->bytes <= w->g.capacity) return 1;
  int rc = refresh_low(w);
  if (rc != SHMP_OK) return rc;
  return w->head - w->tail_seen + need->bytes <= w->g.capacity;
}

static void publish_head(shmp_writer *w) {
  smp_store_mb(&w->g.h->head, w->head);
  shmp_wake_if_waiting(&w->g.h->data_futex, &w->g.h->data_waiters);
}

static void write_record_header(shmp_writer *w, uint64_t len, uint32_t kind) {
  struct shmp_record *rec = (struct shmp_record *)(w->g.data + w->head % w->g.capacity);
  rec->pos = w->head;
  rec->len = len;
  rec->kind = kind;
}

SHMP_EXPORT int64_t shmp_writer_claim(shmp_writer *w, uint64_t len, int64_t timeout_ns,
                                      uint32_t spin) {
  if (w->claimed) return SHMP_E_STATE;
  if (len > shmp_max_payload(w->g.capacity)) return SHMP_E_TOO_LARGE;
  int64_t deadline = shmp_deadline(timeout_ns);
  uint64_t size = shmp_record_size(len);
  uint64_t offset = w->head % w->g.capacity;
  struct space_need need = {w, 0};
  int rc;

  if (offset + size > w->g.capacity) {
    /* Pad to the end of the ring and publish the padding alone: the reader
     * skips it and releases it, which is what makes room at offset 0. */
    need.bytes = w->g.capacity - offset;
    rc = shmp_wait_until(&w->wait, space_ready, &need, deadline, spin);
    if (rc != SHMP_OK) return rc;
    write_record_header(w, need.bytes - SHMP_RECORD_HEADER, SHMP_RECORD_PAD);
    w->head += need.bytes;
    publish_head(w);
    offset = 0;
  }
  need.bytes = size;
  rc = shmp_wait_until(&w->wait, space_ready, &need, deadline, spin);
  if (rc != SHMP_OK) return rc;
  w->claimed = 1;
  w->claim_len = len;
  return (int64_t)(w->g.data_offset + offset + SHMP_RECORD_HEADER);
}

SHMP_EXPORT int shmp_writer_commit(shmp_writer *w, uint64_t len) {
  if (!w->claimed) return SHMP_E_STATE;
  if (len > w->claim_len) return SHMP_E_INVALID;
  write_record_header(w, len, SHMP_RECORD_DATA);
  w->head += shmp_record_size(len);
  w->claimed = 0;
  publish_head(w);
  return SHMP_OK;
}

SHMP_EXPORT int shmp_writer_abort(shmp_writer *w) {
  if (!w->claimed) return SHMP_E_STATE;
  w->claimed = 0;
  return SHMP_OK;
}

SHMP_EXPORT int shmp_writer_send(shmp_writer *w, const void *data, uint64_t len,
                                 int64_t timeout_ns, uint32_t spin) {
  int64_t offset = shmp_writer_claim(w, len, timeout_ns, spin);
  if (offset < 0) return (int)offset;
  if (len) memcpy((uint8_t *)w->g.h + offset, data, len);
  return shmp_writer_commit(w, len);
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
    atomic_fetch_and(&h->flags, ~SHMP_FLAG_READER_CLOSED);
    r->slot = slot;
    r->tail = start;
    return SHMP_OK;
  }
  return SHMP_E_BUSY;
}

static shmp_reader *new_reader(void *base, uint64_t size, int observer, int32_t *err) {
  shmp_reader *r = calloc(1, sizeof *r);
  int rc = r ? SHMP_OK : -12 /* ENOMEM */;
  if (rc == SHMP_OK) rc = load_geometry(base, size, &r->g);
  if (rc == SHMP_OK && observer && !(smp_load_acquire(&r->g.h->flags) & SHMP_FLAG_SEALED)) rc = SHMP_E_NOT_READY;
  if (rc == SHMP_OK && observer) r->tail = smp_load_acquire(&r->g.h->tail);
  if (rc == SHMP_OK && !observer) rc = attach_slot(r);
  if (rc != SHMP_OK) {
    free(r);
    if (err) *err = rc;
    return NULL;
  }
  struct shmp_header *h = r->g.h;
  r->head_seen = r->tail;
  r->wait = (struct shmp_wait){&h->data_futex, &h->data_waiters, writer_gone, &h->writer, &r->interrupted};
  if (err) *err = SHMP_OK;
  return r;
}

SHMP_EXPORT shmp_reader *shmp_reader_attach(void *base, uint64_t size, int32_t *err) {
  return new_reader(base, size, 0, err);
}

SHMP_EXPORT shmp_reader *shmp_table_open(void *base, uint64_t size, int32_t *err) {
  return new_reader(base, size, 1, err);
}

SHMP_EXPORT void shmp_reader_close(shmp_reader *r) {
  if (r == NULL) return;
  if (r->slot != NULL) {
    struct shmp_header *h = r->g.h;
    atomic_store(&r->slot->tail, SHMP_SLOT_FREE);
    /* The last reader to leave closes the channel for the writer. */
    uint32_t others = 0;
    for (uint32_t i = 0; i < SHMP_MAX_READERS; i++)
      others += &h->slots[i] != r->slot && smp_load_acquire(&h->slots[i].peer) != 0;
    if (others == 0) atomic_fetch_or(&h->flags, SHMP_FLAG_READER_CLOSED);
    smp_store_release(&r->slot->peer, 0);
    shmp_wake_all(&h->space_futex);
  }
  free(r);
}

SHMP_EXPORT void shmp_reader_interrupt(shmp_reader *r) {
  atomic_store(&r->interrupted, 1);
  shmp_wake_all(&r->g.h->data_futex);
}

static void publish_tail(shmp_reader *r) {
  if (r->slot == NULL) return; /* a table's readers share nothing but the data */
  smp_store_mb(&r->slot->tail, r->tail);
  shmp_wake_if_waiting(&r->g.h->space_futex, &r->g.h->space_waiters);
}

/* Bytes committed and not yet read, refreshing head only when caught up.
 * Returns SHMP_E_CORRUPT if the writer's head is impossible. */
static int64_t committed_bytes(shmp_reader *r) {
  if (r->head_seen == r->tail) {
    uint64_t head = smp_load_acquire(&r->g.h->head);
    if (head < r->tail || head - r->tail > r->g.capacity || head % SHMP_ALIGN)
      return SHMP_E_CORRUPT;
    r->head_seen = head;
  }
  return (int64_t)(r->head_seen - r->tail);
}

SHMP_EXPORT int64_t shmp_reader_peek(shmp_reader *r, uint64_t *offset) {
  if (r->cur_size) {
    if (offset) *offset = r->cur_offset;
    return (int64_t)r->cur_len;
  }
  for (;;) {
    int64_t available = committed_bytes(r);
    if (available < 0) return available;
    if (available == 0) {
      /* The writer sets CLOSED after its last commit: look at head once
       * more after seeing the flag, or the last records would be lost. */
      if (!(smp_load_acquire(&r->g.h->flags) & SHMP_FLAG_WRITER_CLOSED)) return SHMP_E_AGAIN;
      available = committed_bytes(r);
      if (available <= 0) return available < 0 ? available : SHMP_E_CLOSED;
    }
    uint64_t ring_offset = r->tail % r->g.capacity;
    const struct shmp_record *rec = (const struct shmp_record *)(r->g.data + ring_offset);
    uint64_t pos = READ_PLAIN_ONCE(rec->pos);
    uint64_t len = READ_PLAIN_ONCE(rec->len);
    uint32_t kind = READ_PLAIN_ONCE(rec->kind);
    uint64_t room = r->g.capacity - ring_offset; /* bytes to the end of the ring */
    if (pos != r->tail || len > room - SHMP_RECORD_HEADER) return SHMP_E_CORRUPT;
    uint64_t size = shmp_record_size(len);
    if (kind == SHMP_RECORD_PAD) {
      if (size != room || size > (uint64_t)available) return SHMP_E_CORRUPT;
      r->tail += size;
      publish_tail(r);
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

SHMP_EXPORT uint64_t shmp_reader_offset(const shmp_reader *r) { return r->cur_offset; }

SHMP_EXPORT int shmp_reader_release(shmp_reader *r) {
  if (!r->cur_size) return SHMP_E_STATE;
  r->tail += r->cur_size;
  r->cur_size = 0;
  publish_tail(r);
  return SHMP_OK;
}

/* Ready when a record (or padding) is committed, or the writer closed. */
static int data_ready(void *ctx) {
  shmp_reader *r = ctx;
  if (r->cur_size) return 1;
  int64_t available = committed_bytes(r);
  if (available != 0) return available > 0 ? 1 : (int)available;
  return (READ_ONCE(&r->g.h->flags) & SHMP_FLAG_WRITER_CLOSED) != 0;
}

SHMP_EXPORT int shmp_reader_wait(shmp_reader *r, int64_t timeout_ns, uint32_t spin) {
  int64_t deadline = shmp_deadline(timeout_ns);
  for (;;) {
    int rc = shmp_wait_until(&r->wait, data_ready, r, deadline, spin);
    if (rc != SHMP_OK) return rc;
    /* Ready may mean "closed", or only padding was committed: peek tells
     * a record from end-of-stream and skips padding. */
    int64_t len = shmp_reader_peek(r, NULL);
    if (len != SHMP_E_AGAIN) return len >= 0 ? SHMP_OK : (int)len;
  }
}

SHMP_EXPORT int64_t shmp_reader_next(shmp_reader *r, uint64_t *offset, int64_t timeout_ns,
                                     uint32_t spin) {
  int64_t len = shmp_reader_peek(r, offset);
  if (len != SHMP_E_AGAIN) return len;
  int rc = shmp_reader_wait(r, timeout_ns, spin);
  if (rc != SHMP_OK) return rc;
  return shmp_reader_peek(r, offset);
}
