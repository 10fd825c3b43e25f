/* Columns of a published table that R holds converted (timestamps as
 * POSIXct's double seconds, dates, factors, 64-bit integers, booleans,
 * decimals, durations, times of day, strings R reads by value...): ALTREP
 * wrappers around the converted vector, so that they serialize by name as
 * the table's views do (altrep.c) instead of as the converted values. A
 * process that unserializes one opens the table and converts that column
 * there (shared_column() in R/table.R).
 *
 * data1: list(the converted vector, its attributes (class, levels,
 *        tzone...) moved to the wrapper; c(hash of its values, whether a
 *        pointer to write was handed out since)).
 * data2: where the column lies in its table (as for views).
 *
 * R asks for a pointer to write on every REAL()/INTEGER() (most of R's C
 * code, reading or not), so a request does not mean a change: it is
 * remembered, and serialize() then hashes the values again; changed, they
 * serialize by value, as they are.
 *
 * Lists and data.frame columns stay ordinary vectors (R 4.2 has no ALTREP
 * lists): they serialize by value. */
#include "shmpipe_r.h"

#include <R_ext/Altrep.h>

static R_altrep_class_t converted_real, converted_integer, converted_logical, converted_string;

#include <string.h>

static SEXP inner(SEXP x) { return VECTOR_ELT(R_altrep_data1(x), 0); }

static double *meta(SEXP x) { return REAL(VECTOR_ELT(R_altrep_data1(x), 1)); }

/* A 64-bit hash of the vector's bytes (for strings, of its cached CHARSXPs'
 * addresses: one string, one address), as a double's bits. */
static double hash_of(SEXP v) {
  size_t size = (size_t)XLENGTH(v) * (TYPEOF(v) == REALSXP ? sizeof(double) : TYPEOF(v) == STRSXP ? sizeof(SEXP) : sizeof(int));
  const unsigned char *p = TYPEOF(v) == STRSXP ? (const unsigned char *)STRING_PTR_RO(v) : (const unsigned char *)DATAPTR_RO(v);
  uint64_t h = 0x9E3779B97F4A7C15u ^ size;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDu;
    h ^= h >> 29;
  }
  for (; i < size; i++) h = (h ^ p[i]) * 0x100000001B3u;
  double d;
  memcpy(&d, &h, 8);
  return d;
}

static int unchanged(SEXP x) {
  double *m = meta(x);
  if (m[1] == 0) return 1;
  double now = hash_of(inner(x));
  return memcmp(&now, &m[0], 8) == 0;
}

static R_xlen_t converted_length(SEXP x) { return XLENGTH(inner(x)); }

static void *converted_dataptr(SEXP x, Rboolean writable) {
  if (writable) meta(x)[1] = 1;
  return DATAPTR(inner(x));
}

static const void *converted_dataptr_or_null(SEXP x) { return DATAPTR_OR_NULL(inner(x)); }

static double real_elt(SEXP x, R_xlen_t i) { return REAL_ELT(inner(x), i); }
static int integer_elt(SEXP x, R_xlen_t i) { return INTEGER_ELT(inner(x), i); }
static int logical_elt(SEXP x, R_xlen_t i) { return LOGICAL_ELT(inner(x), i); }
static SEXP string_elt(SEXP x, R_xlen_t i) { return STRING_ELT(inner(x), i); }

static void string_set_elt(SEXP x, R_xlen_t i, SEXP v) {
  meta(x)[1] = 1;
  SET_STRING_ELT(inner(x), i, v);
}

static R_xlen_t real_region(SEXP x, R_xlen_t from, R_xlen_t n, double *out) { return REAL_GET_REGION(inner(x), from, n, out); }
static R_xlen_t integer_region(SEXP x, R_xlen_t from, R_xlen_t n, int *out) { return INTEGER_GET_REGION(inner(x), from, n, out); }
static R_xlen_t logical_region(SEXP x, R_xlen_t from, R_xlen_t n, int *out) { return LOGICAL_GET_REGION(inner(x), from, n, out); }

/* A duplicate is an ordinary vector (R's default then gives it the wrapper's attributes). */
static SEXP converted_duplicate(SEXP x, Rboolean deep) {
  (void)deep;
  return Rf_duplicate(inner(x));
}

static SEXP converted_serialized_state(SEXP x) { return unchanged(x) ? R_altrep_data2(x) : NULL; }

static Rboolean converted_inspect(SEXP x, int pre, int deep, int pvec, void (*inspect)(SEXP, int, int, int)) {
  (void)pre, (void)deep, (void)pvec, (void)inspect;
  Rprintf(" shmpipe converted column of %lld values (%s)\n", (long long)converted_length(x),
          unchanged(x) ? "serializes by name" : "changed: serializes by value");
  return TRUE;
}

static SEXP real_unserialize(SEXP class, SEXP state, SEXP attr, int objf, int levs) {
  (void)class;
  return shmp_r_unserialize_column(REALSXP, state, attr, objf, levs);
}
static SEXP integer_unserialize(SEXP class, SEXP state, SEXP attr, int objf, int levs) {
  (void)class;
  return shmp_r_unserialize_column(INTSXP, state, attr, objf, levs);
}
static SEXP logical_unserialize(SEXP class, SEXP state, SEXP attr, int objf, int levs) {
  (void)class;
  return shmp_r_unserialize_column(LGLSXP, state, attr, objf, levs);
}
static SEXP string_unserialize(SEXP class, SEXP state, SEXP attr, int objf, int levs) {
  (void)class;
  return shmp_r_unserialize_column(STRSXP, state, attr, objf, levs);
}

SEXP shmp_r_converted(SEXP vector, SEXP where) {
  R_altrep_class_t class;
  switch (TYPEOF(vector)) {
  case REALSXP: class = converted_real; break;
  case INTSXP: class = converted_integer; break;
  case LGLSXP: class = converted_logical; break;
  case STRSXP: class = converted_string; break;
  default: return vector; /* lists, data.frames: by value */
  }
  PROTECT(vector);
  SEXP data1 = PROTECT(Rf_allocVector(VECSXP, 2));
  SET_VECTOR_ELT(data1, 0, vector);
  SET_VECTOR_ELT(data1, 1, Rf_allocVector(REALSXP, 2));
  REAL(VECTOR_ELT(data1, 1))[0] = hash_of(vector);
  REAL(VECTOR_ELT(data1, 1))[1] = 0;
  SEXP x = PROTECT(R_new_altrep(class, data1, where));
  SET_ATTRIB(x, ATTRIB(vector));
  SET_OBJECT(x, OBJECT(vector));
  SET_ATTRIB(vector, R_NilValue);
  SET_OBJECT(vector, 0);
  UNPROTECT(3);
  return x;
}

void shmp_r_init_altconverted(DllInfo *info) {
  converted_real = R_make_altreal_class("shmpipe_converted_real", "shmpipe", info);
  converted_integer = R_make_altinteger_class("shmpipe_converted_integer", "shmpipe", info);
  converted_logical = R_make_altlogical_class("shmpipe_converted_logical", "shmpipe", info);
  converted_string = R_make_altstring_class("shmpipe_converted_string", "shmpipe", info);
  R_altrep_class_t classes[] = {converted_real, converted_integer, converted_logical, converted_string};
  for (int i = 0; i < 4; i++) {
    R_set_altrep_Length_method(classes[i], converted_length);
    R_set_altrep_Duplicate_method(classes[i], converted_duplicate);
    R_set_altrep_Inspect_method(classes[i], converted_inspect);
    R_set_altrep_Serialized_state_method(classes[i], converted_serialized_state);
    R_set_altvec_Dataptr_method(classes[i], converted_dataptr);
    R_set_altvec_Dataptr_or_null_method(classes[i], converted_dataptr_or_null);
  }
  R_set_altrep_UnserializeEX_method(converted_real, real_unserialize);
  R_set_altrep_UnserializeEX_method(converted_integer, integer_unserialize);
  R_set_altrep_UnserializeEX_method(converted_logical, logical_unserialize);
  R_set_altrep_UnserializeEX_method(converted_string, string_unserialize);
  R_set_altreal_Elt_method(converted_real, real_elt);
  R_set_altreal_Get_region_method(converted_real, real_region);
  R_set_altinteger_Elt_method(converted_integer, integer_elt);
  R_set_altinteger_Get_region_method(converted_integer, integer_region);
  R_set_altlogical_Elt_method(converted_logical, logical_elt);
  R_set_altlogical_Get_region_method(converted_logical, logical_region);
  R_set_altstring_Elt_method(converted_string, string_elt);
  R_set_altstring_Set_elt_method(converted_string, string_set_elt);
}
