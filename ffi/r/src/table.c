/* Published tables from R: publish_table() writes a data.frame once into a
 * new segment and seals it; open_table() maps a sealed table (from any
 * language) read-only and gives its batches as data.frames whose float64
 * and int32 columns are the table's memory. Those columns serialize by
 * name (altrep.c), which is how PSOCK workers get a table without a copy.
 *
 * The publisher owns the name: close() or the end of the R session removes
 * it (a persistent table keeps it until shm_unlink()/unpublish from any
 * process); processes that opened the table keep their mapping. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shmpipe_r.h"

typedef struct publication {
  shmp_segment *segment;
  int persistent;
  char name[SHMP_NAME_MAX + 1];
} publication;

static void publication_close(publication *p) {
  if (p == NULL || p->segment == NULL) return;
  if (!p->persistent) shmp_owned_unlink(p->name, NULL); /* only while still this process's (not a forked child's copy) */
  shmp_segment_unref(p->segment);
  p->segment = NULL;
}

static void publication_finalize(SEXP pointer) {
  publication *p = R_ExternalPtrAddr(pointer);
  publication_close(p);
  free(p);
  R_ClearExternalPtr(pointer);
}

static const char *name_arg(SEXP x) {
  if (!Rf_isString(x) || Rf_length(x) != 1 || STRING_ELT(x, 0) == NA_STRING) Rf_error("name must be one string");
  return CHAR(STRING_ELT(x, 0));
}

SEXP shmp_r_publish_table(SEXP name_arg_, SEXP frame, SEXP persistent_arg) {
  const char *name = name_arg(name_arg_);
  uint32_t count;
  int64_t rows;
  shmp_column *columns = shmp_r_describe_frame(frame, "publish", name, &count, &rows);
  shmp_error err;
  int64_t footprint = shmp_r_frame_footprint(columns, count, rows, &err);
  if (footprint < 0) shmp_r_raise(&err);
  publication *p = calloc(1, sizeof *p);
  if (p == NULL) Rf_error("out of memory");
  snprintf(p->name, sizeof p->name, "%s", name);
  /* The finalizer is in place before the name exists: whatever happens
   * next (an error, Ctrl-C), the name goes with it. */
  SEXP pointer = PROTECT(R_MakeExternalPtr(p, R_NilValue, R_NilValue));
  R_RegisterCFinalizerEx(pointer, publication_finalize, TRUE);
  p->segment = shmp_table_create(name, (uint64_t)footprint, 0600, &err);
  if (p->segment == NULL) shmp_r_raise(&err);
  shmp_r_unlink_on_signals(); /* the core recorded the name as this process's */
  shmp_writer *writer = shmp_writer_attach(p->segment, &err);
  if (writer == NULL) shmp_r_raise(&err);
  shmp_arrow_sender *sender = shmp_arrow_sender_new(writer, "publish", 1, &err);
  int rc = sender == NULL ? err.code : shmp_r_send_frame(writer, sender, p->segment, columns, count, rows, 1, 0, &err);
  shmp_arrow_sender_free(sender);
  if (rc != 0) {
    shmp_writer_close(writer);
    shmp_r_raise(&err);
  }
  p->persistent = Rf_asLogical(persistent_arg) == TRUE;
  if (p->persistent) shmp_owned_forget(name); /* it outlives this session */
  if (p->persistent) shmp_writer_seal_persistent(writer);
  else shmp_writer_seal(writer);
  UNPROTECT(1);
  return pointer;
}

SEXP shmp_r_close_publication(SEXP pointer) {
  publication_close(TYPEOF(pointer) == EXTPTRSXP ? R_ExternalPtrAddr(pointer) : NULL);
  return R_NilValue;
}

SEXP shmp_r_publication_open(SEXP pointer) {
  publication *p = TYPEOF(pointer) == EXTPTRSXP ? R_ExternalPtrAddr(pointer) : NULL;
  return Rf_ScalarLogical(p != NULL && p->segment != NULL);
}

typedef struct opening {
  shmp_segment *segment;
  shmp_reader *reader;
  shmp_arrow_checker *checker;
} opening;

/* What open_table() holds while it reads: closed by close_opening(), also
 * when an error or Ctrl-C ends the read (R_ExecWithCleanup). */
static void close_opening(void *data) {
  opening *o = data;
  if (o->checker) shmp_arrow_checker_free(o->checker);
  if (o->reader) shmp_reader_close(o->reader);
  if (o->segment) shmp_segment_unref(o->segment);
  *o = (opening){0};
}

typedef struct reading {
  opening *o;
  const char *name;
  SEXP dictionaries;
  double inode;
  int only_batch, only_column; /* 0: convert every column; else only this one (others NULL) */
} reading;

/* The inode of the file behind `name`, -1 if none. It tells two
 * publications of one name apart (tmpfs gives each new file its own). */
static double inode_of(const char *name) {
  char path[SHMP_NAME_MAX + 32] = SHMP_SHM_DIR; /* where the core's shm names live */
  size_t dir = strlen(path);
  struct stat st;
  if (shmp_shm_name(name, "open", path + dir, sizeof path - dir, NULL) != SHMP_OK || stat(path, &st) != 0) return -1;
  return (double)st.st_ino;
}

/* The table's batches: a list of data.frames, with attribute "token". */
static SEXP read_table(void *data) {
  reading *r = data;
  opening *o = r->o;
  shmp_error err;
  SEXP token = PROTECT(Rf_allocVector(REALSXP, 3));
  REAL(token)[0] = shmp_segment_creator_pid(o->segment);
  REAL(token)[1] = (double)shmp_segment_capacity(o->segment);
  REAL(token)[2] = r->inode;
  char token_key[96]; /* as token_key() in R/table.R writes it */
  snprintf(token_key, sizeof token_key, "%.0f:%.0f:%.0f", REAL(token)[0], REAL(token)[1], REAL(token)[2]);
  SEXP batches = PROTECT(Rf_allocVector(VECSXP, 0));
  R_xlen_t count = 0;
  for (;;) {
    uint64_t offset = 0;
    int64_t length = shmp_reader_peek(o->reader, &offset, &err);
    if (length == shmp_constant("ECLOSED")) break;
    if (length < 0) shmp_r_raise(&err);
    const uint8_t *record = (const uint8_t *)shmp_segment_base(o->segment) + offset;
    int kind = shmp_arrow_checker_check(o->checker, record, (uint64_t)length, &err);
    if (kind < 0) shmp_r_raise(&err);
    if (kind == SHMP_ARROW_SCHEMA) shmp_r_forget_dictionaries(r->dictionaries);
    if (kind == SHMP_ARROW_DICTIONARY) shmp_r_take_dictionary(o->checker, record, r->dictionaries, r->name, "open");
    if (kind == SHMP_ARROW_RECORD_BATCH) {
      /* The name and the token as symbols: serialize() writes a symbol
       * once and refers to it after, so a table's name goes once with its
       * columns, not once per column (shared_column() in R/table.R). */
      SEXP origin = PROTECT(Rf_allocVector(VECSXP, 3));
      SET_VECTOR_ELT(origin, 0, Rf_install(r->name));
      SET_VECTOR_ELT(origin, 1, Rf_ScalarInteger((int)count + 1));
      SET_VECTOR_ELT(origin, 2, Rf_install(token_key));
      /* A lease of its own for each batch (a hold on the mapping): release_batch()
       * of one batch copies its views, and the others keep the mapping. */
      SEXP lease_ptr = PROTECT(shmp_r_new_lease(R_NilValue, 0, o->segment));
      int viewed = 0;
      int convert = r->only_batch == 0 ? 0 : r->only_batch == (int)count + 1 ? r->only_column : -1;
      SEXP frame = PROTECT(shmp_r_batch_frame(o->checker, record, lease_ptr, r->dictionaries, r->name, origin, convert, &viewed));
      SEXP longer = PROTECT(Rf_lengthgets(batches, count + 1));
      SET_VECTOR_ELT(longer, count++, frame);
      UNPROTECT(5);
      batches = longer;
      PROTECT(batches);
    }
    if (shmp_reader_release(o->reader, &err) != SHMP_OK) shmp_r_raise(&err);
  }
  Rf_setAttrib(batches, Rf_install("token"), token);
  UNPROTECT(2);
  return batches;
}

/* only: NULL, or c(batch, column): of the columns R converts, only that
 * one is (the others are NULL), for a process that unserialized it
 * (shared_column() in R/table.R); views cost nothing and are all made. */
SEXP shmp_r_open_table(SEXP name_arg_, SEXP wait_arg, SEXP ready_arg, SEXP dictionaries, SEXP only) {
  const char *name = name_arg(name_arg_);
  int64_t wait = seconds_ns(wait_arg), ready = ready_arg == R_NilValue ? shmp_constant("DEFAULT_READY_TIMEOUT_NS") : seconds_ns(ready_arg);
  shmp_error err;
  opening o = {0};
  double inode = inode_of(name);
  /* R never writes into shared memory: the table is mapped read-only. */
  uint32_t flags = SHMP_OPEN_READ_ONLY_DATA | SHMP_OPEN_TABLE | (wait != 0 ? SHMP_OPEN_WAIT_FOR_NAME : 0);
  o.segment = shmp_segment_open(name, flags, wait != 0 ? wait : ready, &err);
  if (o.segment == NULL) shmp_r_raise(&err);
  if ((o.reader = shmp_table_open(o.segment, ready, &err)) == NULL ||
      (o.checker = shmp_arrow_checker_new(name, "open", &err)) == NULL) {
    close_opening(&o);
    shmp_r_raise(&err);
  }
  /* Identifies this publication of the name (with its creator and
   * capacity), so that a view serialized by name refuses to come back as
   * another table published under that name. Read before and after the
   * open: if the name was replaced in between, the mapping may be either
   * file, and the token matches neither. */
  if (inode_of(name) != inode) inode = -2;
  reading r = {&o, name, dictionaries, inode, 0, 0};
  if (TYPEOF(only) == INTSXP && XLENGTH(only) == 2) {
    r.only_batch = INTEGER(only)[0];
    r.only_column = INTEGER(only)[1];
  }
  return R_ExecWithCleanup(read_table, &r, close_opening, &o);
}

SEXP shmp_r_unpublish(SEXP name_arg_) {
  shmp_error err;
  if (shmp_table_unpublish(name_arg(name_arg_), 0, &err) != SHMP_OK) shmp_r_raise(&err);
  return R_NilValue;
}
