/* Writing a data.frame as Arrow messages, straight into claimed records:
 * the core encodes (shmp_arrow_encode_*), this file only says where each
 * column's values are. Doubles, integers and integer64 go as they lie in R
 * (one copy, into shared memory), with R's NA bit patterns left in their
 * null slots and the field marked so; the rest is converted first. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shmpipe_r.h"

/* Memory a column's conversion needs: R's transient allocation, freed when
 * the .Call returns, also by an error or Ctrl-C. */
typedef struct scratch {
  int unused;
} scratch;

static void *take(scratch *s, size_t bytes) {
  (void)s;
  void *p = R_alloc(bytes ? bytes : 1, 1);
  memset(p, 0, bytes ? bytes : 1);
  return p;
}

static int inherits(SEXP x, const char *name) { return Rf_inherits(x, name); }

/* What counts as NA in a column: R's NA_real_ (a NaN that is not NA stays
 * a value), any NaN (dates and times), NA_integer_, NA (logical),
 * NA_character_, bit64's NA (INT64_MIN). */
enum na_rule { NA_REAL_RULE, NAN_RULE, NA_INTEGER_RULE, NA_LOGICAL_RULE, NA_STRING_RULE, NA_INTEGER64_RULE };

static int is_na(int rule, SEXP x, R_xlen_t i) {
  switch (rule) {
    case NA_REAL_RULE: return ISNA(REAL_RO(x)[i]);
    case NAN_RULE: return ISNAN(REAL_RO(x)[i]);
    case NA_INTEGER_RULE: return INTEGER_RO(x)[i] == NA_INTEGER;
    case NA_LOGICAL_RULE: return LOGICAL_RO(x)[i] == NA_LOGICAL;
    case NA_STRING_RULE: return STRING_ELT(x, i) == NA_STRING;
    default: {
      int64_t v;
      memcpy(&v, &REAL_RO(x)[i], 8);
      return v == INT64_MIN;
    }
  }
}

/* The first NA of `x` (n if none): one tight loop per rule over the data
 * pointer, as a column of a billion values without NAs is the common case. */
static R_xlen_t first_na(int rule, SEXP x, R_xlen_t n) {
  if (rule == NA_REAL_RULE || rule == NAN_RULE) {
    const double *v = REAL_RO(x);
    for (R_xlen_t i = 0; i < n; i++)
      if (isnan(v[i]) && (rule == NAN_RULE || R_IsNA(v[i]))) return i;
    return n;
  }
  if (rule == NA_INTEGER_RULE || rule == NA_LOGICAL_RULE) {
    const int *v = rule == NA_INTEGER_RULE ? INTEGER_RO(x) : LOGICAL_RO(x);
    for (R_xlen_t i = 0; i < n; i++)
      if (v[i] == NA_INTEGER) return i; /* NA_LOGICAL is NA_INTEGER */
    return n;
  }
  for (R_xlen_t i = 0; i < n; i++)
    if (is_na(rule, x, i)) return i;
  return n;
}

/* A validity bitmap for the rows that are NA by `rule`; NULL when none is. */
static const uint8_t *validity_of(scratch *s, R_xlen_t n, int64_t *nulls, int rule, SEXP x) {
  *nulls = 0;
  R_xlen_t first = first_na(rule, x, n);
  if (first == n) return NULL;
  uint8_t *bits = take(s, (size_t)(n + 7) / 8);
  memset(bits, 0xff, (size_t)(n + 7) / 8);
  for (R_xlen_t i = first; i < n; i++) {
    if (!is_na(rule, x, i)) continue;
    bits[i / 8] &= (uint8_t) ~(1u << (i % 8));
    (*nulls)++;
  }
  return bits;
}

/* Offsets and bytes of `n` strings (UTF-8); -1 if they take more than 2 GiB.
 * R is asked for each string once (its UTF-8 text and length, kept), then
 * the bytes are copied from there. */
static int utf8_of(scratch *s, SEXP strings, R_xlen_t n, const int32_t **offsets, const uint8_t **data) {
  int32_t *o = take(s, sizeof(int32_t) * (size_t)(n + 1));
  const char **text = (const char **)R_alloc(n ? (size_t)n : 1, sizeof *text);
  uint64_t total = 0;
  for (R_xlen_t i = 0; i < n; i++) {
    SEXP e = STRING_ELT(strings, i);
    text[i] = e == NA_STRING ? NULL : Rf_translateCharUTF8(e);
    o[i] = (int32_t)total;
    total += text[i] ? strlen(text[i]) : 0;
    if (total > INT32_MAX) return -1;
  }
  o[n] = (int32_t)total;
  uint8_t *d = (uint8_t *)R_alloc(total ? (size_t)total : 1, 1); /* every byte is written below */
  for (R_xlen_t i = 0; i < n; i++)
    if (text[i]) memcpy(d + o[i], text[i], (size_t)(o[i + 1] - o[i]));
  *offsets = o;
  *data = d;
  return 0;
}

/* Describes column `x` named `name` to the core; an error sentence or NULL. */
static const char *describe(scratch *s, SEXP x, const char *name, R_xlen_t n, shmp_column *c) {
  memset(c, 0, sizeof *c);
  c->name = name;
  if (inherits(x, "factor")) {
    SEXP levels = Rf_getAttrib(x, R_LevelsSymbol);
    int32_t *codes = take(s, sizeof(int32_t) * (size_t)n);
    if (codes == NULL) return "out of memory";
    const int *in = INTEGER_RO(x);
    for (R_xlen_t i = 0; i < n; i++) codes[i] = in[i] == NA_INTEGER ? 0 : in[i] - 1;
    c->kind = SHMP_COLUMN_DICTIONARY_UTF8;
    c->values = codes;
    c->validity = validity_of(s, n, &c->null_count, NA_INTEGER_RULE, x);
    c->dictionary_length = Rf_xlength(levels);
    if (utf8_of(s, levels, c->dictionary_length, &c->dictionary_offsets, &c->dictionary_data) != 0) return "its levels are too long";
    return NULL;
  }
  if (inherits(x, "Date")) {
    int32_t *days = take(s, sizeof(int32_t) * (size_t)n);
    if (days == NULL) return "out of memory";
    int is_real = TYPEOF(x) == REALSXP;
    const double *real = is_real ? REAL_RO(x) : NULL;
    const int *integer = is_real ? NULL : INTEGER_RO(x);
    for (R_xlen_t i = 0; i < n; i++) days[i] = is_real ? (ISNAN(real[i]) ? 0 : (int32_t)floor(real[i])) : integer[i];
    c->kind = SHMP_COLUMN_DATE32;
    c->values = days;
    c->validity = validity_of(s, n, &c->null_count, is_real ? NAN_RULE : NA_INTEGER_RULE, x);
    return NULL;
  }
  if (inherits(x, "POSIXct")) {
    if (TYPEOF(x) != REALSXP) return "a POSIXct column is stored as doubles";
    int64_t *micros = take(s, sizeof(int64_t) * (size_t)n);
    if (micros == NULL) return "out of memory";
    const double *seconds = REAL_RO(x);
    for (R_xlen_t i = 0; i < n; i++) micros[i] = ISNAN(seconds[i]) ? 0 : (int64_t)llround(seconds[i] * 1e6);
    SEXP tz = Rf_getAttrib(x, Rf_install("tzone"));
    c->kind = SHMP_COLUMN_TIMESTAMP_US;
    c->values = micros;
    c->timezone = Rf_isString(tz) && Rf_length(tz) > 0 ? CHAR(STRING_ELT(tz, 0)) : "";
    c->validity = validity_of(s, n, &c->null_count, NAN_RULE, x);
    return NULL;
  }
  if (inherits(x, "integer64")) { /* bit64: int64 values in a double vector */
    c->kind = SHMP_COLUMN_INT64;
    c->values = REAL_RO(x); /* read only: a view of shared memory stays a view */
    c->validity = validity_of(s, n, &c->null_count, NA_INTEGER64_RULE, x);
    return NULL;
  }
  switch (TYPEOF(x)) {
    case REALSXP:
      c->kind = SHMP_COLUMN_FLOAT64;
      c->values = REAL_RO(x); /* read only: a view of shared memory stays a view */
      c->r_na = 1; /* NA_real_ stays in its slot */
      c->validity = validity_of(s, n, &c->null_count, NA_REAL_RULE, x);
      return NULL;
    case INTSXP:
      c->kind = SHMP_COLUMN_INT32;
      c->values = INTEGER_RO(x);
      c->r_na = 1; /* NA_integer_ stays in its slot */
      c->validity = validity_of(s, n, &c->null_count, NA_INTEGER_RULE, x);
      return NULL;
    case LGLSXP: {
      uint8_t *bits = take(s, (size_t)(n + 7) / 8);
      if (bits == NULL) return "out of memory";
      for (R_xlen_t i = 0; i < n; i++)
        if (LOGICAL_RO(x)[i] == TRUE) bits[i / 8] |= (uint8_t)(1u << (i % 8));
      c->kind = SHMP_COLUMN_BOOL;
      c->values = bits;
      c->validity = validity_of(s, n, &c->null_count, NA_LOGICAL_RULE, x);
      return NULL;
    }
    case STRSXP:
      c->kind = SHMP_COLUMN_UTF8;
      c->validity = validity_of(s, n, &c->null_count, NA_STRING_RULE, x);
      return utf8_of(s, x, n, &c->offsets, &c->data) != 0 ? "its strings take more than 2 GiB" : NULL;
    default: return "its type has no Arrow counterpart in shmpipe yet (numeric, integer, logical, character, factor, Date, POSIXct, integer64, lists of them, raw vectors and data.frames do)";
  }
}

/* The entries of a frame for the encoder: each column, then its children
 * (a list's values, a struct's fields) in pre-order, in transient memory. */
typedef struct entries {
  shmp_column *items;
  uint32_t count, capacity;
} entries;

static uint32_t reserve(scratch *s, entries *e) {
  if (e->count == e->capacity) {
    uint32_t capacity = e->capacity ? 2 * e->capacity : 16;
    shmp_column *grown = take(s, sizeof(shmp_column) * capacity);
    if (e->count) memcpy(grown, e->items, sizeof(shmp_column) * e->count);
    e->items = grown;
    e->capacity = capacity;
  }
  memset(&e->items[e->count], 0, sizeof(shmp_column));
  return e->count++;
}

/* The rows of a prepared column (R/convert.R: prepare_column()). */
static R_xlen_t rows_of(SEXP x) {
  if (Rf_inherits(x, "shmpipe_list")) return Rf_xlength(VECTOR_ELT(x, 0));
  if (Rf_inherits(x, "shmpipe_struct")) return (R_xlen_t)Rf_asReal(Rf_getAttrib(x, Rf_install("rows")));
  return Rf_xlength(x);
}

/* Offsets of `n` elements of `lengths` (NA: a null, no values), and the
 * validity; an error sentence or NULL. */
static const char *offsets_of(scratch *s, R_xlen_t n, SEXP lengths, shmp_column *c) {
  int32_t *o = take(s, sizeof(int32_t) * (size_t)(n + 1));
  int64_t at = 0;
  for (R_xlen_t i = 0; i < n; i++) {
    o[i] = (int32_t)at;
    int length = INTEGER_RO(lengths)[i];
    if (length != NA_INTEGER) at += length;
    if (at > INT32_MAX) return "its values take more than 2^31 - 1 entries (Arrow's list offsets are 32-bit)";
  }
  o[n] = (int32_t)at;
  c->offsets = o;
  c->validity = validity_of(s, n, &c->null_count, NA_INTEGER_RULE, lengths);
  return NULL;
}

/* Describes prepared column `x` (and its subtree) as entries from the
 * next one; an error sentence, with `path` naming the column it is about. */
static const char *describe_into(scratch *s, entries *e, SEXP x, const char *name, R_xlen_t n, char *path, size_t path_len) {
  uint32_t k = reserve(s, e);
  size_t base = strlen(path);
  snprintf(path + base, path_len - base, "%s%s", base ? "." : "", name);
  if (rows_of(x) != n) return "its length differs from its parent's";
  if (Rf_inherits(x, "shmpipe_binary")) {
    int32_t *o = take(s, sizeof(int32_t) * (size_t)(n + 1));
    int64_t total = 0;
    for (R_xlen_t i = 0; i < n; i++) {
      SEXP v = VECTOR_ELT(x, i);
      if (v != R_NilValue && TYPEOF(v) != RAWSXP) return "a list of raw vectors holds something else";
      total += v == R_NilValue ? 0 : Rf_xlength(v);
    }
    if (total > INT32_MAX) return "its raw vectors take more than 2 GiB";
    uint8_t *d = take(s, (size_t)total);
    int64_t at = 0;
    uint8_t *bits = NULL;
    int64_t nulls = 0;
    for (R_xlen_t i = 0; i < n; i++) {
      o[i] = (int32_t)at;
      SEXP v = VECTOR_ELT(x, i);
      if (v == R_NilValue) {
        if (bits == NULL) memset(bits = take(s, (size_t)(n + 7) / 8), 0xff, (size_t)(n + 7) / 8);
        bits[i / 8] &= (uint8_t) ~(1u << (i % 8));
        nulls++;
        continue;
      }
      if (Rf_xlength(v)) memcpy(d + at, RAW(v), (size_t)Rf_xlength(v));
      at += Rf_xlength(v);
    }
    o[n] = (int32_t)at;
    shmp_column *c = &e->items[k];
    *c = (shmp_column){.name = name, .kind = SHMP_COLUMN_BINARY, .offsets = o, .data = d, .validity = bits, .null_count = nulls};
    return NULL;
  }
  if (Rf_inherits(x, "shmpipe_list")) {
    shmp_column list = {.name = name, .kind = SHMP_COLUMN_LIST};
    const char *why = offsets_of(s, n, VECTOR_ELT(x, 0), &list);
    if (why != NULL) return why;
    e->items[k] = list;
    const char *child = describe_into(s, e, VECTOR_ELT(x, 1), "item", list.offsets[n], path, path_len);
    if (child == NULL) path[base] = '\0';
    return child;
  }
  if (Rf_inherits(x, "shmpipe_struct")) {
    R_xlen_t fields = Rf_xlength(x);
    SEXP names = Rf_getAttrib(x, R_NamesSymbol);
    e->items[k] = (shmp_column){.name = name, .kind = SHMP_COLUMN_STRUCT, .dictionary_length = fields};
    for (R_xlen_t j = 0; j < fields; j++) {
      const char *why = describe_into(s, e, VECTOR_ELT(x, j), CHAR(STRING_ELT(names, j)), n, path, path_len);
      if (why != NULL) return why;
    }
    path[base] = '\0';
    return NULL;
  }
  if (Rf_isMatrix(x)) return "a matrix column has no Arrow counterpart in shmpipe";
  const char *why = describe(s, x, name, n, &e->items[k]);
  if (why == NULL) path[base] = '\0';
  return why;
}


typedef struct encoding {
  const shmp_column *columns;
  uint32_t count;
  int64_t rows;
  int what; /* 0 schema, 1 dictionary of column `column`, 2 batch */
  uint32_t column;
} encoding;

/* The message's size (`segment` NULL), or the message written into the
 * record at `offset` of `segment`: the columns go in through the core
 * (through the file of a table being published, shmp_table_create). */
static int64_t encode(const encoding *e, shmp_segment *segment, uint64_t offset, uint64_t capacity, shmp_error *err) {
  void *out = segment ? (uint8_t *)shmp_segment_base(segment) + offset : NULL;
  switch (e->what) {
    case 0: return shmp_arrow_encode_schema(e->columns, e->count, out, capacity, err);
    case 1:
      return segment ? shmp_arrow_encode_dictionary_into(e->columns, e->count, e->column, segment, offset, capacity, err)
                     : shmp_arrow_encode_dictionary(e->columns, e->count, e->column, NULL, 0, err);
    default:
      return segment ? shmp_arrow_encode_batch_into(e->columns, e->count, e->rows, segment, offset, capacity, err)
                     : shmp_arrow_encode_batch(e->columns, e->count, e->rows, NULL, 0, err);
  }
}

/* Sends one message through the core's Arrow sender (which checks it
 * before the commit and owes the schema again after a failure); 0, or the
 * failure in `err`. */
static int send_message(shmp_writer *writer, shmp_arrow_sender *sender, shmp_segment *segment, const encoding *e,
                        int64_t timeout_ns, shmp_error *err) {
  int64_t size = encode(e, NULL, 0, 0, err);
  if (size < 0) return (int)size;
  int64_t offset = shmp_r_claim(writer, (uint64_t)size, timeout_ns, err);
  if (offset < 0) {
    /* R sends a frame's dictionaries only with its schema: a frame cut
     * short after its schema went (no room in time) owes them all again. */
    shmp_arrow_sender_abort(sender);
    return (int)offset;
  }
  int64_t written = encode(e, segment, (uint64_t)offset, (uint64_t)size, err);
  if (written < 0) {
    shmp_arrow_sender_abort(sender);
    return (int)written;
  }
  int kind = shmp_arrow_sender_commit(sender, (uint64_t)written, err);
  return kind < 0 ? kind : 0;
}

/* The columns of data.frame `frame` described for the core's encoder (in R's
 * transient memory); raises an R error naming a column R cannot write. */
shmp_column *shmp_r_describe_frame(SEXP frame, const char *op, const char *segment, uint32_t *count, int64_t *rows) {
  if (!Rf_isNewList(frame) || !Rf_inherits(frame, "data.frame"))
    shmp_r_raise_usage(shmp_r_constant("EBADARG"), op, segment, "a data.frame is what goes out");
  R_xlen_t n = Rf_xlength(frame);
  SEXP names = Rf_getAttrib(frame, R_NamesSymbol);
  *rows = n ? rows_of(VECTOR_ELT(frame, 0)) : 0;
  scratch s = {0};
  entries e = {0};
  for (R_xlen_t i = 0; i < n; i++) {
    const char *name = CHAR(STRING_ELT(names, i));
    /* Every column as long as the first: the encoder reads that many values of each. */
    SEXP x = VECTOR_ELT(frame, i);
    char why_length[100], path[256] = "";
    snprintf(why_length, sizeof why_length, "it has %lld values, the first column %lld", (long long)rows_of(x),
             (long long)*rows);
    const char *why = rows_of(x) != *rows ? why_length : describe_into(&s, &e, x, name, *rows, path, sizeof path);
    if (why != NULL) {
      char detail[400];
      snprintf(detail, sizeof detail, "column \"%s\" cannot be written: %s", path[0] ? path : name, why);
      shmp_r_raise_usage(shmp_r_constant("EBADARG"), op, segment, detail);
    }
  }
  *count = e.count;
  return e.items;
}

/* The messages of a frame, in the order they go out: the schema (if
 * asked), each factor's levels, the batch. */
static uint32_t messages_of(const shmp_column *columns, uint32_t count, int64_t rows, int with_schema,
                            encoding *out /* count + 2 */) {
  uint32_t m = 0;
  if (with_schema) out[m++] = (encoding){columns, count, rows, 0, 0};
  for (uint32_t i = 0; i < count; i++)
    if (columns[i].kind == SHMP_COLUMN_DICTIONARY_UTF8) out[m++] = (encoding){columns, count, rows, 1, i};
  out[m++] = (encoding){columns, count, rows, 2, 0};
  return m;
}

int shmp_r_send_frame(shmp_writer *writer, shmp_arrow_sender *sender, shmp_segment *segment,
                      const shmp_column *columns, uint32_t count, int64_t rows, int with_schema, int64_t timeout_ns,
                      shmp_error *err) {
  encoding *messages = (encoding *)R_alloc(count + 2, sizeof(encoding));
  uint32_t m = messages_of(columns, count, rows, with_schema, messages);
  for (uint32_t i = 0; i < m; i++) {
    int rc = send_message(writer, sender, segment, &messages[i], timeout_ns, err);
    if (rc != 0) return rc;
  }
  return 0;
}

int64_t shmp_r_frame_footprint(const shmp_column *columns, uint32_t count, int64_t rows, shmp_error *err) {
  encoding *messages = (encoding *)R_alloc(count + 2, sizeof(encoding));
  uint32_t m = messages_of(columns, count, rows, 1, messages);
  uint64_t total = 0;
  for (uint32_t i = 0; i < m; i++) {
    int64_t size = encode(&messages[i], NULL, 0, 0, err);
    if (size < 0) return size;
    total += shmp_record_footprint((uint64_t)size);
  }
  return (int64_t)total;
}

SEXP shmp_r_write_batch(SEXP pointer, SEXP frame, SEXP with_schema, SEXP timeout) {
  shmp_segment *segment;
  const char *channel;
  shmp_writer *writer = shmp_r_live_writer(pointer, &segment, &channel);
  end *e = R_ExternalPtrAddr(pointer);
  uint32_t count;
  int64_t rows;
  shmp_column *columns = shmp_r_describe_frame(frame, "send", channel, &count, &rows);
  shmp_error err;
  /* The core's rules (shmp_arrow_sender): the schema is owed at first,
   * after a reader joined mid-stream and after a failed send, until a send
   * with it succeeds; every message is checked before its commit. */
  if (e->sender == NULL && (e->sender = shmp_arrow_sender_new(writer, "send", 1, &err)) == NULL) shmp_r_raise(&err);
  int schema = Rf_asLogical(with_schema) == TRUE || shmp_arrow_sender_schema_owed(e->sender);
  if (shmp_r_send_frame(writer, e->sender, segment, columns, count, rows, schema, seconds_ns(timeout), &err) != 0)
    shmp_r_raise(&err);
  return R_NilValue;
}
