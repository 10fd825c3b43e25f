/*
 * Byte layout of a shmpipe segment (docs/PROTOCOL.md is the prose version;
 * the static asserts below keep the two honest). All integers are
 * little-endian. Words that change after creation each sit on their own
 * 64-byte cache line so the writer and reader do not false-share.
 */
#ifndef SHMP_LAYOUT_H
#define SHMP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>

#include "shmpipe.h"

#define SHMP_FLAG_WRITER_CLOSED 1u
#define SHMP_FLAG_READER_CLOSED 2u
#define SHMP_FLAG_SEALED 4u /* a published table: complete, read by any number of processes */
#define SHMP_FLAG_PERSISTENT 8u /* a published table that outlives its publisher (set with SEALED) */

/* Readers (consumers) of a channel: each holds a slot with its position. */
#define SHMP_MAX_READERS 32u
#define SHMP_SLOT_FREE UINT64_MAX /* the tail of a slot that takes no part */
#define SHMP_PEER_CLEARING UINT64_C(1) /* a dead reader's slot being emptied */
/* The writer role of a writer that abandoned its stream (shmp_writer_abandon):
 * pid 0, a process that never lives, so every liveness check, in this core
 * or an older one, reads it as a dead writer; readers of this core also
 * tell it from a death for their sentence, and see it at once. */
#define SHMP_PEER_ABANDONED UINT64_C(2)

#define SHMP_RECORD_DATA 1u
#define SHMP_RECORD_PAD 2u

/* A role's holder: (pid << 32) | start tag, 0 when never attached. One word,
 * so a reader of it never sees a pid paired with another process's tag. */
typedef _Atomic uint64_t shmp_peer_word;

/* One reader's place. `tail` (bytes it has released; SHMP_SLOT_FREE when it
 * takes no part) is written only by the holder, or by whoever empties the
 * slot of a dead holder. */
struct shmp_slot {
  shmp_peer_word peer;
  _Atomic uint64_t tail;
  uint8_t reserved[48];
};

struct shmp_header {
  /* line 0: identity, written once before the magic is published */
  _Atomic uint64_t magic;      /* SHMP_MAGIC, stored last by the creator */
  uint32_t format_version;     /* SHMP_FORMAT_VERSION */
  uint32_t header_size;        /* offset of the data ring: SHMP_HEADER_SIZE */
  uint64_t segment_size;       /* header_size + capacity */
  uint64_t capacity;           /* data ring bytes, multiple of 4096 */
  uint32_t creator_pid;
  uint32_t creator_uid;
  uint32_t creator_start_tag;
  uint32_t reserved0[5];
  /* line 1 */
  _Alignas(64) _Atomic uint32_t flags; /* SHMP_FLAG_* */
  /* line 2: who holds the writer role */
  _Alignas(64) shmp_peer_word writer;
  /* line 3: what readers tell the writer about their comings and goings */
  _Alignas(64) _Atomic uint64_t read_mark; /* furthest position a reader that left had released (monotonic) */
  _Atomic uint32_t readers_attached;       /* readers that ever attached */
  _Atomic uint32_t late_joins;             /* of those, readers that started after records were released */
  /* line 4: bytes ever published by the writer (monotonic), and the data
   * records among them. The count is stored before head (one relaxed
   * store; head's barrier orders it), for tools: the ring never reads it. */
  _Alignas(64) _Atomic uint64_t head;
  _Atomic uint64_t records;
  /* line 5: the low-water mark, written by the writer (monotonic): it may
   * reuse the ring below it. A reader attaching starts here. */
  _Alignas(64) _Atomic uint64_t tail;
  /* line 6: readers sleep on data_futex when the ring is empty */
  _Alignas(64) _Atomic uint32_t data_futex;
  _Atomic uint32_t data_waiters;
  /* 1 while the writer fills a record it claimed with a reader asleep or
   * the record large (SHMP_WAKE_AHEAD_BYTES): it woke the sleepers at the
   * claim, and a waiting reader stays awake through the copy (spins, then
   * naps in short slices; bounded by SHMP_COMING_SPIN_NS). 0 in segments of writers before it:
   * readers then sleep as they always did. */
  _Atomic uint32_t data_coming;
  /* line 7: the writer sleeps on space_futex when the ring is full */
  _Alignas(64) _Atomic uint32_t space_futex;
  _Atomic uint32_t space_waiters;
  /* lines 16-47: the readers' slots */
  _Alignas(1024) struct shmp_slot slots[SHMP_MAX_READERS];
};

/* Precedes every record in the ring; the payload follows at +64. */
struct shmp_record {
  uint64_t pos;  /* ring position of this header: detects stale or forged records */
  uint64_t len;  /* payload bytes; for padding: bytes to the end of the ring - 64 */
  uint32_t kind; /* SHMP_RECORD_DATA or SHMP_RECORD_PAD */
  uint32_t reserved[11];
};

_Static_assert(offsetof(struct shmp_header, flags) == 64, "layout");
_Static_assert(offsetof(struct shmp_header, writer) == 128, "layout");
_Static_assert(offsetof(struct shmp_header, read_mark) == 192, "layout");
_Static_assert(offsetof(struct shmp_header, readers_attached) == 200, "layout");
_Static_assert(offsetof(struct shmp_header, late_joins) == 204, "layout");
_Static_assert(offsetof(struct shmp_header, slots) == 1024, "layout");
_Static_assert(sizeof(struct shmp_slot) == 64, "layout");
_Static_assert(offsetof(struct shmp_header, head) == 256, "layout");
_Static_assert(offsetof(struct shmp_header, records) == 264, "layout");
_Static_assert(offsetof(struct shmp_header, tail) == 320, "layout");
_Static_assert(offsetof(struct shmp_header, data_futex) == 384, "layout");
_Static_assert(offsetof(struct shmp_header, data_coming) == 392, "layout");
_Static_assert(offsetof(struct shmp_header, space_futex) == 448, "layout");
_Static_assert(sizeof(struct shmp_header) <= SHMP_HEADER_SIZE, "layout");
_Static_assert(sizeof(struct shmp_record) == SHMP_RECORD_HEADER, "layout");

static inline uint64_t shmp_align64(uint64_t n) { return (n + 63u) & ~(uint64_t)63u; }

/* Ring bytes a record with `len` payload bytes occupies. */
static inline uint64_t shmp_record_size(uint64_t len) { return SHMP_RECORD_HEADER + shmp_align64(len); }

/* A mapped segment (private memory of this process, not shared). */
struct shmp_segment {
  _Atomic uint32_t refs;
  void *base;
  uint64_t size;     /* bytes mapped */
  uint64_t capacity; /* data ring bytes, copied from the header once it was checked */
  int created;       /* this mapping made the segment: the binding removes its name when done */
  int inspecting;    /* mapped read-only to look at it (SHMP_OPEN_INSPECT): no role may be taken */
  int fd;            /* a table being published (shmp_table_create): its file, for shmp_segment_write; else -1 */
  char name[SHMP_NAME_MAX + 1];
};

/* Closes the file a table being published kept (src/shm.c): sealed, it is
 * written no more. */
void shmp_segment_close_file(shmp_segment *s);

/* The name rule (src/shm.c): 1 if `name` is a valid channel name. */
int shmp_name_ok(const char *name);

/* Top-level columns of a checker's current schema, 0 before the first
 * (src/arrow.c; for the core's tests). */
uint32_t shmp_arrow_checker_columns(const shmp_arrow_checker *c);

/* Keeps the record peek handed out and reads on (src/ring.c; the first half
 * of shmp_reader_take, which bindings call). */
int shmp_reader_hold(shmp_reader *r, uint64_t *lease, shmp_error *err);

/* The payload of a writer's open claim and its length (NULL if none), and
 * the writer's segment name (src/ring.c; for src/arrow_send.c). */
const uint8_t *shmp_writer_claimed(const shmp_writer *w, uint64_t *len);
const char *shmp_writer_name(const shmp_writer *w);

/* The data records in ring positions [from, head) of a ring of `capacity`
 * bytes at `data`, walked through their headers, each read once and
 * checked (a peer may be writing over them); stops at the first that does
 * not fit (src/ring.c). */
uint64_t shmp_ring_records(const uint8_t *data, uint64_t capacity, uint64_t from, uint64_t head);

/* The header of a fresh zero-filled mapping / of a mapped segment. */
int shmp_header_format(void *base, uint64_t size);
int shmp_header_check(const void *base, uint64_t size, uint64_t *capacity); /* the checked capacity */

#define SHMP_EXPORT __attribute__((visibility("default")))

#endif
