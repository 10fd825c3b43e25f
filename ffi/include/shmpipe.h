/*
 * shmpipe C core: the one implementation of the shmpipe channel protocol.
 *
 * The core never maps or unmaps shared memory on its own initiative: every
 * binding maps the segment (shm_open + mmap) and hands the core a pointer and
 * a length. The core formats and validates the segment header, runs the
 * record ring (claim -> fill -> commit on the writer side, peek -> use ->
 * release on the reader side), waits with futexes and checks peer liveness.
 * The byte layout is specified in docs/PROTOCOL.md.
 *
 * Errors: every function that can fail returns a negative code: -errno for
 * system errors, or one of the SHMP_E_* codes below. shmp_error_name() and
 * shmp_error_message() name every code, so all bindings report alike.
 *
 * Threads: an endpoint (writer or reader) is used by one thread at a time.
 * Different endpoints may live in different processes or threads.
 */
#ifndef SHMPIPE_H
#define SHMPIPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMP_MAGIC UINT64_C(0x3145504950484d53) /* "SHMPIPE1" little-endian */
#define SHMP_ABI_VERSION 2u
#define SHMP_HEADER_SIZE 4096u  /* the data ring starts one page in */
#define SHMP_ALIGN 64u          /* record headers and payloads are 64-byte aligned */
#define SHMP_RECORD_HEADER 64u  /* bytes before each payload */
#define SHMP_MIN_CAPACITY 4096u /* smallest data ring */

/* Protocol and usage errors (system errors are -errno, all > -4096). */
enum shmp_error {
  SHMP_OK = 0,
  SHMP_E_BAD_MAGIC = -5001,  /* not a shmpipe segment */
  SHMP_E_ABI = -5002,        /* made by an incompatible shmpipe version */
  SHMP_E_TRUNCATED = -5003,  /* mapping smaller than the header says */
  SHMP_E_CORRUPT = -5004,    /* counters or a record header out of range */
  SHMP_E_PEER_GONE = -5005,  /* the process at the other end died */
  SHMP_E_TIMEOUT = -5006,    /* a wait ran out of time */
  SHMP_E_CLOSED = -5007,     /* the other end closed the channel */
  SHMP_E_TOO_LARGE = -5008,  /* record can never fit in this ring */
  SHMP_E_BUSY = -5009,       /* the role is held by another live process */
  SHMP_E_NOT_READY = -5010,  /* segment created but not yet formatted */
  SHMP_E_AGAIN = -5011,      /* nothing to read right now (non-blocking) */
  SHMP_E_STATE = -5012,      /* call out of order (commit without claim...) */
  SHMP_E_INVALID = -5013,    /* bad argument */
  SHMP_E_ARROW = -5014,      /* a record is not a valid Arrow IPC message */
};

/* Stable name ("ETIMEOUT", "ENOENT", ...) and one-sentence description. */
const char *shmp_error_name(int code);
const char *shmp_error_message(int code);
/* What to do about it, for the codes where that is clear; else NULL. */
const char *shmp_error_hint(int code);

/* ---- Segments ---------------------------------------------------------- */

/* Bytes to map for a ring of `capacity` bytes (capacity: multiple of 4096). */
uint64_t shmp_segment_size(uint64_t capacity);

/* Format a freshly created, zero-filled mapping as an empty channel.
 * The magic is stored last with release order, so an opener that sees it
 * sees the whole header. `size` is the mapping length. */
int shmp_segment_format(void *base, uint64_t size);

/* Check the header of a mapping of `size` bytes: magic, ABI version, sizes
 * against the mapping, counters in range. Returns 0 or an error. */
int shmp_segment_check(const void *base, uint64_t size);

/* Creator pid recorded in the header (0 if the header is not valid). */
uint32_t shmp_segment_creator_pid(const void *base, uint64_t size);

/* Data ring capacity and largest payload one record can carry. */
uint64_t shmp_segment_capacity(const void *base);
uint64_t shmp_max_payload(uint64_t capacity);

/* ---- Endpoints ---------------------------------------------------------- */

typedef struct shmp_writer shmp_writer;
typedef struct shmp_reader shmp_reader;

/* Attach as the writer / reader of a checked segment. Fails with
 * SHMP_E_BUSY if a live process holds the role; a dead holder's role is
 * taken over. On failure *err receives the code and NULL is returned. */
shmp_writer *shmp_writer_attach(void *base, uint64_t size, int32_t *err);
shmp_reader *shmp_reader_attach(void *base, uint64_t size, int32_t *err);

/* Mark the role closed (the peer sees end-of-stream / SHMP_E_CLOSED), wake
 * every waiter and free the endpoint. Never touches the mapping afterwards. */
void shmp_writer_close(shmp_writer *w);
void shmp_reader_close(shmp_reader *r);

/* ---- Published tables ---------------------------------------------------
 *
 * A table is a channel written once and sealed: seal() ends the stream like
 * close() and also marks the segment SEALED. Any number of processes then
 * read it at once with their own private position; nothing they do writes
 * to the segment, and every record stays where it is. */

/* Close the writer role and mark the segment a complete, sealed table. */
void shmp_writer_seal(shmp_writer *w);

/* A reader of a sealed table: peek/release walk the records privately;
 * peek returns SHMP_E_CLOSED after the last one. SHMP_E_NOT_READY until
 * the writer sealed it. Free it with shmp_reader_close(). */
shmp_reader *shmp_table_open(void *base, uint64_t size, int32_t *err);

/* Wake this endpoint's own waiter (another thread blocked in a wait call on
 * it) without closing; that wait then returns SHMP_E_AGAIN early. */
void shmp_writer_interrupt(shmp_writer *w);
void shmp_reader_interrupt(shmp_reader *r);

/* ---- Writing ------------------------------------------------------------ */

/* Reserve room for a payload of up to `len` bytes, waiting up to
 * `timeout_ns` (negative: forever) for the reader to free space; `spin`
 * polls that many times before sleeping. Returns the payload's byte offset
 * from the mapping base (64-byte aligned), or an error. */
int64_t shmp_writer_claim(shmp_writer *w, uint64_t len, int64_t timeout_ns, uint32_t spin);

/* Publish the claimed record with `len` (<= claimed) payload bytes. */
int shmp_writer_commit(shmp_writer *w, uint64_t len);

/* Abandon the current claim; nothing is published. */
int shmp_writer_abort(shmp_writer *w);

/* claim + memcpy + commit in one call. */
int shmp_writer_send(shmp_writer *w, const void *data, uint64_t len, int64_t timeout_ns,
                     uint32_t spin);

/* ---- Reading ------------------------------------------------------------ */

/* Non-blocking: look at the next record. Returns its payload length and
 * stores its payload offset (from the mapping base) in *offset; the same
 * record is returned until shmp_reader_release(). SHMP_E_AGAIN if none is
 * committed yet, SHMP_E_CLOSED once the writer closed and all records are
 * read, SHMP_E_CORRUPT if the record header does not fit the ring. */
int64_t shmp_reader_peek(shmp_reader *r, uint64_t *offset);

/* Payload offset (from the mapping base) of the record peek handed out;
 * for bindings that cannot keep a stable out-parameter. */
uint64_t shmp_reader_offset(const shmp_reader *r);

/* Give the current record's space back to the writer. */
int shmp_reader_release(shmp_reader *r);

/* Wait until a record is readable (0), the writer closed and all is read
 * (SHMP_E_CLOSED), the writer died (SHMP_E_PEER_GONE), the time ran out
 * (SHMP_E_TIMEOUT) or shmp_reader_interrupt() was called (SHMP_E_AGAIN). */
int shmp_reader_wait(shmp_reader *r, int64_t timeout_ns, uint32_t spin);

/* peek, waiting as shmp_reader_wait() does when nothing is there. */
int64_t shmp_reader_next(shmp_reader *r, uint64_t *offset, int64_t timeout_ns, uint32_t spin);

/* ---- Mappings shared with garbage-collected views ----------------------- */

/* A reference count around a mapping a binding made with mmap. The last
 * shmp_mapping_unref() calls munmap. Bindings whose views are freed by a
 * garbage collector give shmp_view_deallocator as the free callback and the
 * mapping as its context, taking one reference per view. */
typedef struct shmp_mapping shmp_mapping;
shmp_mapping *shmp_mapping_new(void *base, uint64_t size);
void shmp_mapping_ref(shmp_mapping *m);
void shmp_mapping_unref(shmp_mapping *m);
uint32_t shmp_mapping_refs(const shmp_mapping *m);
void shmp_view_deallocator(void *bytes, void *mapping);

/* ---- Arrow IPC messages --------------------------------------------------
 *
 * A record may carry one Arrow IPC encapsulated message: 0xFFFFFFFF, an
 * int32 metadata length (a multiple of 8), the flatbuffer Message, then the
 * body. Every binding checks a message with these functions before its Arrow
 * library reads it: framing, every flatbuffer access, every buffer inside
 * the body and 8-byte aligned, buffer lengths against the declared lengths,
 * node and buffer counts against the schema. The body itself is not read, so
 * the cost does not grow with the data. On failure the functions return
 * SHMP_E_ARROW (or -ENOMEM) and write a sentence into `why` (`why_len` bytes,
 * NUL-terminated; `why` may be NULL). */

enum shmp_arrow_kind { SHMP_ARROW_SCHEMA = 1, SHMP_ARROW_DICTIONARY = 2, SHMP_ARROW_RECORD_BATCH = 3 };

/* A parsed schema, against which dictionaries and record batches are checked. */
typedef struct shmp_arrow_schema shmp_arrow_schema;

/* Bytes before the body (8 + metadata length), or SHMP_E_ARROW if the
 * framing is wrong. Reads only the first 8 bytes (`record` may be NULL when
 * `len` is 0). Lets a binding copy the metadata out of shared memory and
 * check that private copy, so a peer cannot change it after the check. */
int64_t shmp_arrow_prefix_length(const void *record, uint64_t len, char *why, uint64_t why_len);

/* Checks a message whose first `prefix_len` bytes (framing plus metadata)
 * are at `prefix`, followed by `body_room` bytes of record. Schema messages
 * need no schema; the others are checked against `schema`. Returns the
 * message kind (> 0) or an error. */
int shmp_arrow_check_metadata(const shmp_arrow_schema *schema, const void *prefix, uint64_t prefix_len,
                              uint64_t body_room, char *why, uint64_t why_len);

/* The same for a whole record of `len` bytes checked where it lies. */
int shmp_arrow_check(const shmp_arrow_schema *schema, const void *record, uint64_t len, char *why,
                     uint64_t why_len);

/* The body length a message's metadata declares (check the message first). */
int64_t shmp_arrow_body_length(const void *prefix, uint64_t prefix_len);

/* Parses a schema message's prefix into a new schema (free it with
 * shmp_arrow_schema_free). On failure NULL, with the code in *err. */
shmp_arrow_schema *shmp_arrow_schema_read(const void *prefix, uint64_t prefix_len, int32_t *err, char *why,
                                          uint64_t why_len);
void shmp_arrow_schema_free(shmp_arrow_schema *schema);

/* Number of top-level columns. */
uint32_t shmp_arrow_schema_columns(const shmp_arrow_schema *schema);

/* ---- Liveness ------------------------------------------------------------ */

/* 1 if the process `pid` with start-time tag `start_tag` is alive (not a
 * zombie), 0 if not. The tag survives pid reuse; see docs/PROTOCOL.md. */
int shmp_process_alive(uint32_t pid, uint32_t start_tag);
uint32_t shmp_process_start_tag(uint32_t pid);

#ifdef __cplusplus
}
#endif
#endif
