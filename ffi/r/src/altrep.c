/* Numeric columns that are shared memory: ALTREP real and integer vectors
 * whose data pointer is the Arrow buffer in the ring, read in place.
 *
 * R asks for a writable pointer on any REAL()/INTEGER() access: such a
 * request gets a private copy (copy on write), made once and kept, so R
 * never writes into shared memory (a reader maps the ring read-only, so it
 * could not). A column with nulls whose null slots do not hold R's NA bit
 * patterns is read element by element (each null an NA) until a pointer is
 * asked for, which then is a copy with the NAs filled in.
 *
 * R reads the int32 value -2147483648 as NA_integer_. An int32 column that
 * R did not write (R writes no such value: its NAs are nulls) is viewed
 * without a look at its values, so that read_batch() costs the same at any
 * size; the value is looked for where R reads: Elt at its one value,
 * Get_region at the values it copies out, and a request for the whole
 * column (a pointer, a copy, a duplicate) scans it once and keeps the
 * outcome. A value (not a null) of -2147483648 is an error naming the
 * column and the row, never an NA.
 *
 * data1: an external pointer to the view (where the values lie), which
 *        also keeps the batch's lease alive (its prot), and holds the
 *        private copy once made (its tag; R_NilValue before). The copy
 *        lives there rather than in data2 so that release_batch() can make
 *        it through a weak reference to this pointer (R cannot weakly
 *        reference a vector).
 * data2: for a column of a published table, where it lies:
 *        list(table name, batch, token, column, length), the name and token as
 *        symbols, written once per serialize() call. serialize() writes that
 *        (about a hundred bytes) instead of the values, and unserialize()
 *        in another process maps the same table (shared_column() in
 *        R/table.R). R_NilValue for a channel's record, which lives only
 *        as long as its lease: such a view serializes its values. */
#include <stdlib.h>
#include <string.h>

#include "shmpipe_r.h"

#include <R_ext/Altrep.h>
#include <R_ext/Rdynload.h>

enum { UNCHECKED = -2, NONE = -1 }; /* int_min_row before a scan, and after one that found none */

typedef struct view {
  int kind;                /* SHMP_R_VIEW_NUMERIC (altstring.c's views say SHMP_R_VIEW_STRINGS) */
  const void *values;
  const uint8_t *validity; /* NULL: every slot holds its value (or R's NA). Once copied: a private
                              copy where it still tells a null from -2147483648 (owned), else NULL */
  R_xlen_t length;
  int real;                /* double, else int */
  int guard;               /* int32 that may hold -2147483648 as a value: R's reads look for it */
  int owns_validity;
  R_xlen_t int_min_row;    /* UNCHECKED, NONE, or the first row found holding it */
  char *column, *segment;  /* for the error sentence */
  const char *op;
} view;

static R_altrep_class_t real_class, integer_class;

/* Bytes that views copied out of shared memory in this session (for the
 * tests: a batch nobody kept costs no copy when it goes back). */
static double copied_bytes;

SEXP shmp_r_copied_bytes(void) { return Rf_ScalarReal(copied_bytes); }

static view *view_of(SEXP x) { return R_ExternalPtrAddr(R_altrep_data1(x)); }

static SEXP copy_of(SEXP x) { return R_ExternalPtrTag(R_altrep_data1(x)); }

static int valid(const view *v, R_xlen_t i) { return v->validity == NULL || (v->validity[i / 8] >> (i % 8) & 1); }

__attribute__((noreturn)) static void refuse_int_min(const view *v, R_xlen_t row) {
  char detail[512];
  snprintf(detail, sizeof detail,
           "column \"%.200s\" holds -2147483648 at row %lld, which is NA_integer_ in R and has no other exact R "
           "integer (options(shmpipe.int32 = \"checked\") reads such a column as doubles)",
           v->column, (long long)row);
  shmp_r_raise_usage(shmp_r_constant("ETYPE"), v->op, v->segment, detail);
}

R_xlen_t shmp_r_int_min_row(const int *values, const uint8_t *validity, R_xlen_t from, R_xlen_t n) {
  /* One pass without an exit per value (a loop the compiler vectorises),
   * then a look for the row only where that pass saw the value. */
  int seen = 0;
  for (R_xlen_t i = 0; i < n; i++) seen |= values[i] == NA_INTEGER;
  for (R_xlen_t i = 0; seen && i < n; i++)
    if (values[i] == NA_INTEGER && (validity == NULL || (validity[(from + i) / 8] >> ((from + i) % 8) & 1))) return from + i;
  return NONE;
}

static R_xlen_t find_int_min(const view *v, const int *values, R_xlen_t from, R_xlen_t n) {
  return shmp_r_int_min_row(values, v->validity, from, n);
}

/* `value`, row i's: an error if it is -2147483648 and not a null. */
static int checked(const view *v, R_xlen_t i, int value) {
  if (v->guard && value == NA_INTEGER && valid(v, i)) refuse_int_min(v, i);
  return value;
}

/* The whole column is about to be read: scanned once; an error if it
 * holds -2147483648 as a value. */
static void check_all(SEXP x) {
  view *v = view_of(x);
  if (!v->guard) return;
  if (v->int_min_row == UNCHECKED) v->int_min_row = find_int_min(v, v->values, 0, v->length);
  if (v->int_min_row >= 0) refuse_int_min(v, v->int_min_row);
  v->guard = 0; /* none: nothing more to look for */
}

/* An ordinary vector with the view's values, NAs filled in. */
static SEXP fresh_copy(const view *v) {
  int real = v->real;
  SEXP copy = PROTECT(Rf_allocVector(real ? REALSXP : INTSXP, v->length));
  memcpy(real ? (void *)REAL(copy) : (void *)INTEGER(copy), v->values, (size_t)v->length * (real ? 8 : 4));
  copied_bytes += (double)v->length * (real ? 8 : 4);
  if (v->validity != NULL)
    for (R_xlen_t i = 0; i < v->length; i++)
      if (!valid(v, i)) {
        if (real) REAL(copy)[i] = NA_REAL;
        else INTEGER(copy)[i] = NA_INTEGER;
      }
  UNPROTECT(1);
  return copy;
}

/* The private copy, made on the first request to write (or before the
 * record goes back) and kept; the view reads it from then on. A column
 * that holds -2147483648 as a value keeps its validity bits (a copy), so
 * that the value stays an error and a null an NA. */
static SEXP materialize_view(SEXP pointer) {
  SEXP copy = R_ExternalPtrTag(pointer);
  if (copy != R_NilValue) return copy;
  view *v = R_ExternalPtrAddr(pointer);
  if (v->guard && v->int_min_row == UNCHECKED) v->int_min_row = find_int_min(v, v->values, 0, v->length);
  copy = PROTECT(fresh_copy(v));
  uint8_t *own = NULL;
  if (v->guard && v->int_min_row >= 0 && v->validity != NULL) {
    size_t bytes = (size_t)(v->length + 7) / 8;
    if ((own = malloc(bytes)) == NULL) Rf_error("out of memory");
    memcpy(own, v->validity, bytes);
  }
  v->validity = own; /* never the record's again: it goes back */
  v->owns_validity = own != NULL;
  if (v->int_min_row < 0) v->guard = 0;
  R_SetExternalPtrTag(pointer, copy);
  UNPROTECT(1);
  return copy;
}

static SEXP materialize(SEXP x) { return materialize_view(R_altrep_data1(x)); }

void shmp_r_materialize_view(SEXP pointer) {
  if (TYPEOF(pointer) != EXTPTRSXP || R_ExternalPtrAddr(pointer) == NULL) return;
  if (*(const int *)R_ExternalPtrAddr(pointer) == SHMP_R_VIEW_STRINGS) shmp_r_materialize_strings(pointer);
  else materialize_view(pointer);
}

double shmp_r_view_bytes(SEXP pointer) {
  if (TYPEOF(pointer) != EXTPTRSXP || R_ExternalPtrAddr(pointer) == NULL || R_ExternalPtrTag(pointer) != R_NilValue)
    return 0;
  const view *v = R_ExternalPtrAddr(pointer);
  return v->kind == SHMP_R_VIEW_NUMERIC ? (double)v->length * (v->real ? 8 : 4) : 0;
}

static int is_numeric_view(SEXP x) {
  return ALTREP(x) && (R_altrep_inherits(x, real_class) || R_altrep_inherits(x, integer_class));
}

int shmp_r_is_view(SEXP x) {
  return (is_numeric_view(x) && copy_of(x) == R_NilValue) || (shmp_r_is_strings(x) && shmp_r_strings_shared(x));
}

static R_xlen_t view_length(SEXP x) { return view_of(x)->length; }

static void *view_dataptr(SEXP x, Rboolean writable) {
  check_all(x);
  SEXP copy = copy_of(x);
  if (copy != R_NilValue) return DATAPTR(copy);
  const view *v = view_of(x);
  if (writable || v->validity != NULL) return DATAPTR(materialize(x));
  return (void *)v->values; /* read only: the ring is mapped PROT_READ */
}

/* A pointer only where reading through it needs no look at the values;
 * else NULL, and R reads through Elt or Get_region, which look. */
static const void *view_dataptr_or_null(SEXP x) {
  const view *v = view_of(x);
  if (v->guard) return NULL;
  SEXP copy = copy_of(x);
  if (copy != R_NilValue) return DATAPTR(copy);
  return v->validity == NULL ? v->values : NULL;
}

static double real_elt(SEXP x, R_xlen_t i) {
  SEXP copy = copy_of(x);
  if (copy != R_NilValue) return REAL(copy)[i];
  const view *v = view_of(x);
  return valid(v, i) ? ((const double *)v->values)[i] : NA_REAL;
}

static int integer_elt(SEXP x, R_xlen_t i) {
  SEXP copy = copy_of(x);
  const view *v = view_of(x);
  if (copy != R_NilValue) return checked(v, i, INTEGER(copy)[i]);
  return valid(v, i) ? checked(v, i, ((const int *)v->values)[i]) : NA_INTEGER;
}

static R_xlen_t real_region(SEXP x, R_xlen_t from, R_xlen_t n, double *out) {
  R_xlen_t end = from + n > view_length(x) ? view_length(x) : from + n;
  for (R_xlen_t i = from; i < end; i++) out[i - from] = real_elt(x, i);
  return end - from;
}

/* The values copied out, then looked at for -2147483648 in one pass. */
static R_xlen_t integer_region(SEXP x, R_xlen_t from, R_xlen_t n, int *out) {
  R_xlen_t end = from + n > view_length(x) ? view_length(x) : from + n;
  if (end <= from) return 0;
  SEXP copy = copy_of(x);
  const view *v = view_of(x);
  memcpy(out, (copy != R_NilValue ? (const int *)INTEGER(copy) : (const int *)v->values) + from, (size_t)(end - from) * 4);
  if (v->guard) {
    R_xlen_t row = find_int_min(v, out, from, end - from);
    if (row >= 0) refuse_int_min(v, row);
  }
  if (copy == R_NilValue && v->validity != NULL)
    for (R_xlen_t i = from; i < end; i++)
      if (!valid(v, i)) out[i - from] = NA_INTEGER;
  return end - from;
}

/* A duplicate is an ordinary vector, the user's to change; the view
 * itself stays a view. */
static SEXP view_duplicate(SEXP x, Rboolean deep) {
  (void)deep;
  check_all(x);
  SEXP copy = copy_of(x);
  return copy != R_NilValue ? Rf_duplicate(copy) : fresh_copy(view_of(x));
}

/* The lease a view keeps alive (its pointer's prot), or R_NilValue. */
SEXP shmp_r_view_lease(SEXP x) {
  return is_numeric_view(x) || shmp_r_is_strings(x) ? R_ExternalPtrProtected(R_altrep_data1(x)) : R_NilValue;
}

static Rboolean view_inspect(SEXP x, int pre, int deep, int pvec, void (*inspect)(SEXP, int, int, int)) {
  (void)pre, (void)deep, (void)pvec, (void)inspect;
  Rprintf(" shmpipe %s view of %lld values (%s)\n", TYPEOF(x) == REALSXP ? "double" : "integer",
          (long long)view_length(x), copy_of(x) == R_NilValue ? "in shared memory" : "copied");
  return TRUE;
}

static void view_free(SEXP pointer) {
  view *v = R_ExternalPtrAddr(pointer);
  if (v != NULL) {
    if (v->owns_validity) free((void *)v->validity);
    free(v->column);
    free(v->segment);
    free(v);
  }
  R_ClearExternalPtr(pointer);
}

/* By name while the view still is the table's memory; NULL (serialize the
 * values) for a channel's record or a view that was copied (and so may
 * have been changed). */
static SEXP view_serialized_state(SEXP x) {
  SEXP where = R_altrep_data2(x);
  return where != R_NilValue && copy_of(x) == R_NilValue ? where : NULL;
}

/* A column serialized by name comes back as the table's memory
 * (shared_column() in R/table.R); when the table cannot be opened (gone,
 * published again), as a stand-in that signals why on first use
 * (altrep_gone.c): an error inside unserialize() would end a PSOCK
 * worker's loop, and the whole cluster with it. */
static SEXP column_for(int type, SEXP state, int *fresh) {
  SEXP package = PROTECT(Rf_mkString("shmpipe"));
  SEXP namespace = PROTECT(R_FindNamespace(package));
  SEXP call = PROTECT(Rf_lang2(Rf_install("shared_column"), state));
  SEXP column = PROTECT(Rf_eval(call, namespace));
  *fresh = 0;
  if (Rf_inherits(column, "condition")) {
    column = shmp_r_gone_column(type, state, column);
    *fresh = 1;
  } else if (TYPEOF(column) != type) { /* int64 read as integer here, integer64 there (options(shmpipe.int64)) */
    SEXP like = PROTECT(Rf_lang3(Rf_install("as_sent"), column, Rf_ScalarInteger(type)));
    column = Rf_eval(like, namespace);
    UNPROTECT(1);
    *fresh = 1;
  }
  UNPROTECT(4);
  return column;
}

/* unserialize() gives the column the attributes it was sent with. The
 * column this process keeps for its table (shared_column()'s .opened) is
 * returned as it is when they are the ones it has; else a copy gets them,
 * so that no column this process received before changes. */
SEXP shmp_r_unserialize_column(int type, SEXP state, SEXP attr, int objf, int levs) {
  int fresh;
  SEXP column = PROTECT(column_for(type, state, &fresh));
  if (!fresh && R_compute_identical(ATTRIB(column), attr, 16) && OBJECT(column) == objf && LEVELS(column) == levs) {
    UNPROTECT(1);
    return column;
  }
  if (!fresh) column = Rf_duplicate(column);
  PROTECT(column);
  SET_ATTRIB(column, attr);
  SET_OBJECT(column, objf);
  SETLEVELS(column, levs);
  UNPROTECT(2);
  return column;
}

SEXP shmp_r_view_unserialize(SEXP class, SEXP state, SEXP attr, int objf, int levs) {
  int type = class == real_class.ptr ? REALSXP : class == integer_class.ptr ? INTSXP : STRSXP;
  return shmp_r_unserialize_column(type, state, attr, objf, levs);
}

/* The external pointer behind a view (to reference it weakly). */
SEXP shmp_r_view_pointer(SEXP x) { return R_altrep_data1(x); }

SEXP shmp_r_view(int real, const void *values, const uint8_t *validity, R_xlen_t length, int guard, const char *column,
                 const char *segment, const char *op, SEXP lease, SEXP where) {
  /* The pointer and its finalizer first: an allocation that fails later leaks nothing. */
  SEXP pointer = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, lease));
  R_RegisterCFinalizer(pointer, view_free);
  view *v = calloc(1, sizeof *v);
  if (v == NULL) Rf_error("out of memory");
  R_SetExternalPtrAddr(pointer, v);
  *v = (view){SHMP_R_VIEW_NUMERIC, values, validity, length, real, guard && !real, 0, UNCHECKED, strdup(column),
              strdup(segment), op};
  if (v->column == NULL || v->segment == NULL) Rf_error("out of memory");
  SEXP x = R_new_altrep(real ? real_class : integer_class, pointer, where);
  UNPROTECT(1);
  return x;
}

void shmp_r_init_altrep(DllInfo *info) {
  real_class = R_make_altreal_class("shmpipe_real", "shmpipe", info);
  integer_class = R_make_altinteger_class("shmpipe_integer", "shmpipe", info);
  R_altrep_class_t classes[] = {real_class, integer_class};
  for (int i = 0; i < 2; i++) {
    R_set_altrep_Length_method(classes[i], view_length);
    R_set_altrep_Duplicate_method(classes[i], view_duplicate);
    R_set_altrep_Inspect_method(classes[i], view_inspect);
    R_set_altrep_Serialized_state_method(classes[i], view_serialized_state);
    R_set_altrep_UnserializeEX_method(classes[i], shmp_r_view_unserialize);
    R_set_altvec_Dataptr_method(classes[i], view_dataptr);
    R_set_altvec_Dataptr_or_null_method(classes[i], view_dataptr_or_null);
  }
  R_set_altreal_Elt_method(real_class, real_elt);
  R_set_altreal_Get_region_method(real_class, real_region);
  R_set_altinteger_Elt_method(integer_class, integer_elt);
  R_set_altinteger_Get_region_method(integer_class, integer_region);
}
