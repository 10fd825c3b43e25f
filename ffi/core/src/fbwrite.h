/*
 * A small FlatBuffers writer, for the Arrow IPC metadata the core encodes
 * for bindings without an Arrow library (arrow_encode.c). The reader's
 * rules (flatbuf.h) in reverse: objects are appended front to back, a
 * parent before its children, so every u32 offset points forward, as the
 * format requires; vtables come right before their tables (a positive
 * soffset). Growth failures are remembered and reported once at the end.
 */
#ifndef SHMP_FBWRITE_H
#define SHMP_FBWRITE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fbw {
  uint8_t *bytes;
  uint64_t size, capacity;
  int failed; /* out of memory */
} fbw;

/* Appends `size` zero bytes aligned to `align` (a power of two); returns their position. */
static inline uint64_t fbw_alloc(fbw *w, uint64_t size, uint64_t align) {
  uint64_t at = (w->size + align - 1) & ~(align - 1);
  if (at + size > w->capacity) {
    uint64_t capacity = w->capacity ? w->capacity : 256;
    while (capacity < at + size) capacity *= 2;
    uint8_t *grown = realloc(w->bytes, capacity);
    if (grown == NULL) {
      w->failed = 1;
      return 0;
    }
    memset(grown + w->capacity, 0, capacity - w->capacity);
    w->bytes = grown;
    w->capacity = capacity;
  }
  w->size = at + size;
  return at;
}

static inline void fbw_put(fbw *w, uint64_t at, const void *value, uint64_t size) {
  if (!w->failed) memcpy(w->bytes + at, value, size);
}

static inline void fbw_u8(fbw *w, uint64_t at, uint8_t v) { fbw_put(w, at, &v, 1); }
static inline void fbw_u16(fbw *w, uint64_t at, uint16_t v) { fbw_put(w, at, &v, 2); }
static inline void fbw_u32(fbw *w, uint64_t at, uint32_t v) { fbw_put(w, at, &v, 4); }
static inline void fbw_i64(fbw *w, uint64_t at, int64_t v) { fbw_put(w, at, &v, 8); }

/* Points the offset field at `field` to the object at `target` (after it). */
static inline void fbw_link(fbw *w, uint64_t field, uint64_t target) { fbw_u32(w, field, (uint32_t)(target - field)); }

/* A table being written: where each field's inline slot is. */
typedef struct fbw_table {
  uint64_t pos;
  uint64_t slot[8]; /* by field id; 0 = absent */
} fbw_table;

/* Lays out a table whose fields `ids` have inline sizes `sizes` (1, 2, 4
 * or 8: each slot aligned to its size, the largest first), preceded by its
 * vtable. `count` <= 8 fields; field ids < 8. */
static inline fbw_table fbw_table_begin(fbw *w, const uint16_t *ids, const uint8_t *sizes, uint16_t count) {
  fbw_table t;
  memset(&t, 0, sizeof t);
  uint16_t fields = 0;
  for (uint16_t i = 0; i < count; i++)
    if (ids[i] + 1u > fields) fields = (uint16_t)(ids[i] + 1u);
  uint16_t vt_bytes = (uint16_t)(4 + 2 * fields);
  uint64_t vtable = fbw_alloc(w, vt_bytes, 2);
  /* Inline layout: the soffset (4 bytes), then the fields by falling size. */
  uint16_t offsets[8] = {0};
  uint64_t end = 4;
  for (uint8_t size = 8; size >= 1; size /= 2)
    for (uint16_t i = 0; i < count; i++) {
      if (sizes[i] != size) continue;
      end = (end + size - 1) & ~(uint64_t)(size - 1);
      offsets[ids[i]] = (uint16_t)end;
      end += size;
    }
  uint64_t table_bytes = (end + 3) & ~(uint64_t)3;
  t.pos = fbw_alloc(w, table_bytes, 8);
  fbw_u16(w, vtable, vt_bytes);
  fbw_u16(w, vtable + 2, (uint16_t)table_bytes);
  for (uint16_t id = 0; id < fields; id++) fbw_u16(w, vtable + 4 + 2 * id, offsets[id]);
  fbw_u32(w, t.pos, (uint32_t)(t.pos - vtable)); /* soffset: the vtable lies before */
  for (uint16_t id = 0; id < fields; id++) t.slot[id] = offsets[id] ? t.pos + offsets[id] : 0;
  return t;
}

/* A string (u32 length, bytes, NUL); returns its position. */
static inline uint64_t fbw_string(fbw *w, const char *text) {
  uint64_t n = strlen(text);
  uint64_t at = fbw_alloc(w, 4 + n + 1, 4);
  fbw_u32(w, at, (uint32_t)n);
  fbw_put(w, at + 4, text, n);
  return at;
}

/* A vector of `count` elements of `size` bytes aligned to `align`: returns
 * the position of its first element (its length is written before it). */
static inline uint64_t fbw_vector(fbw *w, uint32_t count, uint64_t size, uint64_t align) {
  /* The u32 count sits right before the first element, which is aligned. */
  uint64_t pad = align > 4 ? align : 4;
  uint64_t at = fbw_alloc(w, pad + (uint64_t)count * size, pad) + pad;
  fbw_u32(w, at - 4, count);
  return at;
}

#endif
