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

/* Whether a non-null value of an int32 column is -2147483648, R's
 * NA_integer_: with options(shmpipe.int32 = "checked"), such a column is
 * not a view (convert.c makes doubles). Otherwise views look for the value
 * when R reads them (altrep.c): a look at every value here would make
 * read_batch() cost time in proportion to the batch. */
static int holds_int_min(const shmp_arrow_column *c, const uint8_t *record) {
  const uint8_t *validity = c->null_count > 0 && c->validity_length > 0 ? record + c->validity_offset : NULL;
  return shmp_r_int_min_row((const int *)(record + c->values_offset), validity, 0, c->length) >= 0;
}

/* The R vector for top-level column `i`; views keep `lease_ptr`. *viewed
 * is set when a view was made: float64 and int32 columns view the record
 * (R's NA patterns in null slots are used as they are), a published
 * table's strings are made on access; every other column is converted. */
static SEXP column_vector(const shmp_r_batch *b, uint32_t i, SEXP lease_ptr, SEXP state, int convert, int *viewed) {
  shmp_arrow_column col;
  shmp_arrow_checker_column(b->checker, i, &col);
  const shmp_arrow_column *c = &col;
  const uint8_t *values = b->record + c->values_offset;
  const uint8_t *validity = c->null_count > 0 && c->validity_length > 0 ? b->record + c->validity_offset : NULL;
  if (c->dictionary_id < 0) {
    if (c->type == 3 && c->bit_width == 64) { /* float64 */
      *viewed = 1;
      return shmp_r_view(1, values, c->r_na ? NULL : validity, c->length, 0, c->name, b->segment, b->op, lease_ptr, state);
    }
    /* int32: R's writers put no -2147483648 among the values (c->r_na); from others, R's reads look for it. */
    if (c->type == 2 && c->bit_width == 32 && c->is_signed && (c->r_na || !b->int32_checked || !holds_int_min(c, b->record))) {
      *viewed = 1;
      return shmp_r_view(0, values, c->r_na ? NULL : validity, c->length, !c->r_na && !b->int32_checked, c->name,
                         b->segment, b->op, lease_ptr, state);
    }
    /* A published table's strings are made on access (and serialize by
     * name); a channel's are made now: R's own loops call a method per
     * element of an ALTREP string vector, which made rowsum() and split()
     * by a string column 2-3x slower than on a plain vector. */
    if ((c->type == 5 || c->type == 20) && state != R_NilValue) {
      *viewed = 1;
      return shmp_r_strings(values, b->record + c->data_offset, c->data_length, validity, c->length, c->type == 20,
                            c->name, b->segment, lease_ptr, state);
    }
  }
  if (!convert) return R_NilValue; /* not asked for: converted when it is (shared_column()) */
  SEXP converted = shmp_r_convert(b, shmp_r_top_node(b, i), 0, c->length, c->name);
  /* A published table's converted columns serialize by name too (altconverted.c). */
  return state != R_NilValue ? shmp_r_converted(converted, state) : converted;
}

static shmp_r_batch batch_of(const shmp_arrow_checker *checker, const uint8_t *record, SEXP dictionaries,
                             const char *segment, const char *op) {
  SEXP option = Rf_GetOption1(Rf_install("shmpipe.int64"));
  int integer64 = Rf_isString(option) && Rf_length(option) == 1 && strcmp(CHAR(STRING_ELT(option, 0)), "integer64") == 0;
  option = Rf_GetOption1(Rf_install("shmpipe.int32"));
  int int32_checked = Rf_isString(option) && Rf_length(option) == 1 && strcmp(CHAR(STRING_ELT(option, 0)), "checked") == 0;
  return (shmp_r_batch){checker, record, dictionaries, segment, op, integer64, int32_checked};
}

/* ---- the reader ---------------------------------------------------------- */

/* The next record, held as a lease; the length, or a code (ECLOSED at the end). */
static int64_t take(end *e, uint64_t *offset, uint64_t *lease_id, int64_t deadline, shmp_error *err) {
  int64_t length;
  while (wait_more(length = shmp_reader_take(e->reader, offset, lease_id, next_slice(deadline), SPIN, err), deadline)) continue;
  return length;
}

static SEXP dictionary_key(int64_t id) {
  char key[32];
  snprintf(key, sizeof key, "%lld", (long long)id);
  return Rf_install(key);
}

SEXP shmp_r_dictionary(SEXP dictionaries, int64_t id) {
  SEXP known = Rf_findVarInFrame(dictionaries, dictionary_key(id));
  return known == R_UnboundValue ? R_NilValue : known;
}

void shmp_r_forget_dictionaries(SEXP dictionaries) {
  SEXP names = PROTECT(R_lsInternal3(dictionaries, TRUE, FALSE));
  for (R_xlen_t i = 0; i < Rf_xlength(names); i++)
    Rf_defineVar(Rf_installChar(STRING_ELT(names, i)), R_NilValue, dictionaries);
  UNPROTECT(1);
}

typedef struct dictionary_take {
  shmp_r_batch batch;
  SEXP dictionaries;
  int64_t id;
  int delta;
} dictionary_take;

/* The dictionary's values (its batch's node 0, the value field's tree):
 * strings as a factor's levels, others wrapped as shmpipe_values; a delta
 * extends what is kept (package function append_values()). */
static SEXP take_dictionary(void *data) {
  dictionary_take *d = data;
  shmp_arrow_node top;
  if (shmp_arrow_checker_node(d->batch.checker, 0, &top) != SHMP_OK)
    shmp_r_raise_usage(shmp_r_constant("EARROW"), d->batch.op, d->batch.segment, "the dictionary batch is not described");
  char path[100];
  snprintf(path, sizeof path, "%s (dictionary %lld)", top.column.name, (long long)d->id);
  SEXP values = PROTECT(shmp_r_convert(&d->batch, 0, 0, top.column.length, path));
  SEXP known = shmp_r_dictionary(d->dictionaries, d->id);
  if (d->delta && known != R_NilValue && !Rf_inherits(known, "shmpipe_refused")) {
    SEXP before = Rf_inherits(known, "shmpipe_values") ? VECTOR_ELT(known, 0) : known;
    SEXP ns = PROTECT(R_FindNamespace(PROTECT(Rf_mkString("shmpipe"))));
    SEXP call = PROTECT(Rf_lang3(Rf_install("append_values"), before, values));
    values = Rf_eval(call, ns);
    UNPROTECT(4);
    PROTECT(values);
  } else if (d->delta && known != R_NilValue) {
    UNPROTECT(1);
    return R_NilValue; /* a delta to a refused dictionary stays refused */
  }
  SEXP kept = values;
  if (!(shmp_r_string_type(top.column.type) && top.children == 0 && TYPEOF(values) == STRSXP)) {
    kept = PROTECT(Rf_allocVector(VECSXP, 1));
    SET_VECTOR_ELT(kept, 0, values);
    Rf_setAttrib(kept, R_ClassSymbol, Rf_mkString("shmpipe_values"));
    UNPROTECT(1);
  }
  PROTECT(kept);
  Rf_defineVar(dictionary_key(d->id), kept, d->dictionaries);
  UNPROTECT(2);
  return R_NilValue;
}

/* A dictionary R could not take is kept as refused, so that no batch that
 * uses it is read with the labels of the one before; then the error goes on. */
static SEXP dictionary_refused(SEXP condition, void *data) {
  dictionary_take *d = data;
  SEXP refused = PROTECT(Rf_mkString("refused"));
  Rf_setAttrib(refused, R_ClassSymbol, Rf_mkString("shmpipe_refused"));
  Rf_defineVar(dictionary_key(d->id), refused, d->dictionaries);
  SEXP call = PROTECT(Rf_lang2(Rf_install("stop"), condition));
  Rf_eval(call, R_BaseEnv);
  UNPROTECT(2);
  return R_NilValue;
}

void shmp_r_take_dictionary(shmp_arrow_checker *checker, const uint8_t *record, SEXP dictionaries, const char *segment,
                            const char *op) {
  dictionary_take d = {batch_of(checker, record, dictionaries, segment, op), dictionaries, 0, 0};
  d.id = shmp_arrow_checker_dictionary(checker, &d.delta);
  R_tryCatchError(take_dictionary, &d, dictionary_refused, &d);
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
                        const char *segment, SEXP origin, int convert, int *viewed) {
  uint32_t count = shmp_arrow_checker_batch_columns(checker);
  SEXP frame = PROTECT(Rf_allocVector(VECSXP, count));
  SEXP names = PROTECT(Rf_allocVector(STRSXP, count));
  SEXP views = PROTECT(Rf_allocVector(VECSXP, count));
  R_SetExternalPtrTag(lease_ptr, views);
  *viewed = 0;
  int64_t rows = 0;
  shmp_r_batch b = batch_of(checker, record, dictionaries, segment, origin == R_NilValue ? "recv" : "open");
  for (uint32_t i = 0; i < count; i++) {
    shmp_arrow_column in;
    shmp_arrow_checker_column(checker, i, &in);
    rows = in.length;
    SEXP state = R_NilValue;
    if (origin != R_NilValue) {
      state = PROTECT(Rf_allocVector(VECSXP, 5));
      for (int k = 0; k < 3; k++) SET_VECTOR_ELT(state, k, VECTOR_ELT(origin, k));
      SET_VECTOR_ELT(state, 3, Rf_ScalarInteger((int)i + 1));
      SET_VECTOR_ELT(state, 4, Rf_ScalarReal((double)in.length)); /* for a stand-in, if the table is gone */
      UNPROTECT(1);
    }
    PROTECT(state);
    int was_view = 0;
    SEXP column = column_vector(&b, i, lease_ptr, state, convert == 0 || convert == (int)i + 1, &was_view);
    SET_VECTOR_ELT(frame, i, column);
    UNPROTECT(1);
    if (was_view) SET_VECTOR_ELT(views, i, R_MakeWeakRef(shmp_r_view_pointer(column), R_NilValue, R_NilValue, FALSE));
    *viewed |= was_view;
    SET_STRING_ELT(names, i, Rf_mkCharCE(in.name, CE_UTF8));
  }
  Rf_setAttrib(frame, R_NamesSymbol, names);
  SEXP row_names = PROTECT(Rf_allocVector(INTSXP, 2)); /* compact: c(NA, -rows) */
  INTEGER(row_names)[0] = NA_INTEGER;
  INTEGER(row_names)[1] = -(int)rows;
  Rf_setAttrib(frame, R_RowNamesSymbol, row_names);
  Rf_setAttrib(frame, R_ClassSymbol, Rf_mkString("data.frame"));
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
  shmp_r_take_dictionary(d->e->checker, d->record, d->dictionaries, d->e->name, "recv");
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
      if (kind == SHMP_ARROW_SCHEMA) shmp_r_forget_dictionaries(dictionaries); /* a new stream's ids */
      if (kind == SHMP_ARROW_DICTIONARY) R_ExecWithCleanup(read_dictionary, &d, release_record, &d);
      else release_record(&d);
      if (kind < 0) shmp_r_raise(&err);
      continue; /* a schema, a dictionary, or a message skipped until the schema */
    }
    /* A batch: its columns, views holding the lease. */
    SEXP lease_ptr = PROTECT(shmp_r_new_lease(pointer, lease_id, e->segment));
    int viewed = 0;
    SEXP frame = PROTECT(shmp_r_batch_frame(e->checker, record, lease_ptr, dictionaries, e->name, R_NilValue, 0, &viewed));
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
  SEXP lease_ptr = shmp_r_batch_lease(frame);
  if (TYPEOF(lease_ptr) == EXTPTRSXP) shmp_r_release_lease_copying(lease_ptr);
  return R_NilValue;
}

/* The lease of a batch, found through any of its views (R_NilValue if none). */
SEXP shmp_r_batch_lease(SEXP frame) {
  SEXP lease_ptr = R_NilValue;
  for (R_xlen_t i = 0; Rf_isNewList(frame) && i < Rf_xlength(frame) && lease_ptr == R_NilValue; i++)
    lease_ptr = shmp_r_view_lease(VECTOR_ELT(frame, i));
  return TYPEOF(lease_ptr) == EXTPTRSXP ? lease_ptr : R_NilValue;
}

/* The bytes a lease's views still read in shared memory: those a release
 * now would copy (views the collector found unreachable read nothing). */
SEXP shmp_r_lease_view_bytes(SEXP lease_ptr) {
  double bytes = 0;
  SEXP views = TYPEOF(lease_ptr) == EXTPTRSXP ? R_ExternalPtrTag(lease_ptr) : R_NilValue;
  for (R_xlen_t i = 0; TYPEOF(views) == VECSXP && i < Rf_xlength(views); i++) {
    SEXP ref = VECTOR_ELT(views, i);
    if (ref != R_NilValue) bytes += shmp_r_view_bytes(R_WeakRefKey(ref));
  }
  return Rf_ScalarReal(bytes);
}

SEXP shmp_r_release_lease_copying(SEXP lease_ptr) {
  if (TYPEOF(lease_ptr) != EXTPTRSXP) return R_NilValue;
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
