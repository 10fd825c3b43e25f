/* Arrow columns of every type R has a counterpart for, read from the
 * core's description of each node of a checked batch, at any depth
 * (shmp_arrow_checker_node). The table of what each type becomes is in
 * ?read_batch (man/read_batch.Rd); the zero-copy views of top-level
 * doubles, integers and a table's strings are read.c's, the rest is here.
 *
 * The core checked the metadata (a private copy) and, at the check, the
 * offsets and indices; a peer may rewrite the body since, so every offset,
 * size, view and index read from the body is checked again here before it
 * is used: a rewritten record gives an error, never a read out of bounds. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "shmpipe_r.h"

/* Arrow's type tags (Schema.fbs Type). */
enum {
  T_NULL = 1, T_INT, T_FLOAT, T_BINARY, T_UTF8, T_BOOL, T_DECIMAL, T_DATE, T_TIME, T_TIMESTAMP, T_INTERVAL, T_LIST,
  T_STRUCT, T_UNION, T_FIXED_BINARY, T_FIXED_LIST, T_MAP, T_DURATION, T_LARGE_BINARY, T_LARGE_UTF8, T_LARGE_LIST,
  T_RUN_END, T_BINARY_VIEW, T_UTF8_VIEW, T_LIST_VIEW, T_LARGE_LIST_VIEW,
};

__attribute__((format(printf, 3, 4), noreturn)) static void fail(const shmp_r_batch *b, const char *code,
                                                                 const char *fmt, ...) {
  char detail[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  shmp_r_raise_usage(shmp_r_constant(code), b->op, b->segment, detail);
}

static shmp_arrow_node node_of(const shmp_r_batch *b, uint32_t k) {
  shmp_arrow_node n;
  if (shmp_arrow_checker_node(b->checker, k, &n) != SHMP_OK) fail(b, "EARROW", "node %u of the batch is not described", k);
  return n;
}

/* The node of top-level column `column`, and of child `child` of node `k`. */
uint32_t shmp_r_top_node(const shmp_r_batch *b, uint32_t column) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < column; i++) k += node_of(b, k).subtree;
  return k;
}

static uint32_t child_of(const shmp_r_batch *b, uint32_t k, uint32_t child) {
  uint32_t c = k + 1;
  for (uint32_t i = 0; i < child; i++) c += node_of(b, c).subtree;
  return c;
}

int shmp_r_string_type(uint32_t type) { return type == T_UTF8 || type == T_LARGE_UTF8 || type == T_UTF8_VIEW; }

/* The type as Arrow's libraries print it, for sentences. */
static const char *type_text(const shmp_arrow_node *n, char *out, size_t len) {
  static const char *const names[] = {
      "none", "null", "int", "float", "binary", "utf8", "bool", "decimal", "date", "time", "timestamp", "interval",
      "list", "struct", "union", "fixed_size_binary", "fixed_size_list", "map", "duration", "large_binary",
      "large_utf8", "large_list", "run_end_encoded", "binary_view", "utf8_view", "list_view", "large_list_view"};
  const shmp_arrow_column *c = &n->column;
  switch (c->type) {
    case T_INT: snprintf(out, len, "%sint%u", c->is_signed ? "" : "u", c->bit_width); break;
    case T_FLOAT: snprintf(out, len, "float%u", c->bit_width); break;
    case T_DECIMAL: snprintf(out, len, "decimal%u(%d, %d)", c->bit_width, n->precision, n->scale); break;
    case T_INTERVAL:
      snprintf(out, len, "interval[%s]", n->unit == 0 ? "year_month" : n->unit == 1 ? "day_time" : "month_day_nano");
      break;
    case T_UNION: snprintf(out, len, "%s_union", n->union_mode ? "dense" : "sparse"); break;
    default: snprintf(out, len, "%s", c->type < sizeof names / sizeof *names ? names[c->type] : "unknown"); break;
  }
  return out;
}

__attribute__((noreturn)) static void refuse(const shmp_r_batch *b, const shmp_arrow_node *n, const char *path,
                                             const char *why) {
  char type[64];
  fail(b, "ETYPE", "column \"%s\" has type %s, which %s", path, type_text(n, type, sizeof type), why);
}

/* ---- reading the body ------------------------------------------------------ */

static int is_valid(const shmp_r_batch *b, const shmp_arrow_node *n, int64_t i) {
  const shmp_arrow_column *c = &n->column;
  return c->null_count == 0 || c->validity_length == 0 || (b->record[c->validity_offset + (uint64_t)i / 8] >> (i % 8) & 1);
}

static int64_t int_of(const uint8_t *p, uint32_t bits, int is_signed) {
  switch (bits) {
    case 8: return is_signed ? (int8_t)p[0] : p[0];
    case 16: { uint16_t v; memcpy(&v, p, 2); return is_signed ? (int16_t)v : v; }
    case 32: { uint32_t v; memcpy(&v, p, 4); return is_signed ? (int32_t)v : (int64_t)v; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
  }
}

/* Value i of a fixed-width integer node (its values buffer). */
static int64_t int_at(const shmp_r_batch *b, const shmp_arrow_node *n, int64_t i) {
  uint32_t bits = n->column.bit_width;
  return int_of(b->record + n->column.values_offset + (uint64_t)i * (bits / 8), bits, n->column.is_signed);
}

/* Offsets i and i + 1 of a binary or list node (`wide`: 64-bit), checked
 * to be a range within `limit` values. */
static void range_at(const shmp_r_batch *b, const shmp_arrow_node *n, int wide, int64_t i, uint64_t limit,
                     const char *path, int64_t *from, int64_t *to) {
  const uint8_t *offsets = b->record + n->column.values_offset;
  *from = int_of(offsets + (uint64_t)i * (wide ? 8 : 4), wide ? 64 : 32, 1);
  *to = int_of(offsets + (uint64_t)(i + 1) * (wide ? 8 : 4), wide ? 64 : 32, 1);
  if (*from < 0 || *to < *from || (uint64_t)*to > limit)
    fail(b, "EARROW", "column \"%s\": row %lld has offsets %lld..%lld outside its %llu values", path, (long long)i,
         (long long)*from, (long long)*to, (unsigned long long)limit);
}

/* The bytes of row i of a binary/utf8 node, of a view node, or of a
 * fixed-size binary node. */
static const uint8_t *bytes_at(const shmp_r_batch *b, const shmp_arrow_node *n, int64_t i, const char *path,
                               int64_t *length) {
  const shmp_arrow_column *c = &n->column;
  int64_t from, to;
  switch (c->type) {
    case T_BINARY: case T_UTF8: case T_LARGE_BINARY: case T_LARGE_UTF8:
      range_at(b, n, c->type == T_LARGE_BINARY || c->type == T_LARGE_UTF8, i, c->data_length, path, &from, &to);
      *length = to - from;
      return b->record + c->data_offset + from;
    case T_FIXED_BINARY:
      *length = n->fixed_size;
      return b->record + c->values_offset + (uint64_t)i * (uint64_t)n->fixed_size;
    default: { /* a view: 4 bytes of length, then 12 inline, or a prefix, a buffer and an offset */
      const uint8_t *view = b->record + c->values_offset + 16 * (uint64_t)i;
      int64_t bytes = int_of(view, 32, 1);
      *length = bytes;
      if (bytes >= 0 && bytes <= 12) return view + 4;
      int64_t buffer = int_of(view + 8, 32, 1), offset = int_of(view + 12, 32, 1);
      uint64_t at = 0, size = 0;
      if (bytes < 0 || buffer < 0 || buffer >= (int64_t)n->buffer_count - 2 ||
          shmp_arrow_checker_buffer(b->checker, n->first_buffer + 2 + (uint32_t)buffer, &at, &size) != SHMP_OK ||
          offset < 0 || (uint64_t)offset > size || (uint64_t)bytes > size - (uint64_t)offset)
        fail(b, "EARROW", "column \"%s\": the view of row %lld (%lld bytes at offset %lld of data buffer %lld) lies outside its data",
             path, (long long)i, (long long)bytes, (long long)offset, (long long)buffer);
      return b->record + at + offset;
    }
  }
}

static SEXP string_of(const shmp_r_batch *b, const uint8_t *bytes, int64_t length, int64_t row, const char *path) {
  if (length > INT32_MAX) fail(b, "EARROW", "column \"%s\": string %lld has %lld bytes, more than an R string holds", path, (long long)row, (long long)length);
  if (memchr(bytes, 0, (size_t)length) != NULL)
    fail(b, "EARROW", "column \"%s\": string %lld holds a NUL byte, which R strings cannot", path, (long long)row);
  return Rf_mkCharLenCE((const char *)bytes, (int)length, CE_UTF8);
}

/* An IEEE half-precision float. */
static double half_of(uint16_t h) {
  int exponent = h >> 10 & 31, mantissa = h & 1023;
  double v = exponent == 0 ? ldexp(mantissa, -24) : exponent == 31 ? (mantissa ? NAN : INFINITY) : ldexp(mantissa + 1024, exponent - 25);
  return h & 0x8000 ? -v : v;
}

/* A decimal's little-endian two's complement integer of `bits`, scaled. */
static double decimal_of(const uint8_t *p, uint32_t bits, int32_t scale) {
  double v = 0;
  if (bits <= 64) v = (double)int_of(p, bits, 1);
  else { /* the magnitude from the top limb down (a negative one negated first), then the sign */
    uint32_t limbs = bits / 64;
    uint64_t limb[4];
    memcpy(limb, p, 8 * limbs);
    int negative = limb[limbs - 1] >> 63;
    if (negative) {
      unsigned carry = 1;
      for (uint32_t l = 0; l < limbs; l++) {
        limb[l] = ~limb[l] + carry;
        carry = carry && limb[l] == 0;
      }
    }
    for (int l = (int)limbs - 1; l >= 0; l--) v = v * 18446744073709551616.0 + (double)limb[l];
    if (negative) v = -v;
  }
  return v / pow(10, scale);
}

static void set_class(SEXP x, const char *a, const char *b) {
  SEXP classes = PROTECT(Rf_allocVector(STRSXP, b ? 2 : 1));
  SET_STRING_ELT(classes, 0, Rf_mkChar(a));
  if (b) SET_STRING_ELT(classes, 1, Rf_mkChar(b));
  Rf_setAttrib(x, R_ClassSymbol, classes);
  UNPROTECT(1);
}

static void as_seconds(SEXP x, int hms) {
  set_class(x, hms ? "hms" : "difftime", hms ? "difftime" : NULL);
  Rf_setAttrib(x, Rf_install("units"), Rf_mkString("secs"));
}

/* x[i] (or x[i, ] of a data.frame), by the package's take_values(). */
static SEXP take_values(SEXP values, SEXP index) {
  SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("shmpipe"))));
  SEXP call = PROTECT(Rf_lang3(Rf_install("take_values"), values, index));
  SEXP out = Rf_eval(call, ns);
  UNPROTECT(3);
  return out;
}

/* Element i of x becomes NA (NULL in a list, every field in a data.frame). */
static void set_na(SEXP x, R_xlen_t i) {
  switch (TYPEOF(x)) {
    case LGLSXP: LOGICAL(x)[i] = NA_LOGICAL; break;
    case INTSXP: INTEGER(x)[i] = NA_INTEGER; break;
    case REALSXP:
      if (Rf_inherits(x, "integer64")) {
        int64_t na = INT64_MIN;
        memcpy(&REAL(x)[i], &na, 8);
      } else REAL(x)[i] = NA_REAL;
      break;
    case STRSXP: SET_STRING_ELT(x, i, NA_STRING); break;
    case VECSXP:
      if (Rf_inherits(x, "data.frame"))
        for (R_xlen_t j = 0; j < Rf_xlength(x); j++) set_na(VECTOR_ELT(x, j), i);
      else SET_VECTOR_ELT(x, i, R_NilValue);
      break;
    default: break;
  }
}

static SEXP data_frame(SEXP columns, SEXP names, int64_t rows) {
  Rf_setAttrib(columns, R_NamesSymbol, names);
  SEXP row_names = PROTECT(Rf_allocVector(INTSXP, 2)); /* compact: c(NA, -rows) */
  INTEGER(row_names)[0] = NA_INTEGER;
  INTEGER(row_names)[1] = -(int)rows;
  Rf_setAttrib(columns, R_RowNamesSymbol, row_names);
  set_class(columns, "data.frame", NULL);
  UNPROTECT(1);
  return columns;
}

/* ---- the conversion ---------------------------------------------------------- */

static SEXP integers(const shmp_r_batch *b, const shmp_arrow_node *n, int64_t from, int64_t count, const char *path) {
  const shmp_arrow_column *c = &n->column;
  if (c->bit_width < 32 || (c->bit_width == 32 && c->is_signed)) {
    /* int32's -2147483648 is R's NA_integer_: a column holding it as a value
     * (not a null) becomes doubles, never a silent NA. */
    int wide = 0;
    for (int64_t i = 0; c->bit_width == 32 && !c->r_na && i < count && !wide; i++)
      wide = is_valid(b, n, from + i) && int_at(b, n, from + i) == INT32_MIN;
    SEXP out = PROTECT(Rf_allocVector(wide ? REALSXP : INTSXP, count));
    for (int64_t i = 0; i < count; i++) {
      int null = !is_valid(b, n, from + i);
      int64_t v = int_at(b, n, from + i);
      if (wide) REAL(out)[i] = null ? NA_REAL : (double)v;
      else INTEGER(out)[i] = null ? NA_INTEGER : (int)v;
    }
    UNPROTECT(1);
    return out;
  }
  if (!c->is_signed) { /* uint32 exactly, uint64 rounded above 2^53 (R's arrow does the same) */
    SEXP out = PROTECT(Rf_allocVector(REALSXP, count));
    for (int64_t i = 0; i < count; i++)
      REAL(out)[i] = is_valid(b, n, from + i) ? (double)(uint64_t)int_at(b, n, from + i) : NA_REAL;
    UNPROTECT(1);
    return out;
  }
  /* int64: plain integers when every value fits (R's arrow.int64_downcast),
   * else bit64's integer64, whose NA is -2^63: that value is refused. */
  int fits = !b->int64_as_integer64;
  for (int64_t i = 0; i < count; i++) {
    if (!is_valid(b, n, from + i)) continue;
    int64_t v = int_at(b, n, from + i);
    if (v == INT64_MIN)
      fail(b, "ETYPE", "column \"%s\" holds -9223372036854775808 at row %lld, which is NA in bit64's integer64 and has no other exact R value",
           path, (long long)(from + i));
    if (v < -INT32_MAX || v > INT32_MAX) fits = 0;
  }
  SEXP out = PROTECT(Rf_allocVector(fits ? INTSXP : REALSXP, count));
  for (int64_t i = 0; i < count; i++) {
    int null = !is_valid(b, n, from + i);
    int64_t v = null ? INT64_MIN : int_at(b, n, from + i);
    if (fits) INTEGER(out)[i] = null ? NA_INTEGER : (int)v;
    else memcpy(&REAL(out)[i], &v, 8);
  }
  if (!fits) set_class(out, "integer64", NULL);
  UNPROTECT(1);
  return out;
}

static SEXP dictionary_encoded(const shmp_r_batch *b, const shmp_arrow_node *n, int64_t from, int64_t count,
                               const char *path) {
  const shmp_arrow_column *c = &n->column;
  SEXP known = shmp_r_dictionary(b->dictionaries, c->dictionary_id);
  if (known == R_NilValue) fail(b, "EARROW", "column \"%s\": its dictionary %lld has not arrived", path, (long long)c->dictionary_id);
  PROTECT(known);
  if (Rf_inherits(known, "shmpipe_refused"))
    fail(b, "EARROW", "column \"%s\": its dictionary %lld was refused when it arrived; batches that use it are refused until the writer sends one this reader can take",
         path, (long long)c->dictionary_id);
  int factor = !Rf_inherits(known, "shmpipe_values");
  SEXP values = factor ? known : VECTOR_ELT(known, 0);
  R_xlen_t size = Rf_xlength(values);
  if (Rf_inherits(values, "data.frame")) size = Rf_xlength(values) ? Rf_xlength(VECTOR_ELT(values, 0)) : 0;
  SEXP codes = PROTECT(Rf_allocVector(INTSXP, count));
  for (int64_t i = 0; i < count; i++) {
    if (!is_valid(b, n, from + i)) {
      INTEGER(codes)[i] = NA_INTEGER;
      continue;
    }
    int64_t index = int_at(b, n, from + i);
    if (index < 0 || index >= size)
      fail(b, "EARROW", "column \"%s\" has dictionary index %lld at row %lld; its dictionary holds %lld values", path,
           (long long)index, (long long)(from + i), (long long)size);
    INTEGER(codes)[i] = (int)index + 1;
  }
  SEXP out;
  if (factor) { /* strings: a factor, its codes the indices + 1 */
    Rf_setAttrib(codes, R_LevelsSymbol, values);
    set_class(codes, "factor", NULL);
    out = codes;
  } else {
    out = take_values(values, codes);
  }
  UNPROTECT(2);
  return out;
}

static SEXP lists(const shmp_r_batch *b, uint32_t k, const shmp_arrow_node *n, int64_t from, int64_t count,
                  const char *path) {
  const shmp_arrow_column *c = &n->column;
  uint32_t child = k + 1;
  shmp_arrow_node cn = node_of(b, child);
  uint64_t child_length = (uint64_t)cn.column.length;
  char child_path[300];
  snprintf(child_path, sizeof child_path, "%s.%s", path, cn.column.name);
  SEXP out = PROTECT(Rf_allocVector(VECSXP, count));
  int wide = c->type == T_LARGE_LIST || c->type == T_LARGE_LIST_VIEW;
  for (int64_t i = 0; i < count; i++) {
    int64_t row = from + i, start, stop;
    if (!is_valid(b, n, row)) continue; /* NULL */
    if (c->type == T_FIXED_LIST) {
      start = row * n->fixed_size;
      stop = start + n->fixed_size;
      if ((uint64_t)stop > child_length)
        fail(b, "EARROW", "column \"%s\": row %lld needs child values up to %lld; there are %llu", path, (long long)row,
             (long long)stop, (unsigned long long)child_length);
    } else if (c->type == T_LIST_VIEW || c->type == T_LARGE_LIST_VIEW) {
      start = int_of(b->record + c->values_offset + (uint64_t)row * (wide ? 8 : 4), wide ? 64 : 32, 1);
      int64_t size = int_of(b->record + c->data_offset + (uint64_t)row * (wide ? 8 : 4), wide ? 64 : 32, 1);
      stop = start + size;
      if (start < 0 || size < 0 || (uint64_t)start > child_length || (uint64_t)size > child_length - (uint64_t)start)
        fail(b, "EARROW", "column \"%s\": the list view of row %lld (%lld values from %lld) lies outside its %llu child values",
             path, (long long)row, (long long)size, (long long)start, (unsigned long long)child_length);
    } else {
      range_at(b, n, wide, row, child_length, path, &start, &stop);
    }
    SET_VECTOR_ELT(out, i, shmp_r_convert(b, child, start, stop - start, child_path));
  }
  UNPROTECT(1);
  return out;
}

static SEXP struct_frame(const shmp_r_batch *b, uint32_t k, const shmp_arrow_node *n, int64_t from, int64_t count,
                         const char *path) {
  SEXP columns = PROTECT(Rf_allocVector(VECSXP, n->children));
  SEXP names = PROTECT(Rf_allocVector(STRSXP, n->children));
  uint32_t child = k + 1;
  for (uint32_t j = 0; j < n->children; j++) {
    shmp_arrow_node cn = node_of(b, child);
    char child_path[300];
    snprintf(child_path, sizeof child_path, "%s.%s", path, cn.column.name);
    if (from + count > cn.column.length)
      fail(b, "EARROW", "column \"%s\" has %lld values; its struct has %lld", child_path, (long long)cn.column.length,
           (long long)(from + count));
    SET_VECTOR_ELT(columns, j, shmp_r_convert(b, child, from, count, child_path));
    SET_STRING_ELT(names, j, Rf_mkCharCE(cn.column.name, CE_UTF8));
    child += cn.subtree;
  }
  for (int64_t i = 0; i < count; i++) /* a null struct: NA in every field */
    if (!is_valid(b, n, from + i))
      for (uint32_t j = 0; j < n->children; j++) set_na(VECTOR_ELT(columns, j), i);
  data_frame(columns, names, count);
  UNPROTECT(2);
  return columns;
}

static SEXP run_end_decoded(const shmp_r_batch *b, uint32_t k, int64_t from, int64_t count, const char *path) {
  uint32_t ends_at = child_of(b, k, 0), values_at = child_of(b, k, 1);
  shmp_arrow_node ends = node_of(b, ends_at), values_node = node_of(b, values_at);
  int64_t runs = ends.column.length;
  if (runs > values_node.column.length)
    fail(b, "EARROW", "column \"%s\" has %lld runs and %lld values", path, (long long)runs, (long long)values_node.column.length);
  char values_path[300];
  snprintf(values_path, sizeof values_path, "%s.%s", path, values_node.column.name);
  SEXP values = PROTECT(shmp_r_convert(b, values_at, 0, runs, values_path));
  SEXP index = PROTECT(Rf_allocVector(INTSXP, count));
  for (int64_t i = 0; i < count; i++) {
    /* The run that holds row from + i: the first whose end lies past it. */
    int64_t row = from + i, low = 0, high = runs;
    while (low < high) {
      int64_t mid = low + (high - low) / 2;
      if (int_at(b, &ends, mid) > row) high = mid;
      else low = mid + 1;
    }
    if (low >= runs || low > INT32_MAX - 1)
      fail(b, "EARROW", "column \"%s\": no run holds row %lld", path, (long long)row);
    INTEGER(index)[i] = (int)low + 1;
  }
  SEXP out = take_values(values, index);
  UNPROTECT(2);
  return out;
}

SEXP shmp_r_convert(const shmp_r_batch *b, uint32_t k, int64_t from, int64_t count, const char *path) {
  shmp_arrow_node node = node_of(b, k);
  const shmp_arrow_node *n = &node;
  const shmp_arrow_column *c = &n->column;
  if (from < 0 || count < 0 || from + count > c->length)
    fail(b, "EARROW", "column \"%s\": rows %lld..%lld are asked of its %lld", path, (long long)from,
         (long long)(from + count), (long long)c->length);
  if (c->dictionary_id >= 0) return dictionary_encoded(b, n, from, count, path);
  SEXP out = R_NilValue;
  switch (c->type) {
    case T_NULL:
      out = PROTECT(Rf_allocVector(LGLSXP, count));
      for (int64_t i = 0; i < count; i++) LOGICAL(out)[i] = NA_LOGICAL;
      break;
    case T_INT: return integers(b, n, from, count, path);
    case T_FLOAT:
      out = PROTECT(Rf_allocVector(REALSXP, count));
      for (int64_t i = 0; i < count; i++) {
        const uint8_t *p = b->record + c->values_offset + (uint64_t)(from + i) * (c->bit_width / 8);
        double v;
        if (c->bit_width == 16) v = half_of((uint16_t)int_of(p, 16, 0));
        else if (c->bit_width == 32) {
          float f;
          memcpy(&f, p, 4);
          v = f;
        } else memcpy(&v, p, 8);
        REAL(out)[i] = is_valid(b, n, from + i) ? v : NA_REAL;
      }
      break;
    case T_BOOL:
      out = PROTECT(Rf_allocVector(LGLSXP, count));
      for (int64_t i = 0; i < count; i++) {
        uint64_t bit = (uint64_t)(from + i);
        LOGICAL(out)[i] = is_valid(b, n, from + i) ? b->record[c->values_offset + bit / 8] >> (bit % 8) & 1 : NA_LOGICAL;
      }
      break;
    case T_UTF8: case T_LARGE_UTF8: case T_UTF8_VIEW:
      out = PROTECT(Rf_allocVector(STRSXP, count));
      for (int64_t i = 0; i < count; i++) {
        if (!is_valid(b, n, from + i)) {
          SET_STRING_ELT(out, i, NA_STRING);
          continue;
        }
        int64_t length;
        const uint8_t *bytes = bytes_at(b, n, from + i, path, &length);
        SET_STRING_ELT(out, i, string_of(b, bytes, length, from + i, path));
      }
      break;
    case T_BINARY: case T_LARGE_BINARY: case T_BINARY_VIEW: case T_FIXED_BINARY:
      /* A list of raw vectors (NULL for a null), as blob and R's arrow give. */
      out = PROTECT(Rf_allocVector(VECSXP, count));
      for (int64_t i = 0; i < count; i++) {
        if (!is_valid(b, n, from + i)) continue;
        int64_t length;
        const uint8_t *bytes = bytes_at(b, n, from + i, path, &length);
        SEXP raw = Rf_allocVector(RAWSXP, (R_xlen_t)length);
        SET_VECTOR_ELT(out, i, raw);
        if (length > 0) memcpy(RAW(raw), bytes, (size_t)length);
      }
      break;
    case T_DECIMAL:
      out = PROTECT(Rf_allocVector(REALSXP, count));
      for (int64_t i = 0; i < count; i++)
        REAL(out)[i] = is_valid(b, n, from + i)
                           ? decimal_of(b->record + c->values_offset + (uint64_t)(from + i) * (c->bit_width / 8), c->bit_width, n->scale)
                           : NA_REAL;
      break;
    case T_DATE:
      out = PROTECT(Rf_allocVector(REALSXP, count));
      for (int64_t i = 0; i < count; i++) {
        int64_t v = int_at(b, &(shmp_arrow_node){.column = {.bit_width = c->unit == 0 ? 32 : 64, .is_signed = 1, .values_offset = c->values_offset}}, from + i);
        REAL(out)[i] = !is_valid(b, n, from + i) ? NA_REAL : c->unit == 0 ? (double)v : floor((double)v / 86400000.0);
      }
      set_class(out, "Date", NULL);
      break;
    case T_TIME: case T_TIMESTAMP: case T_DURATION: {
      static const double per_second[] = {1, 1e3, 1e6, 1e9};
      double scale = per_second[n->unit & 3];
      shmp_arrow_node as_int = {.column = {.bit_width = c->bit_width, .is_signed = 1, .values_offset = c->values_offset}};
      out = PROTECT(Rf_allocVector(REALSXP, count));
      for (int64_t i = 0; i < count; i++)
        REAL(out)[i] = is_valid(b, n, from + i) ? (double)int_at(b, &as_int, from + i) / scale : NA_REAL;
      if (c->type == T_TIMESTAMP) {
        set_class(out, "POSIXct", "POSIXt");
        Rf_setAttrib(out, Rf_install("tzone"), Rf_mkString(c->timezone ? c->timezone : ""));
      } else as_seconds(out, c->type == T_TIME);
      break;
    }
    case T_LIST: case T_LARGE_LIST: case T_LIST_VIEW: case T_LARGE_LIST_VIEW: case T_FIXED_LIST: case T_MAP:
      /* A map's child is its struct of keys and values: each row a data.frame of them. */
      return lists(b, k, n, from, count, path);
    case T_STRUCT: return struct_frame(b, k, n, from, count, path);
    case T_RUN_END: return run_end_decoded(b, k, from, count, path);
    case T_UNION: refuse(b, n, path, "R has no type for (R's arrow package refuses it too)");
    case T_INTERVAL: refuse(b, n, path, "the R package does not read yet");
    default: refuse(b, n, path, "the R package does not read yet");
  }
  UNPROTECT(1);
  return out;
}
