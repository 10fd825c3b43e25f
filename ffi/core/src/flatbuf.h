/*
 * A small, bounds-checked reader of FlatBuffers, for the Arrow IPC metadata
 * (Message, Schema, RecordBatch) only. Every access checks that the bytes it
 * touches lie inside the buffer; nothing is ever read through a pointer
 * computed from unchecked input. Values are read with memcpy, so unaligned
 * input is harmless. See https://flatbuffers.dev/internals/ for the format:
 *
 *   root:    u32 offset of the root table
 *   table:   i32 (table position - vtable position), then the inline fields
 *   vtable:  u16 vtable bytes, u16 table bytes, u16 field offsets (0 = absent)
 *   vector:  u32 count, then the elements; string: a vector of bytes
 *   union:   a u8 type field (id n) and an offset field (id n+1)
 */
#ifndef SHMP_FLATBUF_H
#define SHMP_FLATBUF_H

#include <stdint.h>
#include <string.h>

typedef struct fb_buf {
  const uint8_t *bytes;
  uint64_t size;
} fb_buf;

typedef struct fb_table {
  const fb_buf *buf;
  uint64_t pos;       /* table start */
  uint64_t vtable;    /* vtable start */
  uint16_t vt_bytes;  /* vtable length in bytes */
  uint16_t tab_bytes; /* inline table length in bytes */
} fb_table;

typedef struct fb_vector {
  uint64_t start; /* first element */
  uint32_t count;
} fb_vector;

static inline int fb_fits(const fb_buf *b, uint64_t pos, uint64_t len) {
  return pos <= b->size && len <= b->size - pos;
}

static inline uint16_t fb_u16(const fb_buf *b, uint64_t pos) {
  uint16_t v;
  memcpy(&v, b->bytes + pos, sizeof v);
  return v;
}

static inline uint32_t fb_u32(const fb_buf *b, uint64_t pos) {
  uint32_t v;
  memcpy(&v, b->bytes + pos, sizeof v);
  return v;
}

static inline int64_t fb_i64(const fb_buf *b, uint64_t pos) {
  int64_t v;
  memcpy(&v, b->bytes + pos, sizeof v);
  return v;
}

/* The table at `pos`: 1 if its vtable and inline part lie in the buffer. */
static inline int fb_table_at(const fb_buf *b, uint64_t pos, fb_table *t) {
  if (!fb_fits(b, pos, 4)) return 0;
  int32_t back;
  memcpy(&back, b->bytes + pos, sizeof back);
  int64_t vt = (int64_t)pos - (int64_t)back;
  if (vt < 0 || !fb_fits(b, (uint64_t)vt, 4)) return 0;
  t->buf = b;
  t->pos = pos;
  t->vtable = (uint64_t)vt;
  t->vt_bytes = fb_u16(b, t->vtable);
  t->tab_bytes = fb_u16(b, t->vtable + 2);
  if (t->vt_bytes < 4 || (t->vt_bytes & 1) || !fb_fits(b, t->vtable, t->vt_bytes)) return 0;
  return t->tab_bytes >= 4 && fb_fits(b, pos, t->tab_bytes);
}

/* Position of field `id` holding `width` bytes, or 0 if it is absent. A
 * field that claims to lie outside its table makes *bad nonzero. */
static inline uint64_t fb_field(const fb_table *t, unsigned id, unsigned width, int *bad) {
  uint64_t slot = 4u + 2u * (uint64_t)id;
  if (slot + 2 > t->vt_bytes) return 0;
  uint16_t off = fb_u16(t->buf, t->vtable + slot);
  if (off == 0) return 0;
  if (off < 4 || (uint64_t)off + width > t->tab_bytes) {
    *bad = 1;
    return 0;
  }
  return t->pos + off;
}

static inline int64_t fb_int(const fb_table *t, unsigned id, unsigned width, int64_t dflt, int *bad) {
  uint64_t at = fb_field(t, id, width, bad);
  if (at == 0) return dflt;
  switch (width) {
    case 1: return (int8_t)t->buf->bytes[at];
    case 2: return (int16_t)fb_u16(t->buf, at);
    case 4: return (int32_t)fb_u32(t->buf, at);
    default: return fb_i64(t->buf, at);
  }
}

static inline uint8_t fb_u8(const fb_table *t, unsigned id, uint8_t dflt, int *bad) {
  uint64_t at = fb_field(t, id, 1, bad);
  return at == 0 ? dflt : t->buf->bytes[at];
}

/* Follows the u32 offset stored at `at`. 1 if the target is in the buffer. */
static inline int fb_follow(const fb_buf *b, uint64_t at, uint64_t *target) {
  if (!fb_fits(b, at, 4)) return 0;
  *target = at + fb_u32(b, at);
  return *target < b->size;
}

/* Sub-table in field `id`: 1 if present and valid, 0 if absent; *bad on garbage. */
static inline int fb_subtable(const fb_table *t, unsigned id, fb_table *out, int *bad) {
  uint64_t at = fb_field(t, id, 4, bad), target;
  if (at == 0) return 0;
  if (!fb_follow(t->buf, at, &target) || !fb_table_at(t->buf, target, out)) {
    *bad = 1;
    return 0;
  }
  return 1;
}

/* The vector in field `id` with elements of `elem` bytes (4 for offsets):
 * 1 if present and wholly inside the buffer; absent gives count 0. */
static inline int fb_vector_of(const fb_table *t, unsigned id, unsigned elem, fb_vector *v, int *bad) {
  v->start = 0;
  v->count = 0;
  uint64_t at = fb_field(t, id, 4, bad), target;
  if (at == 0) return 0;
  if (!fb_follow(t->buf, at, &target) || !fb_fits(t->buf, target, 4)) {
    *bad = 1;
    return 0;
  }
  uint32_t count = fb_u32(t->buf, target);
  if (!fb_fits(t->buf, target + 4, (uint64_t)count * elem)) {
    *bad = 1;
    return 0;
  }
  v->start = target + 4;
  v->count = count;
  return 1;
}

/* Table number `i` of a vector of tables. */
static inline int fb_vector_table(const fb_buf *b, const fb_vector *v, uint32_t i, fb_table *out) {
  uint64_t target;
  return i < v->count && fb_follow(b, v->start + 4u * (uint64_t)i, &target) && fb_table_at(b, target, out);
}

#endif
