/* Channels from R: an external pointer per end, with a finalizer that
 * closes it (and removes the name if this process created it), also at
 * the end of the session. Waits are cut into 0.1 s slices so that Ctrl-C
 * (R_CheckUserInterrupt) is seen; nothing is held across that check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmpipe_r.h"


#define SLICE_NS INT64_C(100000000)

static void end_close(end *e) {
  if (e == NULL) return;
  if (e->checker) shmp_arrow_checker_free(e->checker);
  e->checker = NULL;
  if (e->reader) shmp_reader_close(e->reader);
  if (e->writer) shmp_writer_close(e->writer);
  e->reader = NULL;
  e->writer = NULL;
  if (e->segment) {
    if (e->owned) shmp_r_unlink_owned(e->name);
    shmp_segment_unref(e->segment);
    e->segment = NULL;
  }
}

static void end_finalize(SEXP pointer) {
  end *e = R_ExternalPtrAddr(pointer);
  end_close(e);
  free(e);
  R_ClearExternalPtr(pointer);
}

end *live_end(SEXP pointer, const char *op) {
  end *e = TYPEOF(pointer) == EXTPTRSXP ? R_ExternalPtrAddr(pointer) : NULL;
  if (e == NULL || e->segment == NULL)
    shmp_r_raise_usage(shmp_r_constant("ECLOSED"), op, e ? e->name : "", "this end of the channel was closed");
  return e;
}

static const char *string_arg(SEXP x, const char *what) {
  if (!Rf_isString(x) || Rf_length(x) != 1 || STRING_ELT(x, 0) == NA_STRING) Rf_error("%s must be one string", what);
  return CHAR(STRING_ELT(x, 0));
}

int64_t seconds_ns(SEXP seconds) {
  double s = Rf_asReal(seconds);
  if (ISNAN(s) || s < 0) Rf_error("a timeout is a number of seconds >= 0 (Inf: no limit)");
  return R_FINITE(s) ? (int64_t)(s * 1e9) : -1;
}

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The core's wait limit for the next slice of a wait that ends at `deadline`
 * (-1: none): at most SLICE_NS, so that Ctrl-C is seen between slices. */
int64_t next_slice(int64_t deadline) {
  if (deadline < 0) return SLICE_NS;
  int64_t left = deadline - now_ns();
  return left < 0 ? 0 : left < SLICE_NS ? left : SLICE_NS;
}

SEXP shmp_r_open(SEXP name_arg, SEXP role_arg, SEXP create_arg, SEXP capacity_arg, SEXP wait_arg) {
  const char *name = string_arg(name_arg, "name");
  int reader = strcmp(string_arg(role_arg, "role"), "reader") == 0;
  int create = Rf_asLogical(create_arg) == TRUE;
  double capacity = Rf_asReal(capacity_arg);
  int64_t wait = seconds_ns(wait_arg);
  shmp_error err;
  end *e = calloc(1, sizeof *e);
  if (e == NULL) Rf_error("out of memory");
  snprintf(e->name, sizeof e->name, "%s", name);
  if (create) {
    e->segment = shmp_segment_create(name, capacity > 0 ? (uint64_t)capacity : 0, 0600, &err);
    e->owned = e->segment != NULL;
    if (e->owned) shmp_r_own(name);
  } else {
    /* R never writes into shared memory: a reader maps the ring read-only. */
    uint32_t flags = (reader ? SHMP_OPEN_READ_ONLY_DATA : 0) | (wait != 0 ? SHMP_OPEN_WAIT_FOR_NAME : 0);
    e->segment = shmp_segment_open(name, flags, wait != 0 ? wait : 2000000000, &err);
  }
  if (e->segment != NULL) {
    if (reader) e->reader = shmp_reader_attach(e->segment, &err);
    else e->writer = shmp_writer_attach(e->segment, &err);
  }
  if (e->reader == NULL && e->writer == NULL) {
    end_close(e);
    free(e);
    shmp_r_raise(&err);
  }
  SEXP pointer = PROTECT(R_MakeExternalPtr(e, R_NilValue, R_NilValue));
  R_RegisterCFinalizerEx(pointer, end_finalize, TRUE); /* also at the end of the session */
  UNPROTECT(1);
  return pointer;
}

SEXP shmp_r_close(SEXP pointer) {
  end *e = TYPEOF(pointer) == EXTPTRSXP ? R_ExternalPtrAddr(pointer) : NULL;
  end_close(e);
  return R_NilValue;
}

SEXP shmp_r_is_open(SEXP pointer) {
  end *e = TYPEOF(pointer) == EXTPTRSXP ? R_ExternalPtrAddr(pointer) : NULL;
  return Rf_ScalarLogical(e != NULL && e->segment != NULL);
}

SEXP shmp_r_name(SEXP pointer) {
  end *e = TYPEOF(pointer) == EXTPTRSXP ? R_ExternalPtrAddr(pointer) : NULL;
  return Rf_mkString(e ? e->name : "");
}

SEXP shmp_r_recv_bytes(SEXP pointer, SEXP timeout_arg) {
  end *e = live_end(pointer, "recv");
  if (e->reader == NULL) Rf_error("recv_bytes() reads from a reader");
  int64_t timeout = seconds_ns(timeout_arg);
  int64_t deadline = timeout < 0 ? -1 : now_ns() + timeout;
  shmp_error err;
  uint64_t offset = 0;
  for (;;) {
    int64_t length = shmp_reader_next(e->reader, &offset, next_slice(deadline), 256, &err);
    if (length >= 0) {
      SEXP bytes = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t)length));
      memcpy(RAW(bytes), (const uint8_t *)shmp_segment_base(e->segment) + offset, (size_t)length);
      shmp_reader_release(e->reader, NULL);
      UNPROTECT(1);
      return bytes;
    }
    if (length == shmp_constant("ECLOSED")) return R_NilValue;
    if (length != shmp_constant("ETIMEOUT") || (deadline >= 0 && now_ns() >= deadline)) shmp_r_raise(&err);
    R_CheckUserInterrupt();
  }
}

SEXP shmp_r_send_bytes(SEXP pointer, SEXP bytes, SEXP timeout_arg) {
  end *e = live_end(pointer, "send");
  if (e->writer == NULL) Rf_error("send_bytes() writes to a writer");
  if (TYPEOF(bytes) != RAWSXP) Rf_error("send_bytes() sends a raw vector");
  int64_t timeout = seconds_ns(timeout_arg);
  int64_t deadline = timeout < 0 ? -1 : now_ns() + timeout;
  shmp_error err;
  for (;;) {
    int rc = shmp_writer_send(e->writer, RAW(bytes), (uint64_t)XLENGTH(bytes), next_slice(deadline), 256, &err);
    if (rc == SHMP_OK) return R_NilValue;
    if (rc != shmp_constant("ETIMEOUT") || (deadline >= 0 && now_ns() >= deadline)) shmp_r_raise(&err);
    R_CheckUserInterrupt();
  }
}

shmp_writer *shmp_r_live_writer(SEXP pointer, shmp_segment **segment, const char **name) {
  end *e = live_end(pointer, "send");
  if (e->writer == NULL) Rf_error("this is a reader, not a writer");
  *segment = e->segment;
  *name = e->name;
  return e->writer;
}

int64_t shmp_r_claim(shmp_writer *writer, uint64_t size, int64_t timeout_ns, shmp_error *err) {
  int64_t deadline = timeout_ns < 0 ? -1 : now_ns() + timeout_ns;
  for (;;) {
    int64_t offset = shmp_writer_claim(writer, size, next_slice(deadline), 256, err);
    if (offset >= 0 || offset != shmp_constant("ETIMEOUT") || (deadline >= 0 && now_ns() >= deadline)) return offset;
    R_CheckUserInterrupt();
  }
}

SEXP shmp_r_unlink(SEXP name_arg) {
  shmp_error err;
  if (shmp_unlink(string_arg(name_arg, "name"), &err) != SHMP_OK) shmp_r_raise(&err);
  return R_NilValue;
}

SEXP shmp_r_version(void) { return Rf_mkString(shmp_version()); }

/* CLOCK_MONOTONIC in ns, the clock every binding's benchmark readers stamp
 * with (R has none of its own): shmpipe:::monotonic_ns(). */
SEXP shmp_r_monotonic_ns(void) { return Rf_ScalarReal((double)now_ns()); }
