/* What the R glue's files share. R never writes into shared memory: readers
 * map the ring read-only, and vectors that view it copy on a request to
 * write. */
#ifndef SHMPIPE_R_H
#define SHMPIPE_R_H

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>

#include "shmpipe.h"

/* Raises the core's error as an R condition of class shmpipe_error (with
 * code, name, op, segment and the core's sentence); does not return. */
void shmp_r_raise(const shmp_error *err) __attribute__((noreturn));

/* The same for a failure the R glue detects itself, worded by the core. */
void shmp_r_raise_usage(int code, const char *op, const char *segment, const char *detail) __attribute__((noreturn));

/* A named constant of the core (shmp_constant). */
int shmp_r_constant(const char *name);

/* One end of a channel, behind an R external pointer. */
typedef struct end {
  shmp_segment *segment;
  shmp_reader *reader; /* one of reader, writer */
  shmp_writer *writer;
  shmp_arrow_checker *checker; /* a reader's, made at its first read_batch() */
  int owned;           /* this process created the name: close removes it */
  shmp_segment *created; /* the read-write mapping that created it (a reader's own is read-only), or NULL */
  shmp_arrow_sender *sender; /* a writer's: the core's rules of its Arrow stream, made at its first write_batch() */
  char name[SHMP_NAME_MAX + 1];
} end;

/* The end behind an R object, or an R error if it was closed. */
end *live_end(SEXP pointer, const char *op);

/* Waits: a timeout in seconds (Inf: none; NULL: the core's default) as ns (-1), the clock, and the
 * limit of the next slice of a wait (Ctrl-C is seen between slices). */
int64_t seconds_ns(SEXP seconds);
int64_t now_ns(void);
int64_t next_slice(int64_t deadline);
int64_t deadline_after(int64_t timeout_ns); /* -1 (none) for a timeout of -1 */

/* After one slice of a wait returned `rc`: 1 if it timed out with time
 * left before `deadline` (Ctrl-C is checked, and ends the wait there),
 * else 0: `rc` is the outcome. Every wait of the package loops on it. */
int wait_more(int64_t rc, int64_t deadline);

/* The writer behind an R object (an R error if it was closed), with its
 * segment and channel name. */
shmp_writer *shmp_r_live_writer(SEXP pointer, shmp_segment **segment, const char **name);

/* Claims `size` bytes, waiting up to `timeout_ns` (-1: for ever) in slices
 * between which Ctrl-C is seen; the offset, or the failure in `err`. */
int64_t shmp_r_claim(shmp_writer *writer, uint64_t size, int64_t timeout_ns, shmp_error *err);

/* The core's signal policy for the names this process created (the core
 * records them at create), set up at the first create. */
void shmp_r_unlink_on_signals(void);

/* The core's spin count before a wait sleeps. */
#define SPIN ((uint32_t)shmp_constant("DEFAULT_SPIN"))

/* Columns that view shared memory (altrep.c: doubles and integers;
 * altstring.c: strings). Each is an ALTREP vector whose data1 is an
 * external pointer to a struct that starts with its kind, and whose prot
 * is the lease it keeps alive. `where`: the column's place in a published
 * table (serialized instead of the values), or R_NilValue. */
enum { SHMP_R_VIEW_NUMERIC = 1, SHMP_R_VIEW_STRINGS = 2 };
/* guard: an int32 column whose values may hold -2147483648 (R's NA_integer_)
 * as a value, which R's reads then look for (altrep.c); column, segment and
 * op name the column in that error. */
SEXP shmp_r_view(int real, const void *values, const uint8_t *validity, R_xlen_t length, int guard, const char *column,
                 const char *segment, const char *op, SEXP lease, SEXP where);
SEXP shmp_r_strings(const uint8_t *offsets, const uint8_t *data, uint64_t data_length, const uint8_t *validity,
                    R_xlen_t length, int wide, const char *column, const char *segment, SEXP lease, SEXP where);
/* String i of an Arrow utf8/large_utf8 column, bounds and NUL checked (an
 * EARROW shmpipe_error naming the column otherwise). */
SEXP shmp_r_arrow_string(const uint8_t *offsets, const uint8_t *data, uint64_t data_length, int wide, R_xlen_t i,
                         const char *column, const char *segment);
SEXP shmp_r_view_pointer(SEXP x);             /* the external pointer (to reference weakly) */
SEXP shmp_r_view_lease(SEXP x);               /* the lease a view keeps, or R_NilValue */
int shmp_r_is_view(SEXP x);                   /* a view still reading shared memory */
void shmp_r_materialize_view(SEXP pointer);   /* copies what it views: the record may go */
double shmp_r_view_bytes(SEXP pointer);       /* the bytes a numeric view still reads in shared memory */
/* The first of rows [from, from + n) of an int32 column that holds
 * -2147483648 (R's NA_integer_) as a value, not a null, or -1. `values`:
 * row from's; `validity`: the column's bits (NULL: no nulls). */
R_xlen_t shmp_r_int_min_row(const int *values, const uint8_t *validity, R_xlen_t from, R_xlen_t n);
void shmp_r_materialize_strings(SEXP pointer);
int shmp_r_is_strings(SEXP x);
int shmp_r_strings_shared(SEXP x);
/* A column serialized by name, back with the attributes it was sent with
 * (R's UnserializeEX method), of R type `type`, or of a view's class. */
SEXP shmp_r_unserialize_column(int type, SEXP state, SEXP attr, int objf, int levs);
SEXP shmp_r_view_unserialize(SEXP class, SEXP state, SEXP attr, int objf, int levs);
/* A converted column of a published table (altconverted.c): `vector` in a
 * wrapper that serializes as `where`; lists are returned as they are. */
SEXP shmp_r_converted(SEXP vector, SEXP where);
SEXP shmp_r_gone_column(int type, SEXP state, SEXP why); /* its stand-in when its table cannot be opened */

/* Converting columns of any type (convert.c): a checked batch, the
 * dictionaries its columns use (an environment by id), where errors are
 * told, and whether int64 always becomes integer64 (options(shmpipe.int64)). */
typedef struct shmp_r_batch {
  const shmp_arrow_checker *checker;
  const uint8_t *record;
  SEXP dictionaries;
  const char *segment;
  const char *op;
  int int64_as_integer64;
  int int32_checked; /* options(shmpipe.int32 = "checked"): int32 columns are scanned when read */
} shmp_r_batch;

/* Rows [from, from + count) of node `node` as an R vector; `path` names
 * the column in errors ("a.b" for field b of column a). */
SEXP shmp_r_convert(const shmp_r_batch *b, uint32_t node, int64_t from, int64_t count, const char *path);
uint32_t shmp_r_top_node(const shmp_r_batch *b, uint32_t column);
int shmp_r_string_type(uint32_t type); /* utf8, large_utf8, utf8_view: a dictionary of them makes factors */

/* Dictionary `id` as kept: a factor's levels (a character vector), other
 * values wrapped as list(values) of class shmpipe_values, or the reason
 * it was refused (class shmpipe_refused); R_NilValue if none arrived. */
SEXP shmp_r_dictionary(SEXP dictionaries, int64_t id);
/* A new schema: every dictionary goes. */
void shmp_r_forget_dictionaries(SEXP dictionaries);

/* Reading batches (read.c): a lease on a record that views keep alive
 * (reader: an end's external pointer, or R_NilValue for a published
 * table), a checked batch as a data.frame, a dictionary batch kept as a
 * factor's levels (dictionaries: an environment by id). */
SEXP shmp_r_new_lease(SEXP reader, uint64_t lease_id, shmp_segment *segment);
void shmp_r_release_lease(SEXP lease_ptr);
SEXP shmp_r_batch_frame(shmp_arrow_checker *checker, const uint8_t *record, SEXP lease_ptr, SEXP dictionaries,
                        const char *segment, SEXP origin, int convert, int *viewed);
/* convert: 0, every column; k > 0, of the columns R converts (not views)
 * only column k (the others are NULL); -1, none of them. */
SEXP shmp_r_release_lease_copying(SEXP lease_ptr); /* views copy what they show, then the record goes back */
SEXP shmp_r_batch_lease(SEXP frame);               /* the lease of a batch's views, or R_NilValue */
int shmp_r_lease_held(SEXP lease_ptr);
void shmp_r_track_lease(SEXP reader_pointer, SEXP lease_ptr); /* close() of the reader releases it (channel.c) */
void shmp_r_take_dictionary(shmp_arrow_checker *checker, const uint8_t *record, SEXP dictionaries, const char *segment,
                            const char *op);

/* Writing data.frames (write.c): the columns described for the core's
 * encoder (R's transient memory; an R error names a column R cannot
 * write), sent as messages (the schema first if asked), and the ring
 * bytes those messages take with the schema. */
shmp_column *shmp_r_describe_frame(SEXP frame, const char *op, const char *segment, uint32_t *count, int64_t *rows);
int shmp_r_send_frame(shmp_writer *writer, shmp_arrow_sender *sender, shmp_segment *segment,
                      const shmp_column *columns, uint32_t count, int64_t rows, int with_schema, int64_t timeout_ns,
                      shmp_error *err);
int64_t shmp_r_frame_footprint(const shmp_column *columns, uint32_t count, int64_t rows, shmp_error *err);

#endif
