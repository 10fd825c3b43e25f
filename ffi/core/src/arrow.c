/*
 * Validation of Arrow IPC encapsulated messages before any Arrow library
 * sees them. pyarrow and arrow-go trust the buffer offsets in a message, so
 * every binding calls this first: it checks the framing, the flatbuffer
 * metadata (each access bounds-checked, see flatbuf.h), and that every
 * buffer of a dictionary or record batch lies inside the record, is 8-byte
 * aligned, and is long enough for the lengths the field nodes declare, with
 * the node and buffer counts the schema implies.
 *
 * Then it reads the values that Arrow libraries trust without checking
 * (pyarrow and arrow-go do; apache-arrow clamps): the offsets of strings,
 * binaries and lists (from >= 0, never decreasing, within their data or
 * child), the offsets and sizes of list views (each >= 0, every view within
 * the child), the views of binary and string views, and the indices of
 * dictionary-encoded columns (within the dictionary, which must have
 * arrived). It reads no other values, so the cost grows with the rows of
 * such columns only; a trusted stream can skip it
 * (shmp_arrow_checker_trust_values).
 *
 * Format references: Message.fbs and Schema.fbs of the Arrow project, and
 * the "Buffer Layouts" table of the Arrow columnar format specification.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "flatbuf.h"
#include "layout.h"

#define CONTINUATION UINT32_C(0xFFFFFFFF)
#define METADATA_V5 4
#define MAX_DEPTH 64
#define NAME_BYTES 48

/* Tags of the Type union in Schema.fbs. */
enum arrow_type {
  T_NULL = 1, T_INT, T_FLOAT, T_BINARY, T_UTF8, T_BOOL, T_DECIMAL, T_DATE, T_TIME,
  T_TIMESTAMP, T_INTERVAL, T_LIST, T_STRUCT, T_UNION, T_FIXED_BINARY, T_FIXED_LIST, T_MAP,
  T_DURATION, T_LARGE_BINARY, T_LARGE_UTF8, T_LARGE_LIST, T_RUN_END, T_BINARY_VIEW,
  T_UTF8_VIEW, T_LIST_VIEW, T_LARGE_LIST_VIEW,
};

/* The buffers a field's node owns in a batch, per the columnar format. */
enum layout {
  L_NULL,         /* none */
  L_FIXED,        /* validity, values of `bits` each */
  L_VARBIN,       /* validity, offsets, data */
  L_VIEW,         /* validity, views, then variadic data buffers */
  L_LIST,         /* validity, offsets; one child */
  L_LIST_VIEW,    /* validity, offsets, sizes; one child */
  L_FIXED_LIST,   /* validity; one child of length * list_size */
  L_STRUCT,       /* validity; children */
  L_SPARSE_UNION, /* type ids; children */
  L_DENSE_UNION,  /* type ids, offsets; children */
  L_RUN_END,      /* none; run ends and values children */
};

typedef struct arrow_field {
  char name[NAME_BYTES];
  uint8_t type;
  uint8_t layout;
  uint8_t offset_bytes;  /* 4 or 8: width of list and binary offsets, and list view sizes */
  uint64_t bits;         /* value width of L_FIXED */
  int64_t list_size;     /* L_FIXED_LIST */
  uint32_t children;     /* direct children */
  uint32_t subtree;      /* fields in this subtree, itself included */
  int64_t dictionary_id; /* -1 unless dictionary-encoded */
  uint32_t index_bits;   /* width of the dictionary indices */
  uint8_t index_signed;
  /* What a binding without an Arrow library needs to read values (R). */
  uint8_t is_signed;     /* Int */
  uint8_t unit;          /* Date, Time, Timestamp, Duration */
  uint8_t r_na;          /* custom metadata shmpipe.r_na = "true" */
  int32_t precision, scale; /* Decimal */
  char timezone[NAME_BYTES];
} arrow_field;

typedef struct shmp_arrow_schema shmp_arrow_schema;
struct shmp_arrow_schema {
  uint32_t count; /* fields of every level, in pre-order */
  uint32_t top;   /* top-level fields */
  arrow_field *fields;
};

static void schema_free(shmp_arrow_schema *schema) {
  if (schema == NULL) return;
  free(schema->fields);
  free(schema);
}

/* Where a failure is described: the first one wins. */
typedef struct report {
  char *why;
  uint64_t why_len;
} report;

__attribute__((format(printf, 2, 3))) static int fail(report *r, const char *fmt, ...) {
  if (r->why != NULL && r->why_len > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, r->why_len, fmt, ap);
    va_end(ap);
    r->why = NULL; /* keep the innermost, most precise sentence */
  }
  return SHMP_E_ARROW;
}

/* ---- framing ------------------------------------------------------------ */

/* The framing: the marker and a metadata length that fits in `len` bytes. */
static int read_framing(report *r, const uint8_t *bytes, uint64_t len, uint32_t *meta_len) {
  if (bytes == NULL || len < 8) return fail(r, "record of %llu bytes is too short for an Arrow message", (unsigned long long)len);
  uint32_t marker;
  memcpy(&marker, bytes, 4);
  memcpy(meta_len, bytes + 4, 4);
  if (marker != CONTINUATION) return fail(r, "no 0xFFFFFFFF continuation marker (not an Arrow IPC message, or pre-1.0 format)");
  if (*meta_len == 0 || *meta_len > INT32_MAX || *meta_len % 8 != 0 || *meta_len > len - 8)
    return fail(r, "metadata length %u is not a positive multiple of 8 that fits in the %llu bytes there are",
                *meta_len, (unsigned long long)(len - 8));
  return 0;
}

/* The Message table and its header, after the framing is checked. */
typedef struct message {
  fb_buf meta;
  uint8_t kind;
  fb_table header;
  uint64_t body_length;
} message;

static int open_message(report *r, const uint8_t *prefix, uint64_t prefix_len, uint64_t body_room,
                        message *m) {
  uint32_t meta_len = 0;
  int rc = read_framing(r, prefix, prefix_len, &meta_len);
  if (rc != 0) return rc;
  if (meta_len != prefix_len - 8)
    return fail(r, "the prefix has %llu bytes of metadata, the message says %u", (unsigned long long)(prefix_len - 8), meta_len);
  m->meta.bytes = prefix + 8;
  m->meta.size = meta_len;
  fb_table root;
  int bad = 0;
  if (!fb_table_at(&m->meta, fb_u32(&m->meta, 0), &root)) return fail(r, "the Message flatbuffer's root table is out of bounds");
  int64_t version = fb_int(&root, 0, 2, 0, &bad);
  m->kind = fb_u8(&root, 1, 0, &bad);
  int has_header = fb_subtable(&root, 2, &m->header, &bad);
  int64_t body_length = fb_int(&root, 3, 8, 0, &bad);
  if (bad) return fail(r, "the Message flatbuffer has a field out of bounds");
  if (version != METADATA_V5)
    return fail(r, "the metadata version is %lld, not %d (V5, which Arrow 1.0 and later write)", (long long)version, METADATA_V5);
  if (m->kind < SHMP_ARROW_SCHEMA || m->kind > SHMP_ARROW_RECORD_BATCH)
    return fail(r, "message header type %u is not a schema, dictionary or record batch", m->kind);
  if (!has_header) return fail(r, "the message has no header");
  if (body_length < 0 || (uint64_t)body_length > body_room)
    return fail(r, "body of %lld bytes does not fit the %llu bytes after the metadata", (long long)body_length,
                (unsigned long long)body_room);
  if (m->kind == SHMP_ARROW_SCHEMA && body_length != 0) return fail(r, "a schema message has a %lld-byte body", (long long)body_length);
  m->body_length = (uint64_t)body_length;
  return 0;
}

/* ---- schema --------------------------------------------------------------- */

typedef struct parser {
  report *r;
  const fb_buf *meta;
  arrow_field *fields;
  uint32_t count, capacity, limit;
} parser;

static const char *type_name(uint8_t type) {
  static const char *const names[] = {
      "none", "null", "int", "float", "binary", "utf8", "bool", "decimal", "date", "time",
      "timestamp", "interval", "list", "struct", "union", "fixed_size_binary", "fixed_size_list",
      "map", "duration", "large_binary", "large_utf8", "large_list", "run_end_encoded",
      "binary_view", "utf8_view", "list_view", "large_list_view"};
  return type < sizeof names / sizeof *names ? names[type] : "unknown";
}

/* The string in field `id` of `t`, printable and cut to NAME_BYTES - 1. */
static void copy_string(const fb_table *t, unsigned id, char *out, int *bad) {
  fb_vector v;
  uint32_t n = 0;
  if (fb_vector_of(t, id, 1, &v, bad)) {
    for (; n < v.count && n < NAME_BYTES - 1; n++) {
      uint8_t c = t->buf->bytes[v.start + n];
      out[n] = (char)(c >= 0x20 && c < 0x7f && c != '"' ? c : '?');
    }
  }
  out[n] = '\0';
}

/* Whether a Field's custom metadata holds key = value. */
static int has_metadata(const fb_table *field, const char *key, const char *value, int *bad) {
  fb_vector pairs;
  if (!fb_vector_of(field, 6, 4, &pairs, bad)) return 0;
  for (uint32_t i = 0; i < pairs.count; i++) {
    fb_table pair;
    char k[NAME_BYTES], v[NAME_BYTES];
    if (!fb_vector_table(field->buf, &pairs, i, &pair)) {
      *bad = 1;
      return 0;
    }
    copy_string(&pair, 0, k, bad);
    copy_string(&pair, 1, v, bad);
    if (strcmp(k, key) == 0 && strcmp(v, value) == 0) return 1;
  }
  return 0;
}

static void copy_name(const fb_table *ft, char *out, int *bad) {
  fb_vector v;
  uint32_t n = 0;
  if (fb_vector_of(ft, 0, 1, &v, bad)) {
    for (; n < v.count && n < NAME_BYTES - 1; n++) {
      uint8_t c = ft->buf->bytes[v.start + n];
      out[n] = (char)(c >= 0x20 && c < 0x7f && c != '"' ? c : '?');
    }
  }
  out[n] = '\0';
}

static int fixed(arrow_field *f, uint64_t bits) {
  f->layout = L_FIXED;
  f->bits = bits;
  return 0;
}

/* Fills in layout and widths from the field's type table `tt` (an absent
 * table is all zeros: every property then has its flatbuffers default). */
static int decode_type(parser *p, arrow_field *f, const fb_table *tt) {
  int bad = 0;
  int64_t a = 0, b = 0;
#define PROP(id, width, dflt) fb_int(tt, id, width, dflt, &bad)
  int rc = -1;
  switch (f->type) {
    case T_NULL: f->layout = L_NULL; rc = 0; break;
    case T_BOOL: rc = fixed(f, 1); break;
    case T_INT:
      a = PROP(0, 4, 0);
      f->is_signed = fb_u8(tt, 1, 0, &bad);
      if (a == 8 || a == 16 || a == 32 || a == 64) rc = fixed(f, (uint64_t)a);
      break;
    case T_FLOAT:
      a = PROP(0, 2, 0);
      if (a >= 0 && a <= 2) rc = fixed(f, 16u << a);
      break;
    case T_DECIMAL:
      f->precision = (int32_t)PROP(0, 4, 0);
      f->scale = (int32_t)PROP(1, 4, 0);
      a = PROP(2, 4, 128);
      if (a == 32 || a == 64 || a == 128 || a == 256) rc = fixed(f, (uint64_t)a);
      break;
    case T_DATE:
      a = PROP(0, 2, 1);
      f->unit = (uint8_t)a;
      if (a == 0 || a == 1) rc = fixed(f, a == 0 ? 32 : 64);
      break;
    case T_TIME:
      a = PROP(0, 2, 1);
      b = PROP(1, 4, 32);
      f->unit = (uint8_t)a;
      if (a >= 0 && a <= 3 && (b == 32 || b == 64)) rc = fixed(f, (uint64_t)b);
      break;
    case T_TIMESTAMP:
    case T_DURATION:
      a = PROP(0, 2, f->type == T_DURATION ? 1 : 0); /* Schema.fbs: a Duration's unit defaults to MILLISECOND */
      f->unit = (uint8_t)a;
      if (f->type == T_TIMESTAMP) copy_string(tt, 1, f->timezone, &bad);
      if (a >= 0 && a <= 3) rc = fixed(f, 64);
      break;
    case T_INTERVAL:
      a = PROP(0, 2, 0);
      f->unit = (uint8_t)a;
      if (a >= 0 && a <= 2) rc = fixed(f, a == 0 ? 32 : a == 1 ? 64 : 128);
      break;
    case T_FIXED_BINARY:
      a = PROP(0, 4, 0);
      if (a >= 0) rc = fixed(f, (uint64_t)a * 8);
      break;
    case T_BINARY: case T_UTF8: f->layout = L_VARBIN; f->offset_bytes = 4; rc = 0; break;
    case T_LARGE_BINARY: case T_LARGE_UTF8: f->layout = L_VARBIN; f->offset_bytes = 8; rc = 0; break;
    case T_BINARY_VIEW: case T_UTF8_VIEW: f->layout = L_VIEW; rc = 0; break;
    case T_LIST: case T_MAP: f->layout = L_LIST; f->offset_bytes = 4; rc = 0; break;
    case T_LARGE_LIST: f->layout = L_LIST; f->offset_bytes = 8; rc = 0; break;
    case T_LIST_VIEW: f->layout = L_LIST_VIEW; f->offset_bytes = 4; rc = 0; break;
    case T_LARGE_LIST_VIEW: f->layout = L_LIST_VIEW; f->offset_bytes = 8; rc = 0; break;
    case T_FIXED_LIST:
      f->list_size = a = PROP(0, 4, 0);
      f->layout = L_FIXED_LIST;
      rc = f->list_size >= 0 ? 0 : -1;
      break;
    case T_STRUCT: f->layout = L_STRUCT; rc = 0; break;
    case T_UNION:
      a = PROP(0, 2, 0);
      if (a == 0 || a == 1) {
        f->layout = a == 0 ? L_SPARSE_UNION : L_DENSE_UNION;
        rc = 0;
      }
      break;
    case T_RUN_END: f->layout = L_RUN_END; rc = 0; break;
    default:
      return fail(p->r, "field \"%s\" has type %s (tag %u), which shmpipe does not support", f->name,
                  type_name(f->type), f->type);
  }
#undef PROP
  if (bad) return fail(p->r, "the type of field \"%s\" has a property out of bounds", f->name);
  if (rc != 0) return fail(p->r, "field \"%s\" of type %s has an invalid parameter (%lld)", f->name, type_name(f->type), (long long)a);
  return 0;
}

/* The number of children each type must have (-1: any number). */
static int64_t expected_children(const arrow_field *f) {
  switch (f->layout) {
    case L_LIST: case L_LIST_VIEW: case L_FIXED_LIST: return 1;
    case L_RUN_END: return 2;
    case L_STRUCT: case L_SPARSE_UNION: case L_DENSE_UNION: return -1;
    default: return 0;
  }
}

static int parse_fields(parser *p, const fb_table *owner, unsigned id, unsigned depth, uint32_t *count);

static int parse_field(parser *p, const fb_table *ft, unsigned depth) {
  if (depth > MAX_DEPTH) return fail(p->r, "fields are nested more than %d levels deep", MAX_DEPTH);
  if (p->count >= p->limit) return fail(p->r, "the schema describes more fields than its metadata can hold");
  if (p->count == p->capacity) {
    uint32_t capacity = p->capacity ? p->capacity * 2 : 16;
    arrow_field *grown = realloc(p->fields, capacity * sizeof *grown);
    if (grown == NULL) return -ENOMEM;
    p->fields = grown;
    p->capacity = capacity;
  }
  uint32_t index = p->count++;
  arrow_field *f = &p->fields[index];
  memset(f, 0, sizeof *f);
  f->dictionary_id = -1;
  int bad = 0;
  copy_name(ft, f->name, &bad);
  f->type = fb_u8(ft, 2, 0, &bad);
  f->r_na = (uint8_t)has_metadata(ft, "shmpipe.r_na", "true", &bad);
  fb_table tt = {0}, dict, index_type;
  fb_subtable(ft, 3, &tt, &bad);
  if (fb_subtable(ft, 4, &dict, &bad)) {
    f->dictionary_id = fb_int(&dict, 0, 8, 0, &bad);
    int64_t bits = 32;
    f->index_signed = 1;
    if (fb_subtable(&dict, 1, &index_type, &bad)) {
      bits = fb_int(&index_type, 0, 4, 0, &bad);
      f->index_signed = fb_u8(&index_type, 1, 0, &bad);
    }
    if (bad || f->dictionary_id < 0 || !(bits == 8 || bits == 16 || bits == 32 || bits == 64))
      return fail(p->r, "field \"%s\" has an invalid dictionary encoding", f->name);
    f->index_bits = (uint32_t)bits;
  }
  if (bad) return fail(p->r, "field \"%s\" has a property out of bounds", f->name);
  int rc = decode_type(p, f, &tt);
  if (rc != 0) return rc;
  uint32_t children = 0;
  rc = parse_fields(p, ft, 5, depth + 1, &children);
  if (rc != 0) return rc;
  f = &p->fields[index]; /* the array may have moved */
  f->children = children;
  f->subtree = p->count - index;
  int64_t expected = expected_children(f);
  if (expected >= 0 && children != expected)
    return fail(p->r, "field \"%s\" of type %s has %u children, expected %lld", f->name, type_name(f->type),
                children, (long long)expected);
  return 0;
}

/* Parses the vector of Field tables in field `id` of `owner`. */
static int parse_fields(parser *p, const fb_table *owner, unsigned id, unsigned depth, uint32_t *count) {
  fb_vector v;
  int bad = 0;
  fb_vector_of(owner, id, 4, &v, &bad);
  if (bad) return fail(p->r, "a list of fields is out of bounds");
  for (uint32_t i = 0; i < v.count; i++) {
    fb_table ft;
    if (!fb_vector_table(p->meta, &v, i, &ft)) return fail(p->r, "field %u of a list of fields is out of bounds", i);
    int rc = parse_field(p, &ft, depth);
    if (rc != 0) return rc;
  }
  *count = v.count;
  return 0;
}

static int parse_schema(report *r, const message *m, shmp_arrow_schema **out) {
  int bad = 0;
  int64_t endianness = fb_int(&m->header, 0, 2, 0, &bad);
  if (bad) return fail(r, "the Schema table has a field out of bounds");
  if (endianness != 0) return fail(r, "the schema is big-endian; shmpipe reads little-endian data only");
  /* Each field of the tree needs its own 4-byte entry in some list, so a
   * tree larger than this is a list entry reused: a crafted blow-up. */
  parser p = {r, &m->meta, NULL, 0, 0, (uint32_t)(m->meta.size / 4)};
  uint32_t top = 0;
  int rc = parse_fields(&p, &m->header, 1, 0, &top);
  if (rc == 0) *out = malloc(sizeof **out);
  if (rc == 0 && *out == NULL) rc = -ENOMEM;
  if (rc != 0) {
    free(p.fields);
    return rc;
  }
  (*out)->count = p.count;
  (*out)->top = top;
  (*out)->fields = p.fields;
  return 0;
}

/* ---- dictionary and record batches -------------------------------------- */

/* The length of each dictionary the stream has brought, by id. */
typedef struct dictionaries {
  struct dictionary_length {
    int64_t id;
    uint64_t length;
    int refused; /* its last dictionary batch failed the check: batches that use it fail too */
  } *items;
  uint32_t count, capacity;
} dictionaries;

static struct dictionary_length *dictionary_find(const dictionaries *d, int64_t id) {
  for (uint32_t i = 0; i < d->count; i++)
    if (d->items[i].id == id) return &d->items[i];
  return NULL;
}

typedef struct walk {
  report *r;
  const shmp_arrow_schema *schema;
  const fb_buf *meta;
  fb_vector nodes, buffers, variadic;
  uint32_t node, buffer, view;
  uint64_t body_length;
  const uint8_t *body; /* to check offsets and indices; NULL: the metadata only */
  const dictionaries *dictionaries;
  struct node_list *described; /* every node, described for bindings (NULL: none) */
  uint64_t body_at;            /* the body's offset in the record */
} walk;

/* Every node of the last batch that passed, described (shmp_arrow_node). */
typedef struct node_list {
  shmp_arrow_node *items;
  uint32_t count, capacity;
} node_list;

/* Where a buffer lies in the body. */
typedef struct span {
  uint64_t offset, length;
} span;

/* a * b, rounded up to bytes when `bits` is set; 0 on overflow. */
static int mul(uint64_t a, uint64_t b, uint64_t *out) {
  if (b != 0 && a > UINT64_MAX / b) return 0;
  *out = a * b;
  return 1;
}

static int take_buffer(walk *w, const arrow_field *f, const char *what, uint64_t need, span *out) {
  if (w->buffer >= w->buffers.count)
    return fail(w->r, "the batch lists %u buffers, too few for the schema (field \"%s\" needs its %s buffer)",
                w->buffers.count, f->name, what);
  uint64_t at = w->buffers.start + 16u * w->buffer++;
  int64_t offset = fb_i64(w->meta, at), length = fb_i64(w->meta, at + 8);
  if (offset < 0 || length < 0 || (uint64_t)offset > w->body_length || (uint64_t)length > w->body_length - (uint64_t)offset)
    return fail(w->r, "the %s buffer of field \"%s\" [offset %lld, length %lld] lies outside the %llu-byte body",
                what, f->name, (long long)offset, (long long)length, (unsigned long long)w->body_length);
  if (offset % 8 != 0) return fail(w->r, "the %s buffer of field \"%s\" starts at offset %lld, not a multiple of 8", what, f->name, (long long)offset);
  if ((uint64_t)length < need)
    return fail(w->r, "the %s buffer of field \"%s\" has %lld bytes; its length needs %llu", what, f->name,
                (long long)length, (unsigned long long)need);
  if (out) *out = (span){(uint64_t)offset, (uint64_t)length};
  return 0;
}

static int take_bytes(walk *w, const arrow_field *f, const char *what, uint64_t count, uint64_t width, span *out) {
  uint64_t need;
  if (!mul(count, width, &need)) return fail(w->r, "field \"%s\" declares %llu values, too many for any buffer", f->name, (unsigned long long)count);
  return take_buffer(w, f, what, need, out);
}

static int take_validity(walk *w, const arrow_field *f, uint64_t length, uint64_t nulls, span *out) {
  return take_buffer(w, f, "validity", nulls > 0 ? length / 8 + (length % 8 != 0) : 0, out);
}

/* ---- values that Arrow libraries trust ------------------------------------ */

/* The little-endian integer of `width` bytes at `p`; memcpy, as the body
 * may be shared memory at any alignment a peer chose. */
static int64_t read_int(const uint8_t *p, unsigned width, int is_signed) {
  switch (width) {
    case 1: { uint8_t v; memcpy(&v, p, 1); return is_signed ? (int8_t)v : v; }
    case 2: { uint16_t v; memcpy(&v, p, 2); return is_signed ? (int16_t)v : v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return is_signed ? (int32_t)v : (int64_t)v; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
  }
}

/* Fast passes over values, at memory speed: loops without early exits or
 * per-element branches, which the compiler vectorises (GCC only at -O3 or
 * with tree-vectorize, hence the attribute; clang does at -O2). Each says
 * only whether all is well; when not, the exact loop after it finds the
 * first fault and names it. */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORISE __attribute__((optimize("tree-vectorize")))
#else
#define VECTORISE
#endif

static inline int32_t load_i32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }
static inline int64_t load_i64(const uint8_t *p) { int64_t v; memcpy(&v, p, 8); return v; }

/* 1 if the n + 1 offsets at `at` never go down. */
VECTORISE static int offsets_ascend(const uint8_t *at, uint64_t n, unsigned width) {
  unsigned down = 0;
  if (width == 4)
    for (uint64_t i = 0; i < n; i++) down |= load_i32(at + 4 * i + 4) < load_i32(at + 4 * i);
  else
    for (uint64_t i = 0; i < n; i++) down |= load_i64(at + 8 * i + 8) < load_i64(at + 8 * i);
  return !down;
}

/* 1 if each of the n indices at `at` whose bit in `validity` (NULL: all)
 * is set lies in [0, limit). Unsigned compares take negatives as huge. */
VECTORISE static int indices_within(const uint8_t *at, uint64_t n, unsigned width, uint64_t limit,
                                    const uint8_t *validity) {
  unsigned outside = 0;
  if (width == 4 && limit <= UINT32_MAX) {
    uint32_t below = (uint32_t)limit;
    if (validity == NULL)
      for (uint64_t i = 0; i < n; i++) outside |= (uint32_t)load_i32(at + 4 * i) >= below;
    else
      for (uint64_t i = 0; i < n; i++)
        outside |= ((uint32_t)load_i32(at + 4 * i) >= below) & (unsigned)(validity[i / 8] >> (i % 8));
    return !(outside & 1u);
  }
  return 0; /* other widths: the exact loop decides */
}

static int is_valid(const walk *w, span validity, uint64_t nulls, uint64_t i) {
  return nulls == 0 || (w->body[validity.offset + i / 8] >> (i % 8) & 1);
}

/* The n + 1 offsets of a string, binary or list column: the first >= 0,
 * none smaller than the one before, the last within `limit`. *end is the
 * last (what a list's child must hold). */
static int check_offsets(walk *w, const arrow_field *f, span offsets, uint64_t n, uint64_t limit, const char *of,
                         uint64_t *end) {
  *end = 0;
  if (w->body == NULL || n == 0) return 0;
  const uint8_t *at = w->body + offsets.offset;
  unsigned width = f->offset_bytes;
  int64_t previous = read_int(at, width, 1);
  if (previous < 0) return fail(w->r, "field \"%s\" starts at offset %lld, before its %s", f->name, (long long)previous, of);
  /* When the fast pass finds them ascending, only the last is needed
   * below; else the exact loop finds the first that goes back. */
  uint64_t from = 1;
  if (offsets_ascend(at, n, width)) {
    previous = read_int(at + n * width, width, 1);
    from = n + 1;
  }
  for (uint64_t i = from; i <= n; i++) {
    int64_t next = read_int(at + i * width, width, 1);
    if (next < previous)
      return fail(w->r, "the offsets of field \"%s\" go back from %lld to %lld at row %llu", f->name, (long long)previous,
                  (long long)next, (unsigned long long)(i - 1));
    previous = next;
  }
  if ((uint64_t)previous > limit)
    return fail(w->r, "field \"%s\" ends at offset %lld, past the %llu %s there are", f->name, (long long)previous,
                (unsigned long long)limit, of);
  *end = (uint64_t)previous;
  return 0;
}

/* The offsets and sizes of a list view column. The columnar format asks
 * every view, null ones included, for 0 <= offset and 0 <= offset + size
 * <= the child's length (and pyarrow and arrow-go read them unchecked):
 * each offset and size >= 0, and each view within `child_length`, the
 * length the child's field node declares (UINT64_MAX when there is none,
 * which the child's own check then refuses). *end is the largest
 * offset + size, what the child must hold. */
static int check_list_views(walk *w, const arrow_field *f, span offsets, span sizes, uint64_t n, uint64_t child_length,
                            uint64_t *end) {
  *end = 0;
  if (w->body == NULL) return 0;
  unsigned width = f->offset_bytes;
  const uint8_t *at = w->body + offsets.offset, *size_at = w->body + sizes.offset;
  for (uint64_t i = 0; i < n; i++) {
    int64_t offset = read_int(at + i * width, width, 1), size = read_int(size_at + i * width, width, 1);
    if (offset < 0)
      return fail(w->r, "field \"%s\" has a list view at row %llu starting at offset %lld, before its child values", f->name,
                  (unsigned long long)i, (long long)offset);
    if (size < 0)
      return fail(w->r, "field \"%s\" has a list view of size %lld at row %llu", f->name, (long long)size, (unsigned long long)i);
    uint64_t stop = (uint64_t)offset + (uint64_t)size; /* both < 2^63: no overflow */
    if (stop > child_length)
      return fail(w->r, "field \"%s\" has a list view at row %llu of %lld values from offset %lld, past the %llu child values there are",
                  f->name, (unsigned long long)i, (long long)size, (long long)offset, (unsigned long long)child_length);
    if (stop > *end) *end = stop;
  }
  return 0;
}

/* The indices of a dictionary-encoded column that are not null lie in
 * the dictionary, which has arrived. */
static int check_indices(walk *w, const arrow_field *f, span validity, span indices, uint64_t length, uint64_t nulls) {
  const struct dictionary_length *d = dictionary_find(w->dictionaries, f->dictionary_id);
  if (d == NULL)
    return fail(w->r, "field \"%s\" uses dictionary %lld, which has not arrived", f->name, (long long)f->dictionary_id);
  if (d->refused)
    return fail(w->r, "field \"%s\" uses dictionary %lld, which was refused when it arrived; its batches are refused until a valid one replaces it",
                f->name, (long long)f->dictionary_id);
  if (w->body == NULL) return 0;
  unsigned width = f->index_bits / 8;
  const uint8_t *at = w->body + indices.offset;
  if (indices_within(at, length, width, d->length, nulls > 0 ? w->body + validity.offset : NULL)) return 0;
  for (uint64_t i = 0; i < length; i++) {
    if (!is_valid(w, validity, nulls, i)) continue;
    int64_t index = read_int(at + i * width, width, f->index_signed);
    if (index < 0 || (uint64_t)index >= d->length)
      return fail(w->r, "field \"%s\" has dictionary index %lld at row %llu; the dictionary holds %llu values", f->name,
                  (long long)index, (unsigned long long)i, (unsigned long long)d->length);
  }
  return 0;
}

/* Each view of a binary or string view column whose bytes are not inline
 * (more than 12) lies in one of the column's data buffers. */
static int check_views(walk *w, const arrow_field *f, span views, uint64_t length, uint32_t first_data,
                       int64_t data_buffers) {
  if (w->body == NULL) return 0;
  for (uint64_t i = 0; i < length; i++) {
    const uint8_t *view = w->body + views.offset + 16 * i;
    int64_t bytes = read_int(view, 4, 1), buffer = read_int(view + 8, 4, 1), offset = read_int(view + 12, 4, 1);
    if (bytes < 0)
      return fail(w->r, "field \"%s\" has a view of %lld bytes at row %llu", f->name, (long long)bytes, (unsigned long long)i);
    if (bytes <= 12) continue; /* inline */
    int64_t size = buffer >= 0 && buffer < data_buffers
                       ? fb_i64(w->meta, w->buffers.start + 16u * (first_data + (uint64_t)buffer) + 8)
                       : -1;
    if (size < 0 || offset < 0 || offset > size || bytes > size - offset)
      return fail(w->r, "field \"%s\" has a view at row %llu of %lld bytes at offset %lld of data buffer %lld, outside it",
                  f->name, (unsigned long long)i, (long long)bytes, (long long)offset, (long long)buffer);
  }
  return 0;
}

static int check_column(walk *w, uint32_t index, int as_dictionary_value, uint64_t min_length, int exact);
static void buffer_span(const walk *w, uint32_t index, uint64_t body_at, uint64_t *offset, uint64_t *length);

static int check_children(walk *w, uint32_t index, uint64_t min_length, int exact) {
  const arrow_field *f = &w->schema->fields[index];
  uint32_t child = index + 1;
  for (uint32_t i = 0; i < f->children; i++) {
    int rc = check_column(w, child, 0, min_length, exact);
    if (rc != 0) return rc;
    child += w->schema->fields[child].subtree;
  }
  return 0;
}

static int check_node(walk *w, uint32_t index, int as_dictionary_value, uint64_t min_length, int exact);
static void describe(const walk *w, const arrow_field *f, int as_dictionary_value, uint32_t node, uint32_t buffer,
                     uint64_t body_at, shmp_arrow_column *out);

/* The buffers a node owns itself (its children's follow them). */
static uint32_t own_buffers(const walk *w, const arrow_field *f, int as_dictionary_value, uint32_t view) {
  if (f->dictionary_id >= 0 && !as_dictionary_value) return 2;
  switch (f->layout) {
    case L_FIXED: case L_LIST: case L_DENSE_UNION: return 2;
    case L_VARBIN: case L_LIST_VIEW: return 3;
    case L_VIEW: return 2 + (uint32_t)fb_i64(w->meta, w->variadic.start + 8u * view);
    case L_FIXED_LIST: case L_STRUCT: case L_SPARSE_UNION: return 1;
    default: return 0;
  }
}

/* Checks one node and its subtree; with w->described, describes each node
 * that passed, in pre-order (its entry is made before its children's). */
static int check_column(walk *w, uint32_t index, int as_dictionary_value, uint64_t min_length, int exact) {
  node_list *list = w->described;
  if (list == NULL) return check_node(w, index, as_dictionary_value, min_length, exact);
  if (list->count == list->capacity) {
    uint32_t capacity = list->capacity ? 2 * list->capacity : 16;
    shmp_arrow_node *grown = realloc(list->items, capacity * sizeof *grown);
    if (grown == NULL) return -ENOMEM;
    list->items = grown;
    list->capacity = capacity;
  }
  uint32_t at = list->count++, node = w->node, buffer = w->buffer, view = w->view;
  int rc = check_node(w, index, as_dictionary_value, min_length, exact);
  if (rc != 0) return rc;
  const arrow_field *f = &w->schema->fields[index];
  int dictionary = f->dictionary_id >= 0 && !as_dictionary_value;
  shmp_arrow_node *out = &list->items[at];
  memset(out, 0, sizeof *out);
  describe(w, f, as_dictionary_value, node, buffer, w->body_at, &out->column);
  out->children = dictionary ? 0 : f->children;
  out->subtree = list->count - at;
  out->unit = f->unit;
  out->precision = f->precision;
  out->scale = f->scale;
  out->fixed_size = f->type == T_FIXED_LIST ? f->list_size : f->type == T_FIXED_BINARY ? (int64_t)(f->bits / 8) : 0;
  out->first_buffer = buffer;
  out->buffer_count = own_buffers(w, f, as_dictionary_value, view);
  out->union_mode = f->layout == L_DENSE_UNION ? 1 : 0;
  if (dictionary) return 0;
  /* Every layout's buffers, not only the flat ones describe() gives. */
  shmp_arrow_column *c = &out->column;
  uint64_t unused;
  switch (f->layout) {
    case L_VIEW: case L_LIST:
      buffer_span(w, buffer, w->body_at, &c->validity_offset, &c->validity_length);
      buffer_span(w, buffer + 1, w->body_at, &c->values_offset, &c->values_length);
      break;
    case L_LIST_VIEW:
      buffer_span(w, buffer, w->body_at, &c->validity_offset, &c->validity_length);
      buffer_span(w, buffer + 1, w->body_at, &c->values_offset, &c->values_length);
      buffer_span(w, buffer + 2, w->body_at, &c->data_offset, &c->data_length);
      break;
    case L_FIXED_LIST: case L_STRUCT:
      buffer_span(w, buffer, w->body_at, &c->validity_offset, &c->validity_length);
      break;
    case L_SPARSE_UNION:
      buffer_span(w, buffer, w->body_at, &c->values_offset, &c->values_length);
      break;
    case L_DENSE_UNION:
      buffer_span(w, buffer, w->body_at, &c->values_offset, &c->values_length);
      buffer_span(w, buffer + 1, w->body_at, &c->data_offset, &unused);
      c->data_length = unused;
      break;
    default: break;
  }
  return 0;
}

static int check_node(walk *w, uint32_t index, int as_dictionary_value, uint64_t min_length, int exact) {
  const arrow_field *f = &w->schema->fields[index];
  if (w->node >= w->nodes.count)
    return fail(w->r, "the batch lists %u field nodes, too few for the schema (none left for field \"%s\")", w->nodes.count, f->name);
  uint64_t at = w->nodes.start + 16u * w->node++;
  int64_t slength = fb_i64(w->meta, at), snulls = fb_i64(w->meta, at + 8);
  if (slength < 0 || snulls < 0 || snulls > slength)
    return fail(w->r, "field \"%s\" has length %lld with %lld nulls", f->name, (long long)slength, (long long)snulls);
  uint64_t length = (uint64_t)slength, nulls = (uint64_t)snulls, need;
  if (exact ? length != min_length : length < min_length)
    return fail(w->r, "field \"%s\" has %llu values where %s%llu are needed", f->name, (unsigned long long)length,
                exact ? "" : "at least ", (unsigned long long)min_length);
  int rc;
  span validity = {0, 0}, values = {0, 0}, data = {0, 0};
  uint64_t end;
  if (f->dictionary_id >= 0 && !as_dictionary_value) {
    if ((rc = take_validity(w, f, length, nulls, &validity)) != 0) return rc;
    if ((rc = take_bytes(w, f, "dictionary index", length, f->index_bits / 8, &values)) != 0) return rc;
    return check_indices(w, f, validity, values, length, nulls);
  }
  switch (f->layout) {
    case L_NULL: return 0;
    case L_FIXED:
      if ((rc = take_validity(w, f, length, nulls, NULL)) != 0) return rc;
      if (!mul(length, f->bits, &need) || need > UINT64_MAX - 7) return take_bytes(w, f, "values", UINT64_MAX, 2, NULL);
      return take_buffer(w, f, "values", need / 8 + (need % 8 != 0), NULL);
    case L_VARBIN:
      if ((rc = take_validity(w, f, length, nulls, NULL)) != 0) return rc;
      if ((rc = take_bytes(w, f, "offsets", length ? length + 1 : 0, f->offset_bytes, &values)) != 0) return rc;
      if ((rc = take_buffer(w, f, "data", 0, &data)) != 0) return rc;
      return check_offsets(w, f, values, length, data.length, "data bytes", &end);
    case L_VIEW: {
      if ((rc = take_validity(w, f, length, nulls, NULL)) != 0) return rc;
      if ((rc = take_bytes(w, f, "views", length, 16, &values)) != 0) return rc;
      if (w->view >= w->variadic.count) return fail(w->r, "field \"%s\" has no entry in the variadic buffer counts", f->name);
      int64_t data_buffers = fb_i64(w->meta, w->variadic.start + 8u * w->view++);
      if (data_buffers < 0 || (uint64_t)data_buffers > w->buffers.count)
        return fail(w->r, "field \"%s\" declares %lld data buffers", f->name, (long long)data_buffers);
      uint32_t first_data = w->buffer;
      for (int64_t i = 0; i < data_buffers; i++)
        if ((rc = take_buffer(w, f, "view data", 0, NULL)) != 0) return rc;
      return check_views(w, f, values, length, first_data, data_buffers);
    }
    case L_LIST:
      if ((rc = take_validity(w, f, length, nulls, NULL)) != 0) return rc;
      if ((rc = take_bytes(w, f, "offsets", length ? length + 1 : 0, f->offset_bytes, &values)) != 0) return rc;
      if ((rc = check_offsets(w, f, values, length, UINT64_MAX, "child values", &end)) != 0) return rc;
      return check_children(w, index, end, 0); /* the child holds at least what the last offset says */
    case L_LIST_VIEW: {
      span sizes = {0, 0};
      if ((rc = take_validity(w, f, length, nulls, NULL)) != 0) return rc;
      if ((rc = take_bytes(w, f, "offsets", length, f->offset_bytes, &values)) != 0) return rc;
      if ((rc = take_bytes(w, f, "sizes", length, f->offset_bytes, &sizes)) != 0) return rc;
      /* The child's node comes next (pre-order): its length bounds the views. */
      uint64_t child_length = UINT64_MAX;
      if (w->node < w->nodes.count) {
        int64_t declared = fb_i64(w->meta, w->nodes.start + 16u * w->node);
        if (declared >= 0) child_length = (uint64_t)declared;
      }
      if ((rc = check_list_views(w, f, values, sizes, length, child_length, &end)) != 0) return rc;
      return check_children(w, index, end, 0);
    }
    case L_FIXED_LIST:
      if ((rc = take_validity(w, f, length, nulls, NULL)) != 0) return rc;
      if (!mul(length, (uint64_t)f->list_size, &need)) return fail(w->r, "field \"%s\" declares too many list values", f->name);
      return check_children(w, index, need, 0);
    case L_STRUCT:
      if ((rc = take_validity(w, f, length, nulls, NULL)) != 0) return rc;
      return check_children(w, index, length, 0);
    case L_SPARSE_UNION:
      if ((rc = take_bytes(w, f, "type ids", length, 1, NULL)) != 0) return rc;
      return check_children(w, index, length, 0);
    case L_DENSE_UNION:
      if ((rc = take_bytes(w, f, "type ids", length, 1, NULL)) != 0) return rc;
      if ((rc = take_bytes(w, f, "offsets", length, 4, NULL)) != 0) return rc;
      return check_children(w, index, 0, 0);
    case L_RUN_END:
      return check_children(w, index, 0, 0);
    default:
      return fail(w->r, "field \"%s\" has no known layout", f->name);
  }
}

/* Checks a RecordBatch table against the fields [first, first + count) of
 * the schema's top level (or one dictionary's value field). */
/* The buffer `index` of the batch, as offsets from the record's start. */
static void buffer_span(const walk *w, uint32_t index, uint64_t body_at, uint64_t *offset, uint64_t *length) {
  uint64_t at = w->buffers.start + 16u * index;
  *offset = body_at + (uint64_t)fb_i64(w->meta, at);
  *length = (uint64_t)fb_i64(w->meta, at + 8);
}

/* Describes a top-level column that passed the check, from its first node
 * and buffer, for bindings without an Arrow library. */
static void describe(const walk *w, const arrow_field *f, int as_dictionary_value, uint32_t node, uint32_t buffer,
                     uint64_t body_at, shmp_arrow_column *out) {
  memset(out, 0, sizeof *out);
  out->name = f->name;
  out->timezone = f->timezone;
  out->type = f->type;
  out->bit_width = f->dictionary_id >= 0 && !as_dictionary_value ? f->index_bits : (uint32_t)f->bits;
  out->is_signed = f->dictionary_id >= 0 && !as_dictionary_value ? f->index_signed : f->is_signed;
  out->unit = f->unit;
  out->r_na = f->r_na;
  out->dictionary_id = as_dictionary_value ? -1 : f->dictionary_id;
  out->length = fb_i64(w->meta, w->nodes.start + 16u * node);
  out->null_count = fb_i64(w->meta, w->nodes.start + 16u * node + 8);
  int dictionary = out->dictionary_id >= 0;
  if (!dictionary && f->layout != L_FIXED && f->layout != L_VARBIN) return; /* nested: type only */
  buffer_span(w, buffer, body_at, &out->validity_offset, &out->validity_length);
  buffer_span(w, buffer + 1, body_at, &out->values_offset, &out->values_length);
  if (!dictionary && f->layout == L_VARBIN) buffer_span(w, buffer + 2, body_at, &out->data_offset, &out->data_length);
}

static int check_batch(report *r, const shmp_arrow_schema *schema, const message *m, const fb_table *batch,
                       uint32_t first, uint32_t columns, int dictionary, const uint8_t *body,
                       const dictionaries *dicts, int64_t *rows_out, shmp_arrow_column *out, uint64_t body_at,
                       node_list *described) {
  walk w = {.r = r, .schema = schema, .meta = &m->meta, .body_length = m->body_length, .body = body, .dictionaries = dicts,
            .described = described, .body_at = body_at};
  if (described != NULL) described->count = 0;
  int bad = 0;
  fb_table compression;
  int64_t rows = fb_int(batch, 0, 8, 0, &bad);
  fb_vector_of(batch, 1, 16, &w.nodes, &bad);
  fb_vector_of(batch, 2, 16, &w.buffers, &bad);
  int compressed = fb_subtable(batch, 3, &compression, &bad);
  fb_vector_of(batch, 4, 8, &w.variadic, &bad);
  if (bad) return fail(r, "the RecordBatch table has a field out of bounds");
  if (compressed) return fail(r, "the batch body is compressed; shmpipe hands out uncompressed buffers only");
  if (rows < 0) return fail(r, "the batch has %lld rows", (long long)rows);
  uint32_t index = first;
  for (uint32_t i = 0; i < columns; i++) {
    uint32_t node = w.node, buffer = w.buffer;
    int rc = check_column(&w, index, dictionary, (uint64_t)rows, 1);
    if (rc != 0) return rc;
    if (out != NULL) describe(&w, &schema->fields[index], dictionary, node, buffer, body_at, &out[i]);
    index += schema->fields[index].subtree;
  }
  if (w.node != w.nodes.count || w.buffer != w.buffers.count || w.view != w.variadic.count)
    return fail(r, "the batch lists %u field nodes, %u buffers and %u variadic counts; the schema describes %u, %u and %u",
                w.nodes.count, w.buffers.count, w.variadic.count, w.node, w.buffer, w.view);
  if (rows_out) *rows_out = rows;
  return 0;
}

/* A dictionary batch; on success its id, its length, and whether it
 * extends the dictionary of that id (a delta) rather than replacing it. */
static int check_dictionary(report *r, const shmp_arrow_schema *schema, const message *m, const uint8_t *body,
                            const dictionaries *dicts, int64_t *id, int64_t *length, int *delta,
                            shmp_arrow_column *out, uint64_t body_at, node_list *described) {
  int bad = 0;
  fb_table data;
  *id = fb_int(&m->header, 0, 8, 0, &bad);
  int has_data = fb_subtable(&m->header, 1, &data, &bad);
  *delta = fb_u8(&m->header, 2, 0, &bad);
  if (bad) *id = -1; /* no id to answer for */
  if (bad || !has_data) return fail(r, "the DictionaryBatch table is out of bounds or has no data");
  /* A delta extends what a reader holds: one for a dictionary never sent
   * would leave every reader guessing (arrow-go stuck, apache-arrow and R
   * starting a dictionary from the delta alone). */
  if (*delta && dictionary_find(dicts, *id) == NULL)
    return fail(r, "dictionary batch %lld is a delta, but that dictionary has not arrived: a delta extends a dictionary sent before it", (long long)*id);
  for (uint32_t i = 0; i < schema->count; i++)
    if (schema->fields[i].dictionary_id == *id)
      return check_batch(r, schema, m, &data, i, 1, 1, body, dicts, length, out, body_at, described);
  return fail(r, "dictionary batch %lld belongs to no field of the schema", (long long)*id);
}

/* ---- the checker of a stream ------------------------------------------------ */

struct shmp_arrow_checker {
  char segment[SHMP_ERROR_SEGMENT_MAX];
  char op[SHMP_ERROR_OP_MAX];
  shmp_arrow_schema *schema; /* the latest schema message's, or NULL */
  dictionaries dictionaries; /* of the current schema */
  int trust_values;          /* skip the offsets and indices */
  shmp_arrow_column *columns; /* the last batch's top-level columns (its schema's count) */
  uint32_t column_count;
  node_list nodes;            /* the last batch's nodes, every level (node_count of them valid) */
  uint32_t node_count;
  int64_t dictionary_id;      /* of the last dictionary batch */
  int dictionary_delta;
  uint8_t *prefix;           /* private copy of the last message's framing and metadata */
  uint64_t prefix_capacity;
  uint64_t prefix_length;
  uint64_t body_length;
  int kind;                  /* of the last message that passed, 0 after a failure */
};

SHMP_EXPORT shmp_arrow_checker *shmp_arrow_checker_new(const char *segment, const char *op, shmp_error *err) {
  shmp_arrow_checker *c = calloc(1, sizeof *c);
  if (c == NULL) {
    shmp_fail(err, -ENOMEM, op, segment, NULL);
    return NULL;
  }
  snprintf(c->segment, sizeof c->segment, "%s", segment ? segment : "");
  snprintf(c->op, sizeof c->op, "%s", op ? op : "recv");
  return c;
}

SHMP_EXPORT void shmp_arrow_checker_free(shmp_arrow_checker *c) {
  if (c == NULL) return;
  schema_free(c->schema);
  free(c->dictionaries.items);
  free(c->columns);
  free(c->nodes.items);
  free(c->prefix);
  free(c);
}

/* Room to describe `count` columns of the next batch. */
static int make_room(shmp_arrow_checker *c, uint32_t count) {
  c->column_count = 0;
  c->node_count = 0;
  shmp_arrow_column *grown = realloc(c->columns, (count ? count : 1) * sizeof *grown);
  if (grown == NULL) return -ENOMEM;
  c->columns = grown;
  return 0;
}

SHMP_EXPORT void shmp_arrow_checker_trust_values(shmp_arrow_checker *c, int trust) { c->trust_values = trust != 0; }

/* Records a dictionary that passed: its length, added to for a delta. */
/* Whether a field of `schema` is encoded with dictionary `id`. */
static int has_dictionary_field(const shmp_arrow_schema *schema, int64_t id) {
  for (uint32_t i = 0; i < schema->count; i++)
    if (schema->fields[i].dictionary_id == id) return 1;
  return 0;
}

/* Records a dictionary that passed (refused = 0): its length, added to
 * for a delta (a delta to a refused dictionary leaves it refused). Or one
 * that failed (refused = 1): the batches that use it fail until a valid
 * replacement comes, rather than being read against the one before. */
static int remember_dictionary(shmp_arrow_checker *c, int64_t id, int64_t length, int delta, int refused) {
  dictionaries *d = &c->dictionaries;
  struct dictionary_length *known = dictionary_find(d, id);
  if (known != NULL) {
    if (refused) known->refused = 1;
    else if (!delta) known->refused = 0;
    known->length = refused ? 0 : delta ? known->length + (uint64_t)length : (uint64_t)length;
    return 0;
  }
  if (d->count == d->capacity) {
    uint32_t capacity = d->capacity ? 2 * d->capacity : 8;
    struct dictionary_length *grown = realloc(d->items, capacity * sizeof *grown);
    if (grown == NULL) return -ENOMEM;
    d->items = grown;
    d->capacity = capacity;
  }
  d->items[d->count++] = (struct dictionary_length){id, refused ? 0 : (uint64_t)length, refused};
  return 0;
}

/* Copies the framing and metadata out of `record`: the length comes from a
 * private copy of the first 8 bytes, and open_message() checks the copy
 * against it again, so a peer rewriting the record cannot make them differ. */
static int copy_prefix(report *r, shmp_arrow_checker *c, const uint8_t *record, uint64_t len) {
  uint8_t framing[8];
  uint32_t meta_len = 0;
  if (record != NULL && len >= sizeof framing) memcpy(framing, record, sizeof framing);
  int rc = read_framing(r, record != NULL && len >= sizeof framing ? framing : NULL, len, &meta_len);
  if (rc != 0) return rc;
  uint64_t prefix_len = 8 + (uint64_t)meta_len;
  if (prefix_len > c->prefix_capacity) {
    uint8_t *grown = realloc(c->prefix, prefix_len);
    if (grown == NULL) return -ENOMEM;
    c->prefix = grown;
    c->prefix_capacity = prefix_len;
  }
  memcpy(c->prefix, record, prefix_len);
  c->prefix_length = prefix_len;
  return 0;
}

static int check(report *r, shmp_arrow_checker *c, const uint8_t *record, uint64_t len) {
  int rc = copy_prefix(r, c, record, len);
  if (rc != 0) return rc;
  message m;
  rc = open_message(r, c->prefix, c->prefix_length, len - c->prefix_length, &m);
  if (rc != 0) return rc;
  c->body_length = m.body_length;
  if (m.kind == SHMP_ARROW_SCHEMA) {
    shmp_arrow_schema *parsed = NULL;
    rc = parse_schema(r, &m, &parsed);
    if (rc != 0) return rc;
    schema_free(c->schema);
    c->schema = parsed;
    c->column_count = c->node_count = 0; /* they named the old schema's fields */
    c->dictionaries.count = 0; /* a new stream: no dictionary yet */
    return m.kind;
  }
  if (c->schema == NULL)
    return fail(r, "a %s arrived before any schema", m.kind == SHMP_ARROW_DICTIONARY ? "dictionary batch" : "record batch");
  const uint8_t *body = c->trust_values ? NULL : record + c->prefix_length;
  if (m.kind == SHMP_ARROW_RECORD_BATCH) {
    if ((rc = make_room(c, c->schema->top)) != 0) return rc;
    rc = check_batch(r, c->schema, &m, &m.header, 0, c->schema->top, 0, body, &c->dictionaries, NULL, c->columns,
                     c->prefix_length, &c->nodes);
    c->column_count = rc == 0 ? c->schema->top : 0;
    c->node_count = rc == 0 ? c->nodes.count : 0;
    return rc != 0 ? rc : m.kind;
  }
  int64_t id = 0, length = 0;
  int delta = 0;
  if ((rc = make_room(c, 1)) != 0) return rc;
  rc = check_dictionary(r, c->schema, &m, body, &c->dictionaries, &id, &length, &delta, c->columns, c->prefix_length,
                        &c->nodes);
  if (rc == 0) rc = remember_dictionary(c, id, length, delta, 0);
  else if (has_dictionary_field(c->schema, id)) remember_dictionary(c, id, 0, 0, 1); /* keeps rc, the reason */
  c->column_count = rc == 0 ? 1 : 0;
  c->node_count = rc == 0 ? c->nodes.count : 0;
  c->dictionary_id = id;
  c->dictionary_delta = delta;
  return rc != 0 ? rc : m.kind;
}

SHMP_EXPORT uint32_t shmp_arrow_checker_batch_columns(const shmp_arrow_checker *c) { return c->column_count; }

SHMP_EXPORT int shmp_arrow_checker_column(const shmp_arrow_checker *c, uint32_t column, shmp_arrow_column *out) {
  if (column >= c->column_count) return SHMP_E_INVALID;
  *out = c->columns[column];
  return SHMP_OK;
}

SHMP_EXPORT uint32_t shmp_arrow_checker_nodes(const shmp_arrow_checker *c) { return c->node_count; }

SHMP_EXPORT int shmp_arrow_checker_node(const shmp_arrow_checker *c, uint32_t node, shmp_arrow_node *out) {
  if (node >= c->node_count) return SHMP_E_INVALID;
  *out = c->nodes.items[node];
  return SHMP_OK;
}

SHMP_EXPORT int shmp_arrow_checker_buffer(const shmp_arrow_checker *c, uint32_t buffer, uint64_t *offset,
                                          uint64_t *length) {
  if (c->node_count == 0 || c->prefix_length == 0) return SHMP_E_INVALID;
  message m;
  report r = {NULL, 0};
  if (open_message(&r, c->prefix, c->prefix_length, c->body_length, &m) != 0) return SHMP_E_INVALID;
  fb_table batch = m.header, data;
  int bad = 0;
  if (m.kind == SHMP_ARROW_DICTIONARY) {
    if (!fb_subtable(&m.header, 1, &data, &bad) || bad) return SHMP_E_INVALID;
    batch = data;
  }
  walk w = {.meta = &m.meta};
  fb_vector_of(&batch, 2, 16, &w.buffers, &bad);
  if (bad || buffer >= w.buffers.count) return SHMP_E_INVALID;
  buffer_span(&w, buffer, c->prefix_length, offset, length);
  return SHMP_OK;
}

SHMP_EXPORT int64_t shmp_arrow_checker_dictionary(const shmp_arrow_checker *c, int *delta) {
  if (delta) *delta = c->dictionary_delta;
  return c->dictionary_id;
}

SHMP_EXPORT int shmp_arrow_checker_check(shmp_arrow_checker *c, const void *record, uint64_t len, shmp_error *err) {
  char why[SHMP_ERROR_MESSAGE_MAX] = "";
  report r = {why, sizeof why};
  int rc = check(&r, c, record, len);
  c->kind = rc > 0 ? rc : 0;
  if (rc < 0) {
    c->prefix_length = c->body_length = 0;
    shmp_fail(err, rc, c->op, c->segment, "%s", why);
  }
  return rc;
}

SHMP_EXPORT int64_t shmp_arrow_checker_layout(const shmp_arrow_checker *c, int64_t *out, uint64_t room) {
  if (c == NULL || (c->kind != SHMP_ARROW_RECORD_BATCH && c->kind != SHMP_ARROW_DICTIONARY)) return SHMP_E_INVALID;
  /* The private prefix passed the check: every access below is in bounds. */
  char why[SHMP_ERROR_MESSAGE_MAX] = "";
  report r = {why, sizeof why};
  message m;
  if (open_message(&r, c->prefix, c->prefix_length, c->body_length, &m) != 0) return SHMP_E_INVALID;
  int bad = 0, delta = 0;
  int64_t id = -1;
  fb_table batch = m.header;
  if (m.kind == SHMP_ARROW_DICTIONARY) {
    id = fb_int(&m.header, 0, 8, 0, &bad);
    delta = fb_u8(&m.header, 2, 0, &bad);
    if (!fb_subtable(&m.header, 1, &batch, &bad)) bad = 1;
  }
  fb_vector nodes, buffers, variadic;
  int64_t rows = fb_int(&batch, 0, 8, 0, &bad);
  fb_vector_of(&batch, 1, 16, &nodes, &bad);
  fb_vector_of(&batch, 2, 16, &buffers, &bad);
  fb_vector_of(&batch, 4, 8, &variadic, &bad);
  if (bad) return SHMP_E_INVALID;
  uint64_t need = SHMP_LAYOUT_HEADER + 2ull * nodes.count + 2ull * buffers.count + variadic.count;
  if (out == NULL || room < need) return (int64_t)need;
  out[SHMP_LAYOUT_KIND] = m.kind;
  out[SHMP_LAYOUT_PREFIX_LENGTH] = (int64_t)c->prefix_length;
  out[SHMP_LAYOUT_BODY_LENGTH] = (int64_t)c->body_length;
  out[SHMP_LAYOUT_ROWS] = rows;
  out[SHMP_LAYOUT_NODES] = nodes.count;
  out[SHMP_LAYOUT_BUFFERS] = buffers.count;
  out[SHMP_LAYOUT_VARIADIC] = variadic.count;
  out[SHMP_LAYOUT_DICTIONARY_ID] = id;
  out[SHMP_LAYOUT_DELTA] = delta;
  out[SHMP_LAYOUT_RESERVED] = 0;
  int64_t *at = out + SHMP_LAYOUT_HEADER;
  for (uint32_t i = 0; i < nodes.count; i++) {
    *at++ = fb_i64(&m.meta, nodes.start + 16u * i);
    *at++ = fb_i64(&m.meta, nodes.start + 16u * i + 8);
  }
  for (uint32_t i = 0; i < buffers.count; i++) {
    *at++ = fb_i64(&m.meta, buffers.start + 16u * i);
    *at++ = fb_i64(&m.meta, buffers.start + 16u * i + 8);
  }
  for (uint32_t i = 0; i < variadic.count; i++) *at++ = fb_i64(&m.meta, variadic.start + 8u * i);
  return (int64_t)need;
}

SHMP_EXPORT const void *shmp_arrow_checker_prefix(const shmp_arrow_checker *c) { return c->prefix; }
SHMP_EXPORT uint64_t shmp_arrow_checker_prefix_length(const shmp_arrow_checker *c) { return c->prefix_length; }
SHMP_EXPORT uint64_t shmp_arrow_checker_body_length(const shmp_arrow_checker *c) { return c->body_length; }
uint32_t shmp_arrow_checker_columns(const shmp_arrow_checker *c) {
  return c->schema ? c->schema->top : 0;
}

/* ---- the writers' layout --------------------------------------------------- */

SHMP_EXPORT int64_t shmp_arrow_align_buffers(void *metadata, uint64_t len, shmp_arrow_move *moves, uint32_t room,
                                             uint32_t *count, const char *segment, shmp_error *err) {
  char why[SHMP_ERROR_MESSAGE_MAX] = "";
  report r = {why, sizeof why};
  int rc = 0;
  if (count) *count = 0;
  message m = {.meta = {metadata, len}};
  fb_table root, batch;
  fb_vector buffers = {0, 0};
  int bad = 0;
  uint64_t length_at = 0;
  if (metadata == NULL || !fb_fits(&m.meta, 0, 4) || !fb_table_at(&m.meta, fb_u32(&m.meta, 0), &root)) {
    rc = fail(&r, "the Message flatbuffer's root table is out of bounds");
    goto out;
  }
  m.kind = fb_u8(&root, 1, 0, &bad);
  int has_header = fb_subtable(&root, 2, &m.header, &bad);
  length_at = fb_field(&root, 3, 8, &bad);
  int64_t old_length = length_at ? fb_i64(&m.meta, length_at) : 0;
  if (bad || !has_header || old_length < 0) {
    rc = fail(&r, "the Message flatbuffer has a field out of bounds, no header or a negative body length");
    goto out;
  }
  if (m.kind == SHMP_ARROW_SCHEMA) return 0; /* no body */
  if (m.kind == SHMP_ARROW_DICTIONARY) {
    if (!fb_subtable(&m.header, 1, &batch, &bad)) bad = 1;
  } else if (m.kind == SHMP_ARROW_RECORD_BATCH) {
    batch = m.header;
  } else {
    rc = fail(&r, "message header type %u is not a schema, dictionary or record batch", m.kind);
    goto out;
  }
  if (bad || !fb_vector_of(&batch, 2, 16, &buffers, &bad) || bad) {
    rc = fail(&r, "the RecordBatch table has a field out of bounds");
    goto out;
  }
  if (count) *count = buffers.count;
  if (buffers.count > room) {
    if (err) shmp_fail(err, SHMP_E_INVALID, "send", segment ? segment : "", "Room for %u buffer moves was given; the message has %u", room, buffers.count);
    return SHMP_E_INVALID;
  }
  uint64_t from_end = 0, to = 0;
  for (uint32_t i = 0; i < buffers.count; i++) {
    uint64_t at = buffers.start + 16u * i;
    int64_t from = fb_i64(&m.meta, at), length = fb_i64(&m.meta, at + 8);
    if (from < 0 || length < 0 || (uint64_t)from < from_end || (uint64_t)length > (uint64_t)old_length ||
        (uint64_t)from > (uint64_t)old_length - (uint64_t)length) {
      rc = fail(&r, "buffer %u (%lld bytes at %lld) is not after the one before it, inside the %lld-byte body", i,
                (long long)length, (long long)from, (long long)old_length);
      goto out;
    }
    from_end = (uint64_t)from + (uint64_t)length;
    to = (to + SHMP_ALIGN - 1) & ~(uint64_t)(SHMP_ALIGN - 1);
    moves[i] = (shmp_arrow_move){(uint64_t)from, to, (uint64_t)length};
    to += (uint64_t)length;
  }
  uint64_t new_length = (to + 7) & ~(uint64_t)7; /* Arrow's bodies are whole 8-byte words */
  if (length_at == 0 && new_length != 0) {
    rc = fail(&r, "the message's body length is left out of its metadata, so it cannot be laid out again");
    goto out;
  }
  /* Both layouts are known good: now rewrite the metadata. */
  uint8_t *bytes = metadata;
  for (uint32_t i = 0; i < buffers.count; i++) {
    int64_t to_i = (int64_t)moves[i].to;
    memcpy(bytes + buffers.start + 16u * i, &to_i, 8);
  }
  if (length_at != 0) {
    int64_t n = (int64_t)new_length;
    memcpy(bytes + length_at, &n, 8);
  }
  return (int64_t)new_length;
out:
  if (count) *count = 0;
  shmp_fail(err, rc, "send", segment ? segment : "", "%s", why);
  return rc;
}

_Static_assert(sizeof(shmp_arrow_column) == 112, "shmp_arrow_column layout is ABI");
_Static_assert(sizeof(shmp_arrow_node) == 184, "shmp_arrow_node layout is ABI");
