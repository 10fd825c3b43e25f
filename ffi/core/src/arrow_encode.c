/*
 * Arrow IPC messages for bindings that have no Arrow library (R): a schema,
 * dictionaries and record batches of simple columns (float64, int32, int64,
 * bool, utf8, binary, dictionary-encoded utf8, date32, timestamp[us]) and
 * of lists and structs of them (children follow their parent in the column
 * array, in pre-order), laid out as
 * every shmpipe writer lays them out:
 *
 *   0xFFFFFFFF | int32 metadata length | flatbuffer Message, zero padded to
 *   a multiple of 64 bytes from the record's start | body: each buffer at a
 *   64-byte boundary, zero padded
 *
 * The metadata is written with fbwrite.h; the message then passes the same
 * check as every message a reader gets (tested in test_core.c and against
 * pyarrow).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "fbwrite.h"
#include "layout.h"

/* Schema.fbs and Message.fbs numbers. */
enum { TYPE_INT = 2, TYPE_FLOAT = 3, TYPE_BINARY = 4, TYPE_UTF8 = 5, TYPE_BOOL = 6, TYPE_DATE = 8, TYPE_TIMESTAMP = 10,
       TYPE_LIST = 12, TYPE_STRUCT = 13 };
enum { HEADER_SCHEMA = 1, HEADER_DICTIONARY = 2, HEADER_RECORD_BATCH = 3 };
#define METADATA_V5 4
#define PRECISION_DOUBLE 2
#define UNIT_MICROSECOND 2
#define R_NA_KEY "shmpipe.r_na"

static uint64_t pad64(uint64_t n) { return (n + 63) & ~(uint64_t)63; }

/* ---- the metadata ------------------------------------------------------- */

/* The root offset and the Message table around a header; returns the
 * header's field, which the caller links to the header it writes next. */
static uint64_t message(fbw *w, uint8_t header_type, int64_t body_length) {
  static const uint16_t ids[] = {0, 1, 2, 3};
  static const uint8_t sizes[] = {2, 1, 4, 8};
  uint64_t root = fbw_alloc(w, 4, 4);
  fbw_table t = fbw_table_begin(w, ids, sizes, 4);
  fbw_link(w, root, t.pos);
  fbw_u16(w, t.slot[0], METADATA_V5);
  fbw_u8(w, t.slot[1], header_type);
  fbw_i64(w, t.slot[3], body_length);
  return t.slot[2];
}

/* The type table of a column (written at the link `field`); its union tag. */
static uint8_t column_type(fbw *w, const shmp_column *c, uint64_t field) {
  switch (c->kind) {
    case SHMP_COLUMN_FLOAT64: {
      static const uint16_t ids[] = {0};
      static const uint8_t sizes[] = {2};
      fbw_table t = fbw_table_begin(w, ids, sizes, 1);
      fbw_u16(w, t.slot[0], PRECISION_DOUBLE);
      fbw_link(w, field, t.pos);
      return TYPE_FLOAT;
    }
    case SHMP_COLUMN_INT32:
    case SHMP_COLUMN_INT64:
    case SHMP_COLUMN_DICTIONARY_UTF8: { /* a dictionary's values are utf8; see column_field */
      if (c->kind == SHMP_COLUMN_DICTIONARY_UTF8) break;
      static const uint16_t ids[] = {0, 1};
      static const uint8_t sizes[] = {4, 1};
      fbw_table t = fbw_table_begin(w, ids, sizes, 2);
      fbw_u32(w, t.slot[0], c->kind == SHMP_COLUMN_INT32 ? 32 : 64);
      fbw_u8(w, t.slot[1], 1);
      fbw_link(w, field, t.pos);
      return TYPE_INT;
    }
    case SHMP_COLUMN_DATE32: {
      static const uint16_t ids[] = {0};
      static const uint8_t sizes[] = {2};
      fbw_table t = fbw_table_begin(w, ids, sizes, 1);
      fbw_u16(w, t.slot[0], 0); /* DAY */
      fbw_link(w, field, t.pos);
      return TYPE_DATE;
    }
    case SHMP_COLUMN_TIMESTAMP_US: {
      static const uint16_t ids[] = {0, 1};
      static const uint8_t sizes[] = {2, 4};
      int has_zone = c->timezone != NULL && c->timezone[0] != '\0';
      fbw_table t = fbw_table_begin(w, ids, sizes, (uint16_t)(has_zone ? 2 : 1));
      fbw_u16(w, t.slot[0], UNIT_MICROSECOND);
      fbw_link(w, field, t.pos);
      if (has_zone) fbw_link(w, t.slot[1], fbw_string(w, c->timezone));
      return TYPE_TIMESTAMP;
    }
    case SHMP_COLUMN_BOOL: break;
    default: break;
  }
  /* Utf8, Binary, Bool, List and Struct_: empty tables. */
  fbw_table t = fbw_table_begin(w, NULL, NULL, 0);
  fbw_link(w, field, t.pos);
  switch (c->kind) {
    case SHMP_COLUMN_BOOL: return TYPE_BOOL;
    case SHMP_COLUMN_BINARY: return TYPE_BINARY;
    case SHMP_COLUMN_LIST: return TYPE_LIST;
    case SHMP_COLUMN_STRUCT: return TYPE_STRUCT;
    default: return TYPE_UTF8;
  }
}

/* The direct children of entry i (LIST: 1, STRUCT: dictionary_length). */
static uint32_t children_of(const shmp_column *c) {
  return c->kind == SHMP_COLUMN_LIST ? 1 : c->kind == SHMP_COLUMN_STRUCT ? (uint32_t)c->dictionary_length : 0;
}

/* The index after entry i's subtree; `count` + 1 if it runs past `count`. */
static uint32_t subtree_end(const shmp_column *columns, uint32_t count, uint32_t i, unsigned depth) {
  if (i >= count || depth > 32) return count + 1;
  if (columns[i].kind == SHMP_COLUMN_STRUCT && (columns[i].dictionary_length < 0 || columns[i].dictionary_length > count))
    return count + 1;
  uint32_t next = i + 1;
  for (uint32_t k = 0; k < children_of(&columns[i]) && next <= count; k++) next = subtree_end(columns, count, next, depth + 1);
  return next;
}

/* The top-level columns of an entry list. */
static uint32_t top_level(const shmp_column *columns, uint32_t count) {
  uint32_t top = 0;
  for (uint32_t i = 0; i < count; i = subtree_end(columns, count, i, 0)) top++;
  return top;
}

/* One Field table of the schema (dictionary-encoded with id `index`),
 * with its children's; returns the index after its subtree. */
static uint32_t column_field(fbw *w, const shmp_column *columns, uint32_t index, uint64_t link) {
  const shmp_column *c = &columns[index];
  /* name, nullable, type_type, type, custom_metadata, children, and dictionary if encoded. */
  static const uint16_t ids[] = {0, 1, 2, 3, 6, 5, 4};
  static const uint8_t sizes[] = {4, 1, 1, 4, 4, 4, 4};
  int dictionary = c->kind == SHMP_COLUMN_DICTIONARY_UTF8;
  fbw_table t = fbw_table_begin(w, ids, sizes, dictionary ? 7 : 6);
  fbw_link(w, link, t.pos);
  fbw_link(w, t.slot[0], fbw_string(w, c->name ? c->name : ""));
  fbw_u8(w, t.slot[1], 1); /* nullable */
  fbw_u8(w, t.slot[2], column_type(w, c, t.slot[3]));
  if (dictionary) {
    static const uint16_t dict_ids[] = {0, 1};
    static const uint8_t dict_sizes[] = {8, 4};
    fbw_table d = fbw_table_begin(w, dict_ids, dict_sizes, 2);
    fbw_link(w, t.slot[4], d.pos);
    fbw_i64(w, d.slot[0], index);
    static const uint16_t int_ids[] = {0, 1};
    static const uint8_t int_sizes[] = {4, 1};
    fbw_table it = fbw_table_begin(w, int_ids, int_sizes, 2);
    fbw_link(w, d.slot[1], it.pos);
    fbw_u32(w, it.slot[0], 32);
    fbw_u8(w, it.slot[1], 1);
  }
  /* Columns whose null slots hold R's NA bit patterns say so: an R reader
   * can then use them in place, NAs and all. */
  uint64_t kv_vector = fbw_vector(w, c->r_na ? 1 : 0, 4, 4);
  fbw_link(w, t.slot[6], kv_vector - 4);
  if (c->r_na) {
    static const uint16_t kv_ids[] = {0, 1};
    static const uint8_t kv_sizes[] = {4, 4};
    fbw_table kv = fbw_table_begin(w, kv_ids, kv_sizes, 2);
    fbw_link(w, kv_vector, kv.pos);
    fbw_link(w, kv.slot[0], fbw_string(w, R_NA_KEY));
    fbw_link(w, kv.slot[1], fbw_string(w, "true"));
  }
  uint32_t children = children_of(c), next = index + 1;
  uint64_t kids = fbw_vector(w, children, 4, 4);
  fbw_link(w, t.slot[5], kids - 4);
  for (uint32_t k = 0; k < children; k++) next = column_field(w, columns, next, kids + 4 * (uint64_t)k);
  return next;
}

static void schema_metadata(fbw *w, const shmp_column *columns, uint32_t count) {
  uint64_t header = message(w, HEADER_SCHEMA, 0);
  static const uint16_t ids[] = {1};
  static const uint8_t sizes[] = {4};
  fbw_table schema = fbw_table_begin(w, ids, sizes, 1);
  fbw_link(w, header, schema.pos);
  uint32_t top = top_level(columns, count);
  uint64_t fields = fbw_vector(w, top, 4, 4);
  fbw_link(w, schema.slot[1], fields - 4);
  for (uint32_t i = 0, k = 0; k < top; k++) i = column_field(w, columns, i, fields + 4 * (uint64_t)k);
}

/* ---- bodies ----------------------------------------------------------- */

/* A buffer of the body: where it lies (64-byte aligned) and what fills it. */
typedef struct piece {
  uint64_t offset, length;
  const void *from;
} piece;

/* The nodes and buffers of a batch being laid out. */
typedef struct body {
  int64_t nodes[2 * 64][2];
  uint32_t node_count;
  piece pieces[4 * 64];
  uint32_t piece_count;
  uint64_t length;
  int overflow;
} body;

static void add_node(body *b, int64_t length, int64_t nulls) {
  if (b->node_count == sizeof b->nodes / sizeof *b->nodes) {
    b->overflow = 1;
    return;
  }
  b->nodes[b->node_count][0] = length;
  b->nodes[b->node_count++][1] = nulls;
}

static void add_piece(body *b, const void *from, uint64_t length) {
  if (b->piece_count == sizeof b->pieces / sizeof *b->pieces) {
    b->overflow = 1;
    return;
  }
  b->pieces[b->piece_count++] = (piece){b->length, from ? length : 0, from};
  b->length = pad64(b->length + (from ? length : 0));
}

static uint64_t bitmap_bytes(int64_t n) { return (uint64_t)(n + 7) / 8; }

/* Entry `index` (and its subtree) of `rows` values; the index after it. */
static uint32_t add_column(body *b, const shmp_column *columns, uint32_t index, int64_t rows) {
  const shmp_column *c = &columns[index];
  add_node(b, rows, c->null_count);
  add_piece(b, c->null_count > 0 ? c->validity : NULL, bitmap_bytes(rows));
  switch (c->kind) {
    case SHMP_COLUMN_FLOAT64:
    case SHMP_COLUMN_INT64:
    case SHMP_COLUMN_TIMESTAMP_US: add_piece(b, c->values, 8 * (uint64_t)rows); break;
    case SHMP_COLUMN_INT32:
    case SHMP_COLUMN_DATE32:
    case SHMP_COLUMN_DICTIONARY_UTF8: add_piece(b, c->values, 4 * (uint64_t)rows); break;
    case SHMP_COLUMN_BOOL: add_piece(b, c->values, bitmap_bytes(rows)); break;
    case SHMP_COLUMN_UTF8:
    case SHMP_COLUMN_BINARY:
      add_piece(b, c->offsets, 4 * (uint64_t)(rows + 1));
      add_piece(b, c->data, rows > 0 ? (uint64_t)c->offsets[rows] : 0);
      break;
    case SHMP_COLUMN_LIST:
      add_piece(b, c->offsets, 4 * (uint64_t)(rows + 1));
      return add_column(b, columns, index + 1, c->offsets[rows]);
    case SHMP_COLUMN_STRUCT: {
      uint32_t next = index + 1;
      for (uint32_t k = 0; k < children_of(c); k++) next = add_column(b, columns, next, rows);
      return next;
    }
    default: b->overflow = 1;
  }
  return index + 1;
}

/* The RecordBatch table for a laid-out body; written at the link `link`. */
static void batch_table(fbw *w, const body *b, int64_t rows, uint64_t link) {
  static const uint16_t ids[] = {0, 1, 2};
  static const uint8_t sizes[] = {8, 4, 4};
  fbw_table t = fbw_table_begin(w, ids, sizes, 3);
  fbw_link(w, link, t.pos);
  fbw_i64(w, t.slot[0], rows);
  uint64_t nodes = fbw_vector(w, b->node_count, 16, 8);
  fbw_link(w, t.slot[1], nodes - 4);
  for (uint32_t i = 0; i < b->node_count; i++) {
    fbw_i64(w, nodes + 16 * (uint64_t)i, b->nodes[i][0]);
    fbw_i64(w, nodes + 16 * (uint64_t)i + 8, b->nodes[i][1]);
  }
  uint64_t buffers = fbw_vector(w, b->piece_count, 16, 8);
  fbw_link(w, t.slot[2], buffers - 4);
  for (uint32_t i = 0; i < b->piece_count; i++) {
    fbw_i64(w, buffers + 16 * (uint64_t)i, (int64_t)b->pieces[i].offset);
    fbw_i64(w, buffers + 16 * (uint64_t)i + 8, (int64_t)b->pieces[i].length);
  }
}

/* ---- framing ------------------------------------------------------------ */

/* Writes framing, metadata and body into `out` (when not NULL and large
 * enough); returns the message's size, or an error. With `segment`, `out`
 * lies `at` bytes into it, and the buffers go in by shmp_segment_write
 * (through the file of a table being published). Only the padding between
 * buffers is zeroed: each byte of the body is written once. */
static int64_t frame(fbw *w, const body *b, void *out, uint64_t capacity, shmp_segment *segment, uint64_t at,
                     const char *op, shmp_error *err) {
  if (w->failed) return shmp_fail(err, -ENOMEM, op, "", "no memory to encode an Arrow message");
  if (b != NULL && b->overflow) return shmp_fail(err, SHMP_E_INVALID, op, "", "too many columns for one message (64 at most)");
  uint64_t prefix = pad64(8 + w->size);
  uint64_t total = prefix + (b ? b->length : 0);
  if (out == NULL) return (int64_t)total;
  if (capacity < total)
    return shmp_fail(err, SHMP_E_INVALID, op, "", "the record holds %llu bytes; the message needs %llu",
                     (unsigned long long)capacity, (unsigned long long)total);
  uint8_t *bytes = out;
  uint32_t marker = 0xFFFFFFFFu, meta_length = (uint32_t)(prefix - 8);
  memcpy(bytes, &marker, 4);
  memcpy(bytes + 4, &meta_length, 4);
  memcpy(bytes + 8, w->bytes, w->size);
  memset(bytes + 8 + w->size, 0, prefix - 8 - w->size);
  uint64_t end = 0; /* of the last buffer written, from the body's start */
  for (uint32_t i = 0; b != NULL && i < b->piece_count; i++) {
    const piece *p = &b->pieces[i];
    memset(bytes + prefix + end, 0, p->offset - end);
    if (p->length && segment != NULL) {
      int rc = shmp_segment_write(segment, at + prefix + p->offset, p->from, p->length, err);
      if (rc != SHMP_OK) return rc;
    } else if (p->length) {
      memcpy(bytes + prefix + p->offset, p->from, p->length);
    }
    end = p->offset + p->length;
  }
  if (b != NULL) memset(bytes + prefix + end, 0, b->length - end);
  return (int64_t)total;
}

static int kinds_ok(const shmp_column *columns, uint32_t count, const char *op, shmp_error *err) {
  for (uint32_t i = 0; i < count; i++)
    if (columns[i].kind < SHMP_COLUMN_FLOAT64 || columns[i].kind > SHMP_COLUMN_STRUCT)
      return shmp_fail(err, SHMP_E_INVALID, op, "", "column %u has no kind shmpipe can encode (%u)", i, columns[i].kind);
  for (uint32_t i = 0; i < count; i = subtree_end(columns, count, i, 0))
    if (subtree_end(columns, count, i, 0) > count)
      return shmp_fail(err, SHMP_E_INVALID, op, "", "column %u lists children past the %u columns given (or nests them more than 32 deep)", i, count);
  for (uint32_t i = 0; i < count; i++)
    if (columns[i].kind == SHMP_COLUMN_LIST && (columns[i].offsets == NULL))
      return shmp_fail(err, SHMP_E_INVALID, op, "", "list column %u has no offsets", i);
  return 0;
}

SHMP_EXPORT int64_t shmp_arrow_encode_schema(const shmp_column *columns, uint32_t count, void *out, uint64_t capacity,
                                             shmp_error *err) {
  int rc = kinds_ok(columns, count, "send", err);
  if (rc != 0) return rc;
  fbw w = {0};
  schema_metadata(&w, columns, count);
  int64_t size = frame(&w, NULL, out, capacity, NULL, 0, "send", err);
  free(w.bytes);
  return size;
}

static int64_t encode_dictionary(const shmp_column *columns, uint32_t count, uint32_t column, void *out,
                                 uint64_t capacity, shmp_segment *segment, uint64_t at, shmp_error *err) {
  if (column >= count || columns[column].kind != SHMP_COLUMN_DICTIONARY_UTF8)
    return shmp_fail(err, SHMP_E_INVALID, "send", "", "column %u is not dictionary-encoded", column);
  const shmp_column *c = &columns[column];
  shmp_column values = {.kind = SHMP_COLUMN_UTF8, .offsets = c->dictionary_offsets, .data = c->dictionary_data};
  body b = {0};
  add_column(&b, &values, 0, c->dictionary_length);
  fbw w = {0};
  uint64_t header = message(&w, HEADER_DICTIONARY, (int64_t)b.length);
  static const uint16_t ids[] = {0, 1};
  static const uint8_t sizes[] = {8, 4};
  fbw_table t = fbw_table_begin(&w, ids, sizes, 2);
  fbw_link(&w, header, t.pos);
  fbw_i64(&w, t.slot[0], column);
  batch_table(&w, &b, c->dictionary_length, t.slot[1]);
  int64_t size = frame(&w, &b, out, capacity, segment, at, "send", err);
  free(w.bytes);
  return size;
}

static int64_t encode_batch(const shmp_column *columns, uint32_t count, int64_t rows, void *out, uint64_t capacity,
                            shmp_segment *segment, uint64_t at, shmp_error *err) {
  int rc = kinds_ok(columns, count, "send", err);
  if (rc != 0) return rc;
  if (rows < 0) return shmp_fail(err, SHMP_E_INVALID, "send", "", "a batch has %lld rows", (long long)rows);
  body b = {0};
  for (uint32_t i = 0; i < count;) i = add_column(&b, columns, i, rows);
  fbw w = {0};
  uint64_t header = message(&w, HEADER_RECORD_BATCH, (int64_t)b.length);
  batch_table(&w, &b, rows, header);
  int64_t size = frame(&w, &b, out, capacity, segment, at, "send", err);
  free(w.bytes);
  return size;
}

SHMP_EXPORT int64_t shmp_arrow_encode_dictionary(const shmp_column *columns, uint32_t count, uint32_t column, void *out,
                                                 uint64_t capacity, shmp_error *err) {
  return encode_dictionary(columns, count, column, out, capacity, NULL, 0, err);
}

SHMP_EXPORT int64_t shmp_arrow_encode_batch(const shmp_column *columns, uint32_t count, int64_t rows, void *out,
                                            uint64_t capacity, shmp_error *err) {
  return encode_batch(columns, count, rows, out, capacity, NULL, 0, err);
}

/* The record at `offset` of `segment`, if its `capacity` bytes lie inside. */
static int record_at(shmp_segment *segment, uint64_t offset, uint64_t capacity, void **out, shmp_error *err) {
  if (segment == NULL) return shmp_fail(err, SHMP_E_INVALID, "send", "", "no segment to encode into");
  int rc = shmp_segment_range(segment, offset, capacity, "send", err);
  if (rc == SHMP_OK) *out = (uint8_t *)shmp_segment_base(segment) + offset;
  return rc;
}

SHMP_EXPORT int64_t shmp_arrow_encode_dictionary_into(const shmp_column *columns, uint32_t count, uint32_t column,
                                                      shmp_segment *segment, uint64_t offset, uint64_t capacity,
                                                      shmp_error *err) {
  void *out = NULL;
  int rc = record_at(segment, offset, capacity, &out, err);
  return rc != SHMP_OK ? rc : encode_dictionary(columns, count, column, out, capacity, segment, offset, err);
}

SHMP_EXPORT int64_t shmp_arrow_encode_batch_into(const shmp_column *columns, uint32_t count, int64_t rows,
                                                 shmp_segment *segment, uint64_t offset, uint64_t capacity,
                                                 shmp_error *err) {
  void *out = NULL;
  int rc = record_at(segment, offset, capacity, &out, err);
  return rc != SHMP_OK ? rc : encode_batch(columns, count, rows, out, capacity, segment, offset, err);
}
