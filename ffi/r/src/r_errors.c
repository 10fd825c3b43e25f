/* Errors as R conditions: class c("shmpipe_error", "error", "condition"),
 * fields message, call, code, name, op, segment. The sentence is the core's. */
#include "shmpipe_r.h"

void shmp_r_raise(const shmp_error *err) {
  const char *names[] = {"message", "call", "code", "name", "op", "segment", ""};
  SEXP condition = PROTECT(Rf_mkNamed(VECSXP, names));
  SET_VECTOR_ELT(condition, 0, Rf_mkString(err->message));
  SET_VECTOR_ELT(condition, 1, R_NilValue);
  SET_VECTOR_ELT(condition, 2, Rf_ScalarInteger(err->code));
  SET_VECTOR_ELT(condition, 3, Rf_mkString(shmp_error_name(err->code)));
  SET_VECTOR_ELT(condition, 4, Rf_mkString(err->op));
  SET_VECTOR_ELT(condition, 5, Rf_mkString(err->segment));
  SEXP classes = PROTECT(Rf_allocVector(STRSXP, 3));
  SET_STRING_ELT(classes, 0, Rf_mkChar("shmpipe_error"));
  SET_STRING_ELT(classes, 1, Rf_mkChar("error"));
  SET_STRING_ELT(classes, 2, Rf_mkChar("condition"));
  Rf_setAttrib(condition, R_ClassSymbol, classes);
  SEXP call = PROTECT(Rf_lang2(Rf_install("stop"), condition));
  Rf_eval(call, R_BaseEnv);
  Rf_error("%s", err->message); /* not reached: stop() does not return */
}

void shmp_r_raise_usage(int code, const char *op, const char *segment, const char *detail) {
  shmp_error err;
  shmp_error_set(&err, code, op, segment, detail);
  shmp_r_raise(&err);
}

int shmp_r_constant(const char *name) { return (int)shmp_constant(name); }
