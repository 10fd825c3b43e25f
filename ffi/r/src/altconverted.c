/* Columns of a published table that R holds converted (timestamps as
 * POSIXct's double seconds, dates, factors, 64-bit integers, booleans,
 * decimals, strings R reads by value...): ALTREP wrappers around the
 * converted vector, so that they serialize by name as the table's views do
 * (altrep.c) instead of as the converted values. A process that
 * unserializes one opens the table and converts it there
 * (shared_column() in R/table.R).
 *
 * data1: the converted vector, its attributes (class, levels, tzone...)
 *        moved to the wrapper.
 * data2: where the column lies in its table (as for views), or R_NilValue
 *        once a pointer to write was asked for (the values may have been
 *        changed: they serialize by value from then on).
 *
 * Lists and data.frame columns stay ordinary vectors (R 4.2 has no ALTREP
 * lists): they serialize by value. */
#include "shmpipe_r.h"

#include <R_ext/Altrep.h>

static R_altrep_class_t converted_real, converted_integer, converted_logical, converted_string;

static SEXP inner(SEXP x) { return R_altrep_data1(x); }

static R_xlen_t converted_length(SEXP x) { return XLENGTH(inner(x)); }

static void *converted_dataptr(SEXP x, Rboolean writable) {
  if (writable) R_set_altrep_data2(x, R_NilValue);
  return DATAPTR(inner(x));
}

static const void *converted_dataptr_or_null(SEXP x) { return DATAPTR_OR_NULL(inner(x)); }

static double real_elt(SEXP x, R_xlen_t i) { return REAL_ELT(inner(x), i); }
static int integer_elt(SEXP x, R_xlen_t i) { return INTEGER_ELT(inner(x), i); }
static int logical_elt(SEXP x, R_xlen_t i) { return LOGICAL_ELT(inner(x), i); }
static SEXP string_elt(SEXP x, R_xlen_t i) { return STRING_ELT(inner(x), i); }

static void string_set_elt(SEXP x, R_xlen_t i, SEXP v) {
  R_set_altrep_data2(x, R_NilValue);
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

static SEXP converted_serialized_state(SEXP x) {
  SEXP where = R_altrep_data2(x);
  return where != R_NilValue ? where : NULL;
}

static Rboolean converted_inspect(SEXP x, int pre, int deep, int pvec, void (*inspect)(SEXP, int, int, int)) {
  (void)pre, (void)deep, (void)pvec, (void)inspect;
  Rprintf(" shmpipe converted column of %lld values (%s)\n", (long long)converted_length(x),
          R_altrep_data2(x) != R_NilValue ? "serializes by name" : "may have changed: serializes by value");
  return TRUE;
}

static SEXP real_unserialize(SEXP class, SEXP state) { (void)class; return shmp_r_unserialize_column(REALSXP, state); }
static SEXP integer_unserialize(SEXP class, SEXP state) { (void)class; return shmp_r_unserialize_column(INTSXP, state); }
static SEXP logical_unserialize(SEXP class, SEXP state) { (void)class; return shmp_r_unserialize_column(LGLSXP, state); }
static SEXP string_unserialize(SEXP class, SEXP state) { (void)class; return shmp_r_unserialize_column(STRSXP, state); }

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
  SEXP x = PROTECT(R_new_altrep(class, vector, where));
  SET_ATTRIB(x, ATTRIB(vector));
  SET_OBJECT(x, OBJECT(vector));
  SET_ATTRIB(vector, R_NilValue);
  SET_OBJECT(vector, 0);
  UNPROTECT(2);
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
  R_set_altrep_Unserialize_method(converted_real, real_unserialize);
  R_set_altrep_Unserialize_method(converted_integer, integer_unserialize);
  R_set_altrep_Unserialize_method(converted_logical, logical_unserialize);
  R_set_altrep_Unserialize_method(converted_string, string_unserialize);
  R_set_altreal_Elt_method(converted_real, real_elt);
  R_set_altreal_Get_region_method(converted_real, real_region);
  R_set_altinteger_Elt_method(converted_integer, integer_elt);
  R_set_altinteger_Get_region_method(converted_integer, integer_region);
  R_set_altlogical_Elt_method(converted_logical, logical_elt);
  R_set_altlogical_Get_region_method(converted_logical, logical_region);
  R_set_altstring_Elt_method(converted_string, string_elt);
  R_set_altstring_Set_elt_method(converted_string, string_set_elt);
}
