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

/* The names this process created are the core's to track (owned.c of the
 * core): close() and the finalizers remove them with shmp_owned_unlink(), the
 * session's end with shmp_owned_unlink_all() (shmp_r_owned_unlink_all,
 * from the finalizer .onLoad registers), and SIGTERM or SIGHUP, which R
 * leaves at their default action, by the core's signal policy (never in a
 * forked child, such as parallel::mclapply's: the core keys names by pid). */
void shmp_r_unlink_on_signals(void) {
  static int installed;
  if (!installed) shmp_owned_unlink_on_signals();
  installed = 1;
}

SEXP shmp_r_owned_unlink_all(void) { return Rf_ScalarInteger(shmp_owned_unlink_all()); }

/* Closes the end. A writer that would lose records (its creator's name
 * goes, and no reader ever attached to read them) reports it: in `err`
 * if given, else on stderr (a finalizer has no one to tell). */
static int end_close(end *e, shmp_error *err) {
  if (e == NULL) return 0;
  int rc = 0;
  if (e->checker) shmp_arrow_checker_free(e->checker);
  e->checker = NULL;
  shmp_arrow_sender_free(e->sender); /* before its writer */
  e->sender = NULL;
  if (e->reader) shmp_reader_close(e->reader);
  if (e->writer) {
    shmp_error lost;
    rc = shmp_writer_close_checked(e->writer, err ? err : &lost);
    if (rc < 0 && err == NULL) REprintf("shmpipe: %s\n", lost.message);
  }
  e->reader = NULL;
  e->writer = NULL;
  if (e->segment) {
    /* The name goes only if this process still owns it: not in a forked
     * child (parallel::mcparallel) whose collector finalizes its copy of
     * the parent's end, and not once another process removed it. */
    if (e->owned) shmp_owned_unlink(e->name, NULL);
    shmp_segment_unref(e->segment);
    e->segment = NULL;
  }
  if (e->created) shmp_segment_unref(e->created);
  e->created = NULL;
  return rc;
}

static void end_finalize(SEXP pointer) {
  end *e = R_ExternalPtrAddr(pointer);
  end_close(e, NULL);
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
  if (seconds == R_NilValue) return shmp_constant("DEFAULT_TIMEOUT_NS");
  double s = Rf_asReal(seconds);
  if (ISNAN(s) || s < 0) Rf_error("a timeout is a number of seconds >= 0 (Inf: no limit)");
  return R_FINITE(s) ? (int64_t)(s * 1e9) : -1;
}

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t deadline_after(int64_t timeout_ns) { return timeout_ns < 0 ? -1 : now_ns() + timeout_ns; }

int wait_more(int64_t rc, int64_t deadline) {
  if (rc != shmp_constant("ETIMEOUT") || (deadline >= 0 && now_ns() >= deadline)) return 0;
  R_CheckUserInterrupt(); /* Ctrl-C ends the wait here, with nothing held */
  return 1;
}

/* The core's wait limit for the next slice of a wait that ends at `deadline`
 * (-1: none): at most SLICE_NS, so that Ctrl-C is seen between slices. */
int64_t next_slice(int64_t deadline) {
  if (deadline < 0) return SLICE_NS;
  int64_t left = deadline - now_ns();
  return left < 0 ? 0 : left < SLICE_NS ? left : SLICE_NS;
}

/* Opens `name`, waiting up to `wait_ns` (-1: for ever; 0: it must exist)
 * for it to be created, in slices between which Ctrl-C is seen. */
static shmp_segment *open_waiting(const char *name, uint32_t flags, int64_t wait_ns, shmp_error *err) {
  if (wait_ns == 0) return shmp_segment_open(name, flags, shmp_constant("DEFAULT_READY_TIMEOUT_NS"), err); /* a creator still setting it up */
  int64_t started = now_ns(), deadline = deadline_after(wait_ns);
  for (;;) {
    shmp_segment *s = shmp_segment_open(name, flags | SHMP_OPEN_WAIT_FOR_NAME, next_slice(deadline), err);
    if (s != NULL) return s;
    int missing = err->code == shmp_r_constant("ENOENT") || err->code == shmp_r_constant("ENOTREADY");
    if (!missing) return NULL;
    if (deadline >= 0 && now_ns() >= deadline) {
      /* The sentence for the whole wait, not for its last slice. */
      if (err->code == shmp_r_constant("ENOENT"))
        shmp_open_missing(name, flags | SHMP_OPEN_WAIT_FOR_NAME, now_ns() - started, wait_ns, err);
      return NULL;
    }
    R_CheckUserInterrupt();
  }
}

SEXP shmp_r_open(SEXP name_arg, SEXP role_arg, SEXP create_arg, SEXP capacity_arg, SEXP wait_arg) {
  const char *name = string_arg(name_arg, "name");
  int reader = strcmp(string_arg(role_arg, "role"), "reader") == 0;
  int create = Rf_asLogical(create_arg) == TRUE;
  double capacity = capacity_arg == R_NilValue ? (double)shmp_constant("DEFAULT_CAPACITY") : Rf_asReal(capacity_arg);
  int64_t wait = seconds_ns(wait_arg);
  shmp_error err;
  /* The pointer and its finalizer first: whatever fails or is interrupted
   * later, what was made goes with it (the name too). */
  SEXP pointer = PROTECT(R_MakeExternalPtr(NULL, R_NilValue, R_NilValue));
  R_RegisterCFinalizerEx(pointer, end_finalize, TRUE); /* also at the end of the session */
  end *e = calloc(1, sizeof *e);
  if (e == NULL) Rf_error("out of memory");
  R_SetExternalPtrAddr(pointer, e);
  snprintf(e->name, sizeof e->name, "%s", name);
  /* R never writes into shared memory: a reader maps the ring read-only,
   * also one that created the channel (the created mapping only owns the name). */
  uint32_t flags = reader ? SHMP_OPEN_READ_ONLY_DATA : 0;
  if (create) {
    e->created = shmp_segment_create(name, capacity > 0 ? (uint64_t)capacity : 0, 0600, &err);
    if (e->created == NULL) shmp_r_raise(&err);
    e->owned = 1; /* the core recorded the name as this process's */
    shmp_r_unlink_on_signals();
    if (reader) e->segment = shmp_segment_open(name, flags, 0, &err);
    else shmp_segment_ref(e->segment = e->created);
  } else {
    e->segment = open_waiting(name, flags, wait, &err);
  }
  if (e->segment == NULL) shmp_r_raise(&err);
  if (reader) e->reader = shmp_reader_attach(e->segment, &err);
  else e->writer = shmp_writer_attach(e->segment, &err);
  if (e->reader == NULL && e->writer == NULL) shmp_r_raise(&err);
  UNPROTECT(1);
  return pointer;
}

/* Lets go of a reader's batches still alive: their views copy what they
 * show (the leases the reader made, held weakly in its pointer's tag), so
 * that none shows a record the writer reuses once the reader is gone. */
static void release_leases(SEXP pointer) {
  for (SEXP ref = R_ExternalPtrTag(pointer); ref != R_NilValue; ref = CDR(ref)) {
    SEXP lease_ptr = R_WeakRefKey(CAR(ref));
    if (lease_ptr != R_NilValue) shmp_r_release_lease_copying(lease_ptr);
  }
  R_SetExternalPtrTag(pointer, R_NilValue);
}

void shmp_r_track_lease(SEXP pointer, SEXP lease_ptr) {
  /* The new lease first, then those still held (the list forgets the
   * batches collected or released since: it stays as long as those alive). */
  SEXP ref = PROTECT(R_MakeWeakRef(lease_ptr, R_NilValue, R_NilValue, FALSE));
  SEXP fresh = PROTECT(Rf_cons(ref, R_NilValue)), tail = fresh;
  for (SEXP old = R_ExternalPtrTag(pointer); old != R_NilValue; old = CDR(old)) {
    SEXP key = R_WeakRefKey(CAR(old));
    if (key == R_NilValue || !shmp_r_lease_held(key)) continue;
    SETCDR(tail, Rf_cons(CAR(old), R_NilValue));
    tail = CDR(tail);
  }
  R_SetExternalPtrTag(pointer, fresh);
  UNPROTECT(2);
}

SEXP shmp_r_close(SEXP pointer, SEXP timeout_arg) {
  end *e = TYPEOF(pointer) == EXTPTRSXP ? R_ExternalPtrAddr(pointer) : NULL;
  if (e == NULL || e->segment == NULL) return R_NilValue;
  if (e->reader) release_leases(pointer);
  if (e->writer) {
    /* Nothing is lost silently: a creator whose records no reader ever
     * attached to read waits for one (in slices: Ctrl-C is seen). */
    int64_t timeout = seconds_ns(timeout_arg), deadline = deadline_after(timeout);
    char notice[512];
    if (shmp_writer_linger_notice(e->writer, timeout, notice, sizeof notice) > 0) REprintf("%s\n", notice); /* said once */
    shmp_error err;
    while (wait_more(shmp_writer_linger(e->writer, next_slice(deadline), SPIN, &err), deadline)) continue;
    if (end_close(e, &err) < 0) shmp_r_raise(&err);
    return R_NilValue;
  }
  end_close(e, NULL);
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
  int64_t deadline = deadline_after(seconds_ns(timeout_arg));
  shmp_error err;
  uint64_t offset = 0;
  int64_t length;
  while (wait_more(length = shmp_reader_next(e->reader, &offset, next_slice(deadline), SPIN, &err), deadline)) continue;
  if (length == shmp_constant("ECLOSED")) return R_NilValue;
  if (length < 0) shmp_r_raise(&err);
  SEXP bytes = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t)length));
  memcpy(RAW(bytes), (const uint8_t *)shmp_segment_base(e->segment) + offset, (size_t)length);
  shmp_reader_release(e->reader, NULL);
  UNPROTECT(1);
  return bytes;
}

SEXP shmp_r_send_bytes(SEXP pointer, SEXP bytes, SEXP timeout_arg) {
  end *e = live_end(pointer, "send");
  if (e->writer == NULL) Rf_error("send_bytes() writes to a writer");
  if (TYPEOF(bytes) != RAWSXP) Rf_error("send_bytes() sends a raw vector");
  int64_t deadline = deadline_after(seconds_ns(timeout_arg));
  shmp_error err;
  int rc;
  while (wait_more(rc = shmp_writer_send(e->writer, RAW(bytes), (uint64_t)XLENGTH(bytes), next_slice(deadline), SPIN, &err),
                   deadline))
    continue;
  if (rc != SHMP_OK) shmp_r_raise(&err);
  return R_NilValue;
}

shmp_writer *shmp_r_live_writer(SEXP pointer, shmp_segment **segment, const char **name) {
  end *e = live_end(pointer, "send");
  if (e->writer == NULL) Rf_error("this is a reader, not a writer");
  *segment = e->segment;
  *name = e->name;
  return e->writer;
}

int64_t shmp_r_claim(shmp_writer *writer, uint64_t size, int64_t timeout_ns, shmp_error *err) {
  int64_t deadline = deadline_after(timeout_ns), offset;
  while (wait_more(offset = shmp_writer_claim(writer, size, next_slice(deadline), SPIN, err), deadline)) continue;
  return offset;
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
