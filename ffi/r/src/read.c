/* Reading Arrow batches as data.frames. The core checks every message and
 * says where each column's buffers lie (shmp_arrow_checker_column); this
 * file turns them into R vectors: float64 and int32 columns are ALTREP views
 * of the ring (altrep.c), the others are converted into R's types.
 *
 * A batch's record is held as a lease while any of its views lives (the
 * lease is an external pointer the views keep; its finalizer gives the
 * record back). release_batch() gives it back at once: the views still
 * alive copy their values first, so a released record's views never show
 * another record's data. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shmpipe_r.h"


/* Arrow's type tags (Schema.fbs). */
enum { T_INT = 2, T_FLOAT = 3, T_BINARY = 4, T_UTF8 = 5, T_BOOL = 6, T_DATE = 8, T_TIMESTAMP = 10, T_LARGE_UTF8 = 20 };

typedef struct lease {
  SEXP reader;      /* the reader's external pointer (kept alive by the lease's prot); R_NilValue
                       for a published table, whose records are never given back */
  uint64_t lease;   /* the core's name for the record */
  shmp_segment *segment;
  int released;
} lease;

static void lease_release(lease *l) {
  if (l->released) return;
  l->released = 1;
  end *e = l->reader == R_NilValue ? NULL : R_ExternalPtrAddr(l->reader);
  if (e != NULL && e->reader != NULL) shmp_reader_release_lease(e->reader, l->lease, NULL);
  shmp_segment_unref(l->segment);
}

static void lease_finalize(SEXP pointer) {
  lease *l = R_ExternalPtrAddr(pointer);
  if (l == NULL) return;
  lease_release(l);
  free(l);
  R_ClearExternalPtr(pointer);
}

/* ---- conversions --------------------------------------------------------- */

typedef struct column_in {
  shmp_arrow_column c;
  const uint8_t *record;
} column_in;

static int bit(const uint8_t *bits, int64_t i) { return bits[i / 8] >> (i % 8) & 1; }

static int is_null(const column_in *in, int64_t i) {
  return in->c.null_count > 0 && in->c.validity_length > 0 && !bit(in->record + in->c.validity_offset, i);
}

static int64_t int_at(const column_in *in, int64_t i) {
  const uint8_t *p = in->record + in->c.values_offset;
  switch (in->c.bit_width) {
    case 8: return in->c.is_signed ? (int8_t)p[i] : p[i];
    case 16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return in->c.is_signed ? (int16_t)v : v; }
    case 32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return in->c.is_signed ? (int32_t)v : (int64_t)v; }
    default: { int64_t v; memcpy(&v, p + 8 * i, 8); return v; }
  }
}

/* String i of an Arrow utf8 (wide: large_utf8) column as an R string.
 * The core checked the offsets; they are checked again against the data
 * here, as a peer could rewrite them after that check, and R strings
 * cannot hold a NUL byte: a shmpipe_error naming the column either way. */
SEXP shmp_r_arrow_string(const uint8_t *offsets, const uint8_t *data, uint64_t data_length, int wide, R_xlen_t i,
                         const char *column, const char *segment) {
  int64_t from, to;
  if (wide) {
    memcpy(&from, offsets + 8 * i, 8);
    memcpy(&to, offsets + 8 * (i + 1), 8);
  } else {
    int32_t a, b;
    memcpy(&a, offsets + 4 * i, 4);
    memcpy(&b, offsets + 4 * (i + 1), 4);
    from = a;
    to = b;
  }
  char detail[300];
  if (from < 0 || to < from || (uint64_t)to > data_length)
    snprintf(detail, sizeof detail, "column \"%s\": string %lld has offsets %lld..%lld outside its %llu bytes of data",
             column, (long long)i, (long long)from, (long long)to, (unsigned long long)data_length);
  else if (to - from > INT32_MAX)
    snprintf(detail, sizeof detail, "column \"%s\": string %lld has %lld bytes, more than an R string holds", column,
             (long long)i, (long long)(to - from));
  else if (memchr(data + from, 0, (size_t)(to - from)) != NULL)
    snprintf(detail, sizeof detail, "column \"%s\": string %lld holds a NUL byte, which R strings cannot", column,
             (long long)i);
  else
    return Rf_mkCharLenCE((const char *)data + from, (int)(to - from), CE_UTF8);
  shmp_r_raise_usage(shmp_r_constant("EARROW"), "recv", segment, detail);
}

static SEXP strings_of(const column_in *in, const char *segment) {
  int64_t n = in->c.length;
  SEXP out = PROTECT(Rf_allocVector(STRSXP, n));
  const uint8_t *offsets = in->record + in->c.values_offset, *data = in->record + in->c.data_offset;
  for (int64_t i = 0; i < n; i++)
    SET_STRING_ELT(out, i, is_null(in, i) ? NA_STRING
                                          : shmp_r_arrow_string(offsets, data, in->c.data_length, in->c.type == T_LARGE_UTF8,
                                                                i, in->c.name, segment));
  UNPROTECT(1);
  return out;
}

static void set_class(SEXP x, const char *a, const char *b) {
  SEXP classes = PROTECT(Rf_allocVector(STRSXP, b ? 2 : 1));
  SET_STRING_ELT(classes, 0, Rf_mkChar(a));
  if (b) SET_STRING_ELT(classes, 1, Rf_mkChar(b));
  Rf_setAttrib(x, R_ClassSymbol, classes);
  UNPROTECT(1);
}

/* The R vector for a column; views keep `lease_ptr`. *viewed is set when a
 * view was made. An R error names the column when R has no counterpart. */
static SEXP column_vector(const column_in *in, SEXP lease_ptr, SEXP levels, const char *channel, SEXP state,
                          int *viewed) {
  const shmp_arrow_column *c = &in->c;
  int64_t n = c->length;
  const uint8_t *values = in->record + c->values_offset;
  const uint8_t *validity = c->null_count > 0 && c->validity_length > 0 ? in->record + c->validity_offset : NULL;
  if (c->dictionary_id >= 0) { /* a factor: codes are the indices + 1 */
    if (levels == R_NilValue) {
      char detail[200];
      snprintf(detail, sizeof detail, "column \"%s\": its dictionary has not arrived", c->name);
      shmp_r_raise_usage(shmp_r_constant("EARROW"), "recv", channel, detail);
    }
    SEXP codes = PROTECT(Rf_allocVector(INTSXP, n));
    for (int64_t i = 0; i < n; i++) INTEGER(codes)[i] = is_null(in, i) ? NA_INTEGER : (int)int_at(in, i) + 1;
    Rf_setAttrib(codes, R_LevelsSymbol, levels);
    set_class(codes, "factor", NULL);
    UNPROTECT(1);
    return codes;
  }
  switch (c->type) {
    case T_FLOAT:
      if (c->bit_width == 64) {
        *viewed = 1; /* R's NA patterns in the null slots: used as they are */
        return shmp_r_view(1, values, c->r_na ? NULL : validity, n, lease_ptr, state);
      }
      if (c->bit_width == 32) {
        SEXP out = PROTECT(Rf_allocVector(REALSXP, n));
        for (int64_t i = 0; i < n; i++) {
          float f;
          memcpy(&f, values + 4 * i, 4);
          REAL(out)[i] = is_null(in, i) ? NA_REAL : f;
        }
        UNPROTECT(1);
        return out;
      }
      break;
    case T_INT:
      if (c->bit_width == 32 && c->is_signed) {
        *viewed = 1;
        return shmp_r_view(0, values, c->r_na ? NULL : validity, n, lease_ptr, state);
      }
      if (c->bit_width < 32 || (c->bit_width == 32 && !c->is_signed) || c->bit_width == 64) {
        /* int8/16, uint8/16 fit R's integers; uint32 and int64 become
         * doubles (exact up to 2^53); bit64's integer64 for int64. */
        int as_integer = c->bit_width < 32;
        int as_integer64 = c->bit_width == 64 && c->is_signed;
        SEXP out = PROTECT(Rf_allocVector(as_integer ? INTSXP : REALSXP, n));
        for (int64_t i = 0; i < n; i++) {
          int null = is_null(in, i);
          int64_t v = int_at(in, i);
          if (as_integer) INTEGER(out)[i] = null ? NA_INTEGER : (int)v;
          else if (as_integer64) {
            int64_t bits = null ? INT64_MIN : v;
            memcpy(&REAL(out)[i], &bits, 8);
          } else REAL(out)[i] = null ? NA_REAL : (double)(uint64_t)v;
        }
        if (as_integer64) set_class(out, "integer64", NULL);
        UNPROTECT(1);
        return out;
      }
      break;
    case T_BOOL: {
      SEXP out = PROTECT(Rf_allocVector(LGLSXP, n));
      for (int64_t i = 0; i < n; i++) LOGICAL(out)[i] = is_null(in, i) ? NA_LOGICAL : bit(values, i);
      UNPROTECT(1);
      return out;
    }
    case T_UTF8:
    case T_LARGE_UTF8:
      /* A published table's strings are made on access (and serialize by
       * name); a channel's are made now: R's own loops call a method per
       * element of an ALTREP string vector, which made rowsum() and
       * split() by a string column 2-3x slower than on a plain vector. */
      if (state == R_NilValue) return strings_of(in, channel);
      *viewed = 1;
      return shmp_r_strings(values, in->record + c->data_offset, c->data_length, validity, n, c->type == T_LARGE_UTF8,
                            c->name, channel, lease_ptr, state);
    case T_DATE: {
      SEXP out = PROTECT(Rf_allocVector(REALSXP, n));
      for (int64_t i = 0; i < n; i++) {
        int64_t v = c->unit == 0 ? int_at(&(column_in){.c = {.bit_width = 32, .is_signed = 1, .values_offset = c->values_offset}, .record = in->record}, i)
                                 : int_at(&(column_in){.c = {.bit_width = 64, .is_signed = 1, .values_offset = c->values_offset}, .record = in->record}, i) / 86400000;
        REAL(out)[i] = is_null(in, i) ? NA_REAL : (double)v;
      }
      set_class(out, "Date", NULL);
      UNPROTECT(1);
      return out;
    }
    case T_TIMESTAMP: {
      static const double per_second[] = {1, 1e3, 1e6, 1e9};
      double scale = per_second[c->unit & 3];
      SEXP out = PROTECT(Rf_allocVector(REALSXP, n));
      for (int64_t i = 0; i < n; i++) {
        int64_t v;
        memcpy(&v, values + 8 * i, 8);
        REAL(out)[i] = is_null(in, i) ? NA_REAL : (double)v / scale;
      }
      set_class(out, "POSIXct", "POSIXt");
      Rf_setAttrib(out, Rf_install("tzone"), Rf_mkString(c->timezone ? c->timezone : ""));
      UNPROTECT(1);
      return out;
    }
    default: break;
  }
  shmp_error err;
  char detail[200];
  snprintf(detail, sizeof detail, "column \"%s\" has an Arrow type R cannot read yet (type tag %u, %u bits)", c->name,
           c->type, c->bit_width);
  shmp_error_set(&err, shmp_r_constant("EARROW"), "recv", channel, detail);
  shmp_r_raise(&err);
}

/* ---- the reader ---------------------------------------------------------- */

/* The next record, held as a lease; the length, or a code (ECLOSED at the end). */
static int64_t take(end *e, uint64_t *offset, uint64_t *lease_id, int64_t deadline, shmp_error *err) {
  int64_t length;
  while (wait_more(length = shmp_reader_take(e->reader, offset, lease_id, next_slice(deadline), SPIN, err), deadline)) continue;
  return length;
}

/* The levels of dictionary `id` (dictionaries: an environment by id). */
static SEXP levels_of(SEXP dictionaries, int64_t id) {
  char key[32];
  snprintf(key, sizeof key, "%lld", (long long)id);
  SEXP levels = Rf_findVarInFrame(dictionaries, Rf_install(key));
  return levels == R_UnboundValue ? R_NilValue : levels;
}

static void keep_levels(SEXP dictionaries, int64_t id, SEXP levels, int delta) {
  char key[32];
  snprintf(key, sizeof key, "%lld", (long long)id);
  SEXP known = levels_of(dictionaries, id);
  if (delta && known != R_NilValue) {
    R_xlen_t a = Rf_xlength(known), b = Rf_xlength(levels);
    SEXP both = PROTECT(Rf_allocVector(STRSXP, a + b));
    for (R_xlen_t i = 0; i < a; i++) SET_STRING_ELT(both, i, STRING_ELT(known, i));
    for (R_xlen_t i = 0; i < b; i++) SET_STRING_ELT(both, a + i, STRING_ELT(levels, i));
    Rf_defineVar(Rf_install(key), both, dictionaries);
    UNPROTECT(1);
  } else {
    Rf_defineVar(Rf_install(key), levels, dictionaries);
  }
}

void shmp_r_take_dictionary(shmp_arrow_checker *checker, const uint8_t *record, SEXP dictionaries, const char *segment) {
  int delta = 0;
  int64_t id = shmp_arrow_checker_dictionary(checker, &delta);
  column_in in = {.record = record};
  shmp_arrow_checker_column(checker, 0, &in.c);
  SEXP levels = PROTECT(strings_of(&in, segment));
  keep_levels(dictionaries, id, levels, delta);
  UNPROTECT(1);
}

/* A lease on `segment` for views of a record: `reader` (an end's external
 * pointer) gets record `lease_id` back when it is released; R_NilValue for
 * a published table's records, which only need the mapping. */
SEXP shmp_r_new_lease(SEXP reader, uint64_t lease_id, shmp_segment *segment) {
  end *e = reader == R_NilValue ? NULL : R_ExternalPtrAddr(reader);
  /* The pointer and its finalizer first: if an allocation fails, the record still goes back. */
  SEXP lease_ptr = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, reader));
  R_RegisterCFinalizerEx(lease_ptr, lease_finalize, TRUE);
  lease *l = calloc(1, sizeof *l);
  if (l == NULL) {
    if (e != NULL && e->reader != NULL) shmp_reader_release_lease(e->reader, lease_id, NULL);
    Rf_error("out of memory");
  }
  *l = (lease){reader, lease_id, segment, 0};
  shmp_segment_ref(segment);
  R_SetExternalPtrAddr(lease_ptr, l);
  UNPROTECT(1);
  return lease_ptr;
}

void shmp_r_release_lease(SEXP lease_ptr) {
  lease *l = R_ExternalPtrAddr(lease_ptr);
  if (l != NULL) lease_release(l);
}

/* The checked batch in `record` as a data.frame whose float64 and int32
 * columns view the record and keep `lease_ptr`. `origin`, for a published
 * table: list(name, batch, token), which each view's serialized state
 * extends with its column and length (R_NilValue for a channel's record). Returns
 * whether any column is a view in *viewed. */
SEXP shmp_r_batch_frame(shmp_arrow_checker *checker, const uint8_t *record, SEXP lease_ptr, SEXP dictionaries,
                        const char *segment, SEXP origin, int *viewed) {
  uint32_t count = shmp_arrow_checker_batch_columns(checker);
  SEXP frame = PROTECT(Rf_allocVector(VECSXP, count));
  SEXP names = PROTECT(Rf_allocVector(STRSXP, count));
  SEXP views = PROTECT(Rf_allocVector(VECSXP, count));
  R_SetExternalPtrTag(lease_ptr, views);
  *viewed = 0;
  int64_t rows = 0;
  for (uint32_t i = 0; i < count; i++) {
    column_in in = {.record = record};
    shmp_arrow_checker_column(checker, i, &in.c);
    rows = in.c.length;
    SEXP levels = in.c.dictionary_id >= 0 ? levels_of(dictionaries, in.c.dictionary_id) : R_NilValue;
    SEXP state = R_NilValue;
    if (origin != R_NilValue) {
      state = PROTECT(Rf_allocVector(VECSXP, 5));
      for (int k = 0; k < 3; k++) SET_VECTOR_ELT(state, k, VECTOR_ELT(origin, k));
      SET_VECTOR_ELT(state, 3, Rf_ScalarInteger((int)i + 1));
      SET_VECTOR_ELT(state, 4, Rf_ScalarReal((double)in.c.length)); /* for a stand-in, if the table is gone */
      UNPROTECT(1);
    }
    PROTECT(state);
    int was_view = 0;
    SEXP column = column_vector(&in, lease_ptr, levels, segment, state, &was_view);
    SET_VECTOR_ELT(frame, i, column);
    UNPROTECT(1);
    if (was_view) SET_VECTOR_ELT(views, i, R_MakeWeakRef(shmp_r_view_pointer(column), R_NilValue, R_NilValue, FALSE));
    *viewed |= was_view;
    SET_STRING_ELT(names, i, Rf_mkCharCE(in.c.name, CE_UTF8));
  }
  Rf_setAttrib(frame, R_NamesSymbol, names);
  SEXP row_names = PROTECT(Rf_allocVector(INTSXP, 2)); /* compact: c(NA, -rows) */
  INTEGER(row_names)[0] = NA_INTEGER;
  INTEGER(row_names)[1] = -(int)rows;
  Rf_setAttrib(frame, R_RowNamesSymbol, row_names);
  set_class(frame, "data.frame", NULL);
  UNPROTECT(4);
  return frame;
}

typedef struct dictionary_read {
  end *e;
  const uint8_t *record;
  SEXP dictionaries;
  uint64_t lease_id;
} dictionary_read;

static SEXP read_dictionary(void *data) {
  dictionary_read *d = data;
  shmp_r_take_dictionary(d->e->checker, d->record, d->dictionaries, d->e->name);
  return R_NilValue;
}

static void release_record(void *data) {
  dictionary_read *d = data;
  shmp_reader_release_lease(d->e->reader, d->lease_id, NULL);
}

SEXP shmp_r_read_batch(SEXP pointer, SEXP dictionaries, SEXP timeout) {
  end *e = live_end(pointer, "recv");
  if (e->reader == NULL) shmp_r_raise_usage(shmp_r_constant("EBADARG"), "recv", e->name, "read_batch() reads from a reader, not a writer");
  shmp_error err;
  if (e->checker == NULL && (e->checker = shmp_arrow_checker_new(e->name, "recv", &err)) == NULL) shmp_r_raise(&err);
  int64_t deadline = deadline_after(seconds_ns(timeout));
  for (;;) {
    uint64_t offset = 0, lease_id = 0;
    int64_t length = take(e, &offset, &lease_id, deadline, &err);
    if (length == shmp_constant("ECLOSED")) return R_NilValue;
    if (length < 0) shmp_r_raise(&err);
    const uint8_t *record = (const uint8_t *)shmp_segment_base(e->segment) + offset;
    int kind = shmp_reader_check_arrow(e->reader, e->checker, record, (uint64_t)length, &err);
    if (kind != SHMP_ARROW_RECORD_BATCH) {
      /* The record goes back whatever happens, an R error in the dictionary's strings included. */
      dictionary_read d = {e, record, dictionaries, lease_id};
      if (kind == SHMP_ARROW_DICTIONARY) R_ExecWithCleanup(read_dictionary, &d, release_record, &d);
      else release_record(&d);
      if (kind < 0) shmp_r_raise(&err);
      continue; /* a schema, a dictionary, or a message skipped until the schema */
    }
    /* A batch: its columns, views holding the lease. */
    SEXP lease_ptr = PROTECT(shmp_r_new_lease(pointer, lease_id, e->segment));
    int viewed = 0;
    SEXP frame = PROTECT(shmp_r_batch_frame(e->checker, record, lease_ptr, dictionaries, e->name, R_NilValue, &viewed));
    if (!viewed) shmp_r_release_lease(lease_ptr); /* nothing views the record: give it back now */
    else shmp_r_track_lease(pointer, lease_ptr);
    UNPROTECT(2);
    return frame;
  }
}

/* Gives a batch's record back now: its views still alive, wherever they
 * are (the lease keeps weak references to them), copy their values first.
 * A batch without views gave its record back when it was read. */
SEXP shmp_r_release_batch(SEXP frame) {
  /* The lease, found through any of the batch's views. */
  SEXP lease_ptr = R_NilValue;
  for (R_xlen_t i = 0; Rf_isNewList(frame) && i < Rf_xlength(frame) && lease_ptr == R_NilValue; i++)
    lease_ptr = shmp_r_view_lease(VECTOR_ELT(frame, i));
  if (TYPEOF(lease_ptr) == EXTPTRSXP) shmp_r_release_lease_copying(lease_ptr);
  return R_NilValue;
}

SEXP shmp_r_release_lease_copying(SEXP lease_ptr) {
  SEXP views = R_ExternalPtrTag(lease_ptr);
  for (R_xlen_t i = 0; TYPEOF(views) == VECSXP && i < Rf_xlength(views); i++) {
    SEXP ref = VECTOR_ELT(views, i);
    if (ref != R_NilValue) shmp_r_materialize_view(R_WeakRefKey(ref));
  }
  lease *l = R_ExternalPtrAddr(lease_ptr);
  if (l != NULL) lease_release(l);
  return R_NilValue;
}

int shmp_r_lease_held(SEXP lease_ptr) {
  lease *l = R_ExternalPtrAddr(lease_ptr);
  return l != NULL && !l->released;
}

SEXP shmp_r_is_shared(SEXP x) { return Rf_ScalarLogical(shmp_r_is_view(x)); }
