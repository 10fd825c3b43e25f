/* String columns of published tables (read.c says why not of channels):
 * ALTREP string vectors over an Arrow utf8 (or large_utf8) column in the
 * segment, whose elements are made
 * (CHARSXPs, R's cached strings) one by one on access. A whole-vector
 * request (a pointer to the elements, a change, a duplicate) makes them
 * all, after which the vector no longer needs the segment. So does a
 * scan: once a sixteenth of the elements were asked for one by one, the
 * rest are made in one loop.
 *
 * data1: an external pointer to the column (where its offsets and bytes
 *        lie), which keeps the batch's lease alive (its prot); its tag is
 *        the STRSXP of elements made so far (R_NilValue before the first).
 * data2: for a column of a published table, where it lies (as for numeric
 *        views, altrep.c): serialize() writes that instead of the strings.
 *        R_NilValue for a channel's record. */
#include <stdlib.h>
#include <string.h>

#include "shmpipe_r.h"

#include <R_ext/Altrep.h>

typedef struct strings {
  int kind;                 /* SHMP_R_VIEW_STRINGS: tells release_batch() what this is */
  const uint8_t *offsets;   /* int32 (utf8) or int64 (large_utf8), length + 1, checked by the core */
  const uint8_t *data;
  uint64_t data_length;
  char *column, *segment;   /* for error sentences */
  const uint8_t *validity;  /* NULL: no nulls */
  R_xlen_t length;
  int wide;
  int complete;             /* every element made: the record is no longer needed */
  int changed;              /* an element was set: serialize the values, not the name */
  R_xlen_t made_count;      /* elements made one by one */
  uint8_t *made;            /* one bit per element made, NULL before the first */
} strings;

static R_altrep_class_t string_class;

static strings *strings_of(SEXP x) { return R_ExternalPtrAddr(R_altrep_data1(x)); }

static SEXP made_so_far(SEXP x) { return R_ExternalPtrTag(R_altrep_data1(x)); }

/* The CHARSXP of element i, read from the segment (checked again: read.c). */
static SEXP element_from_ring(const strings *s, R_xlen_t i) {
  if (s->validity != NULL && !(s->validity[i / 8] >> (i % 8) & 1)) return NA_STRING;
  return shmp_r_arrow_string(s->offsets, s->data, s->data_length, s->wide, i, s->column, s->segment);
}

/* The STRSXP the made elements go in, and the bits that say which are. */
static SEXP elements(SEXP pointer) {
  SEXP made = R_ExternalPtrTag(pointer);
  if (made != R_NilValue) return made;
  strings *s = R_ExternalPtrAddr(pointer);
  s->made = calloc((size_t)(s->length + 7) / 8 + 1, 1);
  if (s->made == NULL) Rf_error("out of memory");
  made = PROTECT(Rf_allocVector(STRSXP, s->length));
  R_SetExternalPtrTag(pointer, made);
  UNPROTECT(1);
  return made;
}

static SEXP make_all(SEXP pointer) {
  strings *s = R_ExternalPtrAddr(pointer);
  SEXP made = elements(pointer);
  if (s->complete) return made;
  for (R_xlen_t i = 0; i < s->length; i++)
    if (!(s->made[i / 8] >> (i % 8) & 1)) SET_STRING_ELT(made, i, element_from_ring(s, i));
  s->complete = 1;
  return made;
}

void shmp_r_materialize_strings(SEXP pointer) { make_all(pointer); }

int shmp_r_is_strings(SEXP x) { return ALTREP(x) && R_altrep_inherits(x, string_class); }

int shmp_r_strings_shared(SEXP x) { return !strings_of(x)->complete; }

static R_xlen_t strings_length(SEXP x) { return strings_of(x)->length; }

static SEXP strings_elt(SEXP x, R_xlen_t i) {
  strings *s = strings_of(x);
  SEXP made = elements(R_altrep_data1(x));
  if (s->complete || (s->made[i / 8] >> (i % 8) & 1)) return STRING_ELT(made, i);
  if (++s->made_count > s->length / 16) return STRING_ELT(make_all(R_altrep_data1(x)), i); /* a scan */
  SEXP e = element_from_ring(s, i);
  SET_STRING_ELT(made, i, e);
  s->made[i / 8] |= (uint8_t)(1u << (i % 8));
  return e;
}

static void strings_set_elt(SEXP x, R_xlen_t i, SEXP v) {
  SEXP made = make_all(R_altrep_data1(x));
  strings_of(x)->changed = 1;
  SET_STRING_ELT(made, i, v);
}

static void *strings_dataptr(SEXP x, Rboolean writable) {
  SEXP made = make_all(R_altrep_data1(x));
  if (writable) strings_of(x)->changed = 1;
  return DATAPTR(made);
}

static const void *strings_dataptr_or_null(SEXP x) {
  return strings_of(x)->complete ? DATAPTR(made_so_far(x)) : NULL;
}

static SEXP strings_duplicate(SEXP x, Rboolean deep) {
  (void)deep;
  return Rf_duplicate(make_all(R_altrep_data1(x)));
}

static SEXP strings_serialized_state(SEXP x) {
  SEXP where = R_altrep_data2(x);
  return where != R_NilValue && !strings_of(x)->changed ? where : NULL;
}

static Rboolean strings_inspect(SEXP x, int pre, int deep, int pvec, void (*inspect)(SEXP, int, int, int)) {
  (void)pre, (void)deep, (void)pvec, (void)inspect;
  Rprintf(" shmpipe string view of %lld values (%s)\n", (long long)strings_length(x),
          strings_of(x)->complete ? "made" : "in shared memory");
  return TRUE;
}

static void strings_free(SEXP pointer) {
  strings *s = R_ExternalPtrAddr(pointer);
  if (s != NULL) {
    free(s->made);
    free(s->column);
    free(s->segment);
  }
  free(s);
  R_ClearExternalPtr(pointer);
}

SEXP shmp_r_strings(const uint8_t *offsets, const uint8_t *data, uint64_t data_length, const uint8_t *validity,
                    R_xlen_t length, int wide, const char *column, const char *segment, SEXP lease, SEXP where) {
  /* The pointer and its finalizer first: an allocation that fails later leaks nothing. */
  SEXP pointer = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, lease));
  R_RegisterCFinalizer(pointer, strings_free);
  strings *s = calloc(1, sizeof *s);
  if (s == NULL) Rf_error("out of memory");
  R_SetExternalPtrAddr(pointer, s);
  *s = (strings){SHMP_R_VIEW_STRINGS, offsets, data, data_length, strdup(column), strdup(segment), validity, length, wide,
                 0, 0, 0, NULL};
  if (s->column == NULL || s->segment == NULL) Rf_error("out of memory");
  SEXP x = R_new_altrep(string_class, pointer, where);
  UNPROTECT(1);
  return x;
}

void shmp_r_init_altstring(DllInfo *info) {
  string_class = R_make_altstring_class("shmpipe_string", "shmpipe", info);
  R_set_altrep_Length_method(string_class, strings_length);
  R_set_altrep_Duplicate_method(string_class, strings_duplicate);
  R_set_altrep_Inspect_method(string_class, strings_inspect);
  R_set_altrep_Serialized_state_method(string_class, strings_serialized_state);
  R_set_altrep_UnserializeEX_method(string_class, shmp_r_view_unserialize);
  R_set_altvec_Dataptr_method(string_class, strings_dataptr);
  R_set_altvec_Dataptr_or_null_method(string_class, strings_dataptr_or_null);
  R_set_altstring_Elt_method(string_class, strings_elt);
  R_set_altstring_Set_elt_method(string_class, strings_set_elt);
}
