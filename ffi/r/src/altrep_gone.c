/* Stand-ins for columns serialized by name whose table could not be
 * opened where they were unserialized (it is gone, or was published again
 * since): vectors of the column's type and length that signal the
 * condition saying why on any use of their values. They serialize by name
 * again, so that a process where the table exists gets the column.
 *
 * data1: the condition (a shmpipe_error, or a simpleError).
 * data2: list(the column's serialized state, its length). */
#include "shmpipe_r.h"

#include <R_ext/Altrep.h>

static R_altrep_class_t gone_real, gone_integer, gone_logical, gone_string;

static void signal_why(SEXP x) {
  SEXP call = PROTECT(Rf_lang2(Rf_install("stop"), R_altrep_data1(x)));
  Rf_eval(call, R_BaseEnv);
  UNPROTECT(1); /* not reached: stop() does not return */
}

static R_xlen_t gone_length(SEXP x) { return (R_xlen_t)REAL(VECTOR_ELT(R_altrep_data2(x), 1))[0]; }

static void *gone_dataptr(SEXP x, Rboolean writable) {
  (void)writable;
  signal_why(x);
  return NULL;
}

static const void *gone_dataptr_or_null(SEXP x) {
  (void)x;
  return NULL; /* R then asks for elements, which signal */
}

static double gone_real_elt(SEXP x, R_xlen_t i) {
  (void)i;
  signal_why(x);
  return NA_REAL;
}

static int gone_integer_elt(SEXP x, R_xlen_t i) {
  (void)i;
  signal_why(x);
  return NA_INTEGER;
}

static int gone_logical_elt(SEXP x, R_xlen_t i) {
  (void)i;
  signal_why(x);
  return NA_LOGICAL;
}

static SEXP gone_string_elt(SEXP x, R_xlen_t i) {
  (void)i;
  signal_why(x);
  return NA_STRING;
}

static R_xlen_t gone_real_region(SEXP x, R_xlen_t from, R_xlen_t n, double *out) {
  (void)from, (void)n, (void)out;
  signal_why(x);
  return 0;
}

static R_xlen_t gone_integer_region(SEXP x, R_xlen_t from, R_xlen_t n, int *out) {
  (void)from, (void)n, (void)out;
  signal_why(x);
  return 0;
}

static SEXP gone_serialized_state(SEXP x) { return VECTOR_ELT(R_altrep_data2(x), 0); }

static SEXP gone_duplicate(SEXP x, Rboolean deep) {
  (void)deep;
  signal_why(x);
  return R_NilValue;
}

static Rboolean gone_inspect(SEXP x, int pre, int deep, int pvec, void (*inspect)(SEXP, int, int, int)) {
  (void)pre, (void)deep, (void)pvec, (void)inspect;
  Rprintf(" shmpipe stand-in for a column whose table could not be opened (%lld values)\n", (long long)gone_length(x));
  return TRUE;
}

static SEXP gone_unserialize(SEXP class, SEXP state, SEXP attr, int objf, int levs) {
  int type = class == gone_real.ptr ? REALSXP : class == gone_integer.ptr ? INTSXP : class == gone_logical.ptr ? LGLSXP : STRSXP;
  return shmp_r_unserialize_column(type, state, attr, objf, levs);
}

SEXP shmp_r_gone_column(int type, SEXP state, SEXP why) {
  SEXP length = Rf_xlength(state) >= 5 ? VECTOR_ELT(state, 4) : R_NilValue;
  SEXP where = PROTECT(Rf_allocVector(VECSXP, 2));
  SET_VECTOR_ELT(where, 0, state);
  SET_VECTOR_ELT(where, 1, TYPEOF(length) == REALSXP ? length : Rf_ScalarReal(0));
  R_altrep_class_t class = type == REALSXP ? gone_real : type == INTSXP ? gone_integer : type == LGLSXP ? gone_logical : gone_string;
  SEXP x = R_new_altrep(class, why, where);
  UNPROTECT(1);
  return x;
}

void shmp_r_init_altrep_gone(DllInfo *info) {
  gone_real = R_make_altreal_class("shmpipe_gone_real", "shmpipe", info);
  gone_integer = R_make_altinteger_class("shmpipe_gone_integer", "shmpipe", info);
  gone_logical = R_make_altlogical_class("shmpipe_gone_logical", "shmpipe", info);
  gone_string = R_make_altstring_class("shmpipe_gone_string", "shmpipe", info);
  R_altrep_class_t classes[] = {gone_real, gone_integer, gone_logical, gone_string};
  for (int i = 0; i < 4; i++) {
    R_set_altrep_Length_method(classes[i], gone_length);
    R_set_altrep_Duplicate_method(classes[i], gone_duplicate);
    R_set_altrep_Inspect_method(classes[i], gone_inspect);
    R_set_altrep_Serialized_state_method(classes[i], gone_serialized_state);
    R_set_altrep_UnserializeEX_method(classes[i], gone_unserialize);
    R_set_altvec_Dataptr_method(classes[i], gone_dataptr);
    R_set_altvec_Dataptr_or_null_method(classes[i], gone_dataptr_or_null);
  }
  R_set_altreal_Elt_method(gone_real, gone_real_elt);
  R_set_altreal_Get_region_method(gone_real, gone_real_region);
  R_set_altinteger_Elt_method(gone_integer, gone_integer_elt);
  R_set_altinteger_Get_region_method(gone_integer, gone_integer_region);
  R_set_altlogical_Elt_method(gone_logical, gone_logical_elt);
  R_set_altlogical_Get_region_method(gone_logical, gone_integer_region);
  R_set_altstring_Elt_method(gone_string, gone_string_elt);
}
