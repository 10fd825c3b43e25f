/*
 * shmpipe C core: the one implementation of the shmpipe protocol and of
 * every rule around it, for every language binding.
 *
 * It owns: segment names and sizes, creating and opening segments in
 * /dev/shm (owner check, the wait for a segment still being set up), the
 * header format and its checks, the record ring (claim -> fill -> commit on
 * the writer side, peek -> use -> release on the reader side), futex waits,
 * peer liveness, the Arrow message check, and the sentence of every error.
 * The byte layout is specified in docs/PROTOCOL.md.
 *
 * Two ways to get a segment:
 *   - shmp_segment_create() / shmp_segment_open(): the core makes the
 *     system calls (shm_open, posix_fallocate, fstat, mmap). Python, Go and
 *     R use these.
 *   - A binding that maps segments itself (TypeScript, through libc) asks
 *     the core for each decision: shmp_shm_name(), shmp_create_size(),
 *     shmp_syscall_failed() for the sentence of a failed call, then hands
 *     the mapping over with shmp_segment_format() or shmp_segment_adopt().
 * Either way the result is a reference-counted shmp_segment; the last
 * shmp_segment_unref() unmaps it (views in garbage-collected languages each
 * hold a reference, dropped by shmp_view_deallocator()).
 *
 * Errors: a function that can fail returns a negative code (-errno for
 * system errors, SHMP_E_* for the core's own) and, when given a non-NULL
 * shmp_error, fills it with the code, the operation, the segment and one
 * full sentence for the user. Bindings raise that sentence as it is.
 *
 * Threads: an endpoint (writer or reader) is used by one thread at a time,
 * except for shmp_*_interrupt(), which any thread may call. Segments'
 * reference counts are thread-safe. Endpoints in different processes or
 * threads share a segment freely.
 */
#ifndef SHMPIPE_H
#define SHMPIPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library: bindings check shmp_abi() when they load it. SHMP_ABI
 * changes whenever a binding written against one build would misbehave with
 * another; it is also the soname's number (libshmpipe.so.1). */
#define SHMP_VERSION "0.2.0"
#define SHMP_ABI 1u
const char *shmp_version(void);
uint32_t shmp_abi(void);

/* The segment format (stored in each segment's header). */
#define SHMP_MAGIC UINT64_C(0x3145504950484d53) /* "SHMPIPE1" little-endian */
#define SHMP_FORMAT_VERSION 2u
#define SHMP_HEADER_SIZE 4096u  /* the data ring starts one page in */
#define SHMP_ALIGN 64u          /* record headers and payloads are 64-byte aligned */
#define SHMP_RECORD_HEADER 64u  /* bytes before each payload */
#define SHMP_PAGE 4096u         /* capacities are rounded up to whole pages */
#define SHMP_NAME_MAX 200u      /* longest channel name */
#define SHMP_NAME_PREFIX "shmpipe." /* /dev/shm/shmpipe.<name> */
#define SHMP_SHM_DIR "/dev/shm"     /* where glibc's shm_open keeps the objects */
#define SHMP_DEFAULT_CAPACITY (16u << 20) /* ring bytes when a binding's user names none */
#define SHMP_DEFAULT_SPIN 256u            /* polls before a wait sleeps */
#define SHMP_DEFAULT_BATCH_RECORDS 256u   /* records a batch receive takes when a binding's user names no limit */
#define SHMP_COPY_BELOW 512u /* a binding hands out records shorter than this as copies, their space given back at once */
#define SHMP_DEFAULT_TIMEOUT_NS INT64_C(30000000000) /* a send or receive waits 30 s */
#define SHMP_DEFAULT_READY_TIMEOUT_NS INT64_C(2000000000) /* an open waits 2 s for a creator still at work */

/* Protocol and usage errors (system errors are -errno, all > -4096). */
enum shmp_code {
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
  SHMP_E_UNREAD = -5015,     /* a close lost records no reader ever read */
  SHMP_E_TYPE = -5016,       /* since 0.3: a valid Arrow message holds a column (its type,
                                or a value) a binding cannot give its language */
};

/* ---- Errors ---------------------------------------------------------------
 *
 * Caller-owned; the core writes it only when a call fails. The layout is
 * part of the ABI (bindings without C structs read it at these offsets). */
#define SHMP_ERROR_OP_MAX 16u
#define SHMP_ERROR_SEGMENT_MAX 256u
#define SHMP_ERROR_MESSAGE_MAX 512u
typedef struct shmp_error {
  int32_t code;                          /* offset 0: 0, -errno or SHMP_E_* */
  char op[SHMP_ERROR_OP_MAX];            /* offset 4: "create", "recv", ... */
  char segment[SHMP_ERROR_SEGMENT_MAX];  /* offset 20: the channel's name */
  char message[SHMP_ERROR_MESSAGE_MAX];  /* offset 276: the full sentence */
} shmp_error;

/* Stable name of a code: "ETIMEOUT", "ENOENT", ... ("EUNKNOWN" if none). */
const char *shmp_error_name(int code);

/* Fills `err` for a failure a binding detects itself (a closed handle, a
 * misuse of its own API), worded like the core's: `detail` (may be NULL)
 * says what happened, the core adds the code's sentence and hint. Returns
 * `code`. */
int shmp_error_set(shmp_error *err, int code, const char *op, const char *segment, const char *detail);

/* The value of a named constant, so bindings hold no copies of numbers:
 * error codes by name ("ETIMEOUT", "ECLOSED", ... as shmp_error_name gives
 * them), and "ARROW_SCHEMA", "ARROW_DICTIONARY", "ARROW_RECORD_BATCH",
 * "NAME_MAX", "MAX_READERS", "ERROR_SIZE", "DEFAULT_CAPACITY", "DEFAULT_SPIN", "DEFAULT_BATCH_RECORDS", "COPY_BELOW",
 * "DEFAULT_TIMEOUT_NS", "DEFAULT_READY_TIMEOUT_NS", "OPEN_ALLOW_OTHER_OWNER",
 * "OPEN_READ_ONLY_DATA", "OPEN_WAIT_FOR_NAME", "OPEN_INSPECT", "OPEN_TABLE", "STAT_SIZE", "KIND_CHANNEL",
 * "KIND_TABLE", "CALL_SHM_OPEN" ... "CALL_SHM_UNLINK", "LAYOUT_KIND" ...
 * "LAYOUT_HEADER" (enum shmp_arrow_layout), and "HEADER_HEAD_OFFSET": where
 * in a segment the ring's head lies, a uint64 that grows with every commit,
 * for a binding that polls it with an atomic load of its own between calls
 * into the core (shmp_reader_try_take says which value means nothing new).
 * INT64_MIN if unknown. */
int64_t shmp_constant(const char *name);

/* ---- Segments ---------------------------------------------------------- */

typedef struct shmp_segment shmp_segment;

/* Open flags. */
#define SHMP_OPEN_ALLOW_OTHER_OWNER 1u /* open a segment another user created */
#define SHMP_OPEN_READ_ONLY_DATA 2u    /* map the data ring PROT_READ; the header
                                          stays writable (a reader's position is there) */
#define SHMP_OPEN_WAIT_FOR_NAME 4u     /* a channel not created yet is waited for,
                                          up to the ready timeout */
#define SHMP_OPEN_INSPECT 8u           /* map the whole segment read-only, to look at
                                          it: attaching as writer or reader is refused
                                          (EINVAL); shmp_segment_stat and shmp_table_open
                                          work. Opens with O_RDONLY. */
#define SHMP_OPEN_TABLE 16u            /* the name is a published table's (open_table):
                                          errors name the operation "open_table" and
                                          a missing name is worded as a table's */

/* Creates /dev/shm/shmpipe.<name> (O_EXCL; `mode` permission bits, 0600 is
 * the private default), reserves `capacity` bytes of ring (rounded up to a
 * whole page) plus the header with posix_fallocate, maps and formats it.
 * On failure nothing is left behind. The caller owns the name: remove it
 * with shmp_unlink() when done. */
shmp_segment *shmp_segment_create(const char *name, uint64_t capacity, uint32_t mode, shmp_error *err);

/* shmp_segment_create() for a table about to be published (since
 * SHMPIPE_1.2): the segment also keeps its file open until its writer
 * seals it (or it is unmapped), so that shmp_segment_write() and the
 * *_into encoders copy through the file, which tmpfs does faster than a
 * first write through the mapping (no page fault per 4 KiB page). */
shmp_segment *shmp_table_create(const char *name, uint64_t capacity, uint32_t mode, shmp_error *err);

/* Opens an existing segment: refuses one owned by another user unless
 * SHMP_OPEN_ALLOW_OTHER_OWNER, waits up to `ready_timeout_ns` (negative:
 * for ever) for a creator that has not finished setting it up (and, with
 * SHMP_OPEN_WAIT_FOR_NAME, for one that has not created it yet), checks the
 * header. A signal (shmp_interrupt_waits_on_signals) ends the wait. */
shmp_segment *shmp_segment_open(const char *name, uint32_t flags, int64_t ready_timeout_ns, shmp_error *err);

/* Removes the name (mappings stay valid) and forgets it as this
 * process's (shmp_owned_forget). */
int shmp_unlink(const char *name, shmp_error *err);

/* ---- Names this process owns (since SHMPIPE_1.1) ---------------------------
 *
 * One registry of the names a process created and answers for, and one
 * signal policy around it, for every binding. shmp_segment_create() and
 * shmp_segment_format() record the name; shmp_unlink() forgets it. Every
 * entry carries the pid that recorded it: a forked child inherits the
 * registry but never removes its parent's names. */

/* Records `name` as this process's to remove (a name it answers for
 * without having created it, such as a pipeline's tables). */
int shmp_owned_add(const char *name, shmp_error *err);

/* Forgets `name` without removing it: the name is to outlive this process
 * (a persistent table), or the binding removed it itself. */
void shmp_owned_forget(const char *name);

/* What a creating end's close does with its name: removes it if this
 * process still owns it (returns 1; a name already gone counts), else
 * leaves it alone (returns 0: unpublished, forgotten, or owned by the
 * parent of this forked child — a segment under the name now is another's
 * business). A negative code if the removal failed. */
int shmp_owned_unlink(const char *name, shmp_error *err);

/* How many names this process owns now. */
int shmp_owned_count(void);

/* Removes every name this process owns (never those a parent owned before
 * a fork) and forgets them; returns how many were removed. Bindings call it
 * from their language's exit hook. Async-signal-safe (unlink(2) of the
 * /dev/shm path, no locks). */
int shmp_owned_unlink_all(void);

/* The signal policy: for each of SIGINT, SIGTERM and SIGHUP whose action
 * is still the default, a handler that removes this process's names, then
 * lets the signal take its default course (the process ends by it). A
 * signal the program (or its runtime) handles or ignores is left alone:
 * the program decides when it ends, and its exit path removes the names. A
 * handler installed later replaces this one. Returns how many of the three
 * signals carry the policy, or -errno. */
int shmp_owned_unlink_on_signals(void);

/* -- For bindings that make the system calls themselves -- */

/* Checks `name` (1-SHMP_NAME_MAX letters, digits, '.', '_', '-', not
 * starting with '.' or '-') and writes the shm_open name "/shmpipe.<name>"
 * into `out` (out_len >= SHMP_NAME_MAX + 10). */
int shmp_shm_name(const char *name, const char *op, char *out, uint64_t out_len, shmp_error *err);

/* Checks a create request and returns the segment's size in bytes: the
 * header plus `capacity` rounded up to a whole page. */
int64_t shmp_create_size(const char *name, uint64_t capacity, uint32_t mode, shmp_error *err);

/* The system calls a binding makes for a segment, to word their failures. */
enum shmp_call {
  SHMP_CALL_SHM_OPEN = 1,
  SHMP_CALL_FALLOCATE = 2,
  SHMP_CALL_MMAP = 3,
  SHMP_CALL_FSTAT = 4,
  SHMP_CALL_SHM_UNLINK = 5,
};

/* Fills `err` for a failed system call (`errno_value` > 0) on a segment
 * of `size` bytes; returns -errno_value. */
int shmp_syscall_failed(shmp_error *err, const char *op, const char *name, uint32_t call, int errno_value,
                        uint64_t size);

/* shm_open found no segment by that name: SHMP_E_AGAIN if the binding
 * should look again in a millisecond (SHMP_OPEN_WAIT_FOR_NAME, time left),
 * else -ENOENT (or -EINTR) with its sentence. */
int shmp_open_missing(const char *name, uint32_t flags, int64_t waited_ns, int64_t ready_timeout_ns, shmp_error *err);

/* After fstat() of an opened name: SHMP_OK for a regular file, else
 * SHMP_E_BAD_MAGIC saying what it is (a FIFO, a directory, ...). Open the
 * name with O_NONBLOCK: a FIFO would otherwise block the open for ever. */
int shmp_segment_check_file(const char *name, uint32_t st_mode, shmp_error *err);

/* Formats a fresh, zero-filled read-write mapping of shmp_create_size()
 * bytes as an empty channel and takes it over (the segment unmaps it). */
shmp_segment *shmp_segment_format(const char *name, void *base, uint64_t size, shmp_error *err);

/* shmp_segment_format() for a table about to be published (since
 * SHMPIPE_1.3), for a binding that makes the system calls itself: `fd` is
 * the descriptor of the file that `base` maps (shm_open'ed read-write).
 * The segment keeps a descriptor of its own (a duplicate: the caller still
 * closes `fd`) until its writer seals it, so that shmp_segment_write()
 * copies through the file, as for shmp_table_create(). SHMP_E_INVALID if
 * `fd` is not a file of `size` bytes. */
shmp_segment *shmp_table_format(const char *name, void *base, uint64_t size, int fd, shmp_error *err);

/* Takes over the mapping of an existing segment after checking it: the
 * owner (`owner_uid` from fstat), then the header. `base` may be NULL when
 * the object is still empty (size 0). While its creator is still setting it
 * up, returns NULL with SHMP_E_AGAIN if `waited_ns` < `ready_timeout_ns`:
 * unmap, sleep a millisecond, look again. Any other failure leaves the
 * mapping to the caller. */
shmp_segment *shmp_segment_adopt(const char *name, void *base, uint64_t size, uint32_t owner_uid, uint32_t flags,
                                 int64_t waited_ns, int64_t ready_timeout_ns, shmp_error *err);

/* -- Using a segment -- */

void *shmp_segment_base(const shmp_segment *s);
uint64_t shmp_segment_length(const shmp_segment *s); /* bytes mapped */
const char *shmp_segment_name(const shmp_segment *s);
uint64_t shmp_segment_capacity(const shmp_segment *s); /* checked when opened */
uint32_t shmp_segment_creator_pid(const shmp_segment *s);

/* Checks that [offset, offset + length) lies in the mapping before a
 * binding makes a view of it. */
int shmp_segment_range(const shmp_segment *s, uint64_t offset, uint64_t length, const char *op, shmp_error *err);

/* Copies `length` bytes of `data` into `s` at `offset` from the mapping's
 * base (since SHMPIPE_1.2), e.g. into a claimed record: through the file
 * of a table being published (shmp_table_create), else a memcpy. The
 * range is checked; an error says what could not be written. */
int shmp_segment_write(shmp_segment *s, uint64_t offset, const void *data, uint64_t length, shmp_error *err);

/* Maps the record ring of `s` read-only (since SHMPIPE_1.1), for a reader
 * that created its channel (an opening reader asks with
 * SHMP_OPEN_READ_ONLY_DATA): no reader can change what another reads. The
 * header stays writable. Writing into the ring through this mapping then
 * faults; take no writer on it. */
int shmp_segment_protect_records(shmp_segment *s, shmp_error *err);

/* References: each endpoint and each view holds one; the last unref unmaps. */
void shmp_segment_ref(shmp_segment *s);
void shmp_segment_unref(shmp_segment *s);
uint32_t shmp_segment_refs(const shmp_segment *s);

/* A garbage collector's free callback for a view: drops the reference the
 * view held on `segment` (the context). */
void shmp_view_deallocator(void *bytes, void *segment);

/* Ring bytes one record of `payload` bytes takes (header plus payload
 * rounded up to 64): capacity a published table needs is their sum. */
uint64_t shmp_record_footprint(uint64_t payload);

/* ---- Inspection ------------------------------------------------------------
 *
 * What tools (shmpipe ls/stat/gc, a pipeline's progress display) see of a
 * segment without taking part in it: open it with SHMP_OPEN_INSPECT (or a
 * read-only mapping adopted with that flag), then ask. Nothing here writes
 * to the segment or waits. */

enum shmp_kind {
  SHMP_KIND_CHANNEL = 1, /* a channel (or a table still being published) */
  SHMP_KIND_TABLE = 2,   /* a sealed published table */
};

/* A snapshot of a segment's header, read without stopping anyone: each
 * value is exact, but they are read a moment apart, so on a busy channel
 * they may disagree by a record or two. The layout is part of the ABI
 * (bindings without C structs read it at these offsets). */
#define SHMP_STAT_READERS 32u
typedef struct shmp_stat {
  uint64_t size;              /* offset 0: bytes of the segment (header and ring) */
  uint64_t capacity;          /* 8: bytes of the ring */
  uint64_t committed_bytes;   /* 16: ring bytes ever committed (the head: record
                                 headers of 64 B and padding included) */
  uint64_t committed_records; /* 24: records ever committed */
  uint64_t bytes_in_flight;   /* 32: committed and not yet released by the slowest
                                 live reader (with none attached: not yet read);
                                 0 for a table, whose records stay */
  uint64_t records_in_flight; /* 40: the records in those bytes */
  uint32_t kind;              /* 48: enum shmp_kind */
  uint32_t creator_pid;       /* 52 */
  uint32_t creator_uid;       /* 56 */
  int32_t creator_alive;      /* 60: 1 or 0 (pid and start time, so pid reuse is seen) */
  uint32_t writer_pid;        /* 64: 0 if no writer ever attached */
  int32_t writer_alive;       /* 68 */
  int32_t writer_closed;      /* 72: end of stream: the writer closed (or sealed) */
  int32_t sealed;             /* 76: a published table */
  int32_t persistent;         /* 80: a table meant to outlive its publisher */
  uint32_t readers;           /* 84: readers attached now */
  uint32_t readers_alive;     /* 88: of those, alive (a dead one's slot is emptied
                                 by the writer's next look) */
  uint32_t readers_ever;      /* 92: readers that ever attached */
  int32_t stale;              /* 96: nothing uses it and nothing meant it to
                                 last: its creator and every attached peer are
                                 dead and it is not a persistent table (shmpipe gc
                                 removes such segments) */
  uint32_t reserved;          /* 100 */
  uint32_t reader_pid[SHMP_STAT_READERS];  /* 104: the first `readers` entries */
  uint8_t reader_alive[SHMP_STAT_READERS]; /* 232: 1 or 0, likewise */
} shmp_stat;                  /* 264 bytes */

/* Fills `out` from the header of `s`, after checking it again (a peer may
 * have written it since it was opened): a corrupt or hostile header is an
 * error (ECORRUPT...), never a wrong read. Costs one /proc read per process
 * named (creator, writer, readers) and a walk over the record headers in
 * flight; committed_* alone are two loads. */
int shmp_segment_stat(const shmp_segment *s, shmp_stat *out, shmp_error *err);

/* shmp_segment_stat without the walk: records_in_flight is left 0. For
 * what polls often (a pipeline's progress): the walk over a full ring of
 * small records takes milliseconds. */
int shmp_segment_counts(const shmp_segment *s, shmp_stat *out, shmp_error *err);

/* The channel names of the shmpipe segments in SHMP_SHM_DIR (files named
 * SHMP_NAME_PREFIX + a valid name), each followed by a NUL, in directory
 * order. Returns the bytes the list takes; when that is more than
 * `out_len` (`out` may be NULL), only whole names that fit were written:
 * call again with a larger buffer. */
int64_t shmp_segment_list(char *out, uint64_t out_len, shmp_error *err);

/* ---- Endpoints ---------------------------------------------------------- */

typedef struct shmp_writer shmp_writer;
typedef struct shmp_reader shmp_reader;

/* Attach as the writer / a reader (up to 32) of a segment; each holds a
 * reference on it until closed. Fails with SHMP_E_BUSY if a live process
 * holds the role (a dead holder's role is taken over). */
shmp_writer *shmp_writer_attach(shmp_segment *s, shmp_error *err);
shmp_reader *shmp_reader_attach(shmp_segment *s, shmp_error *err);

/* Marks the role closed (the peer sees end-of-stream / SHMP_E_CLOSED),
 * wakes every waiter, frees the endpoint and drops its reference. */
void shmp_writer_close(shmp_writer *w);
void shmp_reader_close(shmp_reader *r);

/* Gives up the writer's role without ending the stream (since SHMPIPE_1.2),
 * for a writer whose source broke mid-stream (a Flight client that went
 * away): its readers see exactly what they see when a writer dies, at once
 * rather than after a silent slice: every record committed, then
 * SHMP_E_PEER_GONE (with a sentence saying the writer abandoned the
 * stream), never the clean end a close gives. An open claim is dropped
 * unpublished. Wakes every waiter, frees the endpoint and drops its
 * reference; the name is the caller's to remove, as after a close. Another
 * writer may take the role over, as from a dead one. */
void shmp_writer_abandon(shmp_writer *w);

/* ---- What a writer leaves behind ----------------------------------------
 *
 * The process that created a channel owns its name and removes it when it
 * is done. Readers that attached keep their mapping and read every record
 * to the end after that; records that no reader ever attached to read
 * would go with the name. These three make sure that never happens
 * silently (a binding's close() calls linger, then close_checked). */

/* Waits until every record committed so far has been released by every
 * attached reader (with none attached: read by a reader that has left;
 * with none ever attached: until one attaches and reads them). 0, or
 * SHMP_E_TIMEOUT / SHMP_E_CLOSED (every reader left first) /
 * SHMP_E_PEER_GONE, each naming the records and bytes still unread;
 * SHMP_E_AGAIN if shmp_writer_interrupt() ended it. */
int shmp_writer_drain(shmp_writer *w, int64_t timeout_ns, uint32_t spin, shmp_error *err);

/* The wait a close makes first: returns 0 at once unless closing would
 * lose records (this process created the segment, so its name goes with
 * the writer; records were committed; no reader has ever attached). Then
 * waits, like shmp_writer_drain, until a reader attaches: from then on it
 * holds the records, also once the name is gone. SHMP_E_TIMEOUT if none
 * came; SHMP_E_AGAIN if interrupted. */
int shmp_writer_linger(shmp_writer *w, int64_t timeout_ns, uint32_t spin, shmp_error *err);

/* What a close is about to wait for, to say once before shmp_writer_linger
 * with the same timeout: when that call would wait (it would lose records)
 * for a second or more (or without end: `timeout_ns` < 0), writes one line naming the channel, the
 * records unread and how long it waits into `out` (NUL-terminated,
 * truncated to `out_len`) and returns its length, as snprintf does; else
 * writes "" and returns 0. A binding prints the line on stderr. */
int64_t shmp_writer_linger_notice(shmp_writer *w, int64_t timeout_ns, char *out, uint64_t out_len);

/* shmp_writer_close() that tells: returns SHMP_E_UNREAD, naming the
 * records and bytes never read, when the close loses records (as
 * shmp_writer_linger defines it), else 0. The writer is closed and freed
 * either way. */
int shmp_writer_close_checked(shmp_writer *w, shmp_error *err);

/* Readers that attached mid-stream (after records had been released, so
 * they missed the start of the stream) since the last call, 0 if none:
 * one load of a shared word. A writer whose stream starts with something
 * every reader needs (an Arrow schema and its dictionaries) sends it again
 * when this is not 0. */
uint32_t shmp_writer_readers_joined(shmp_writer *w);

/* Largest payload one record can carry. */
uint64_t shmp_writer_max_payload(const shmp_writer *w);

/* Wakes this endpoint's own waiter (another thread blocked in a wait call
 * on it) without closing; that wait then returns SHMP_E_AGAIN early. */
void shmp_writer_interrupt(shmp_writer *w);
void shmp_reader_interrupt(shmp_reader *r);

/* ---- Published tables ---------------------------------------------------
 *
 * A table is a channel written once and sealed: seal() ends the stream like
 * close() and also marks the segment SEALED. Any number of processes then
 * read it at once with their own private position; nothing they do writes
 * to the segment, and every record stays where it is. */

void shmp_writer_seal(shmp_writer *w);

/* seal() for a table that outlives its publisher: the segment is also
 * marked PERSISTENT, which tells tools that its creator's exit does not
 * make it stale. The binding keeps the name when the publisher exits; any
 * process removes it with shmp_table_unpublish(). */
void shmp_writer_seal_persistent(shmp_writer *w);

/* Before a binding removes a name as a published table: SHMP_OK if `s` is
 * a sealed table, else SHMP_E_INVALID (a channel is not unpublished). */
int shmp_table_check_unpublish(const shmp_segment *s, shmp_error *err);

/* Removes the name of the published table `name`, from any process of its
 * user (SHMP_OPEN_ALLOW_OTHER_OWNER for another's): opens it, checks that
 * it is a table (shmp_table_check_unpublish), removes the name. Processes
 * that opened the table keep it. */
int shmp_table_unpublish(const char *name, uint32_t flags, shmp_error *err);

/* A reader of a sealed table, waiting up to `ready_timeout_ns` for the
 * publisher to seal it: peek/release walk the records privately; peek
 * returns SHMP_E_CLOSED after the last one. Free it with shmp_reader_close(). */
shmp_reader *shmp_table_open(shmp_segment *s, int64_t ready_timeout_ns, shmp_error *err);

/* ---- Writing ------------------------------------------------------------ */

/* Reserve room for a payload of up to `len` bytes, waiting up to
 * `timeout_ns` (negative: forever) for the readers to free space; `spin`
 * polls that many times before sleeping. Returns the payload's byte offset
 * from the mapping base (64-byte aligned), or an error. */
int64_t shmp_writer_claim(shmp_writer *w, uint64_t len, int64_t timeout_ns, uint32_t spin, shmp_error *err);

/* Publish the claimed record with `len` (<= claimed) payload bytes. */
int shmp_writer_commit(shmp_writer *w, uint64_t len, shmp_error *err);

/* Abandon the current claim; nothing is published. */
int shmp_writer_abort(shmp_writer *w, shmp_error *err);

/* claim + memcpy + commit in one call. */
int shmp_writer_send(shmp_writer *w, const void *data, uint64_t len, int64_t timeout_ns, uint32_t spin,
                     shmp_error *err);

/* Since SHMPIPE_1.2: `count` records in one call, for bindings whose calls
 * into C cost as much as a small record does (a JavaScript FFI call, cgo):
 * record i is the next lengths[i] bytes of `data`, which holds `data_len`
 * bytes, their sum. Each is written as shmp_writer_send writes one, and
 * checked before any is written (a record too large sends nothing). The
 * ring's head is published once for the whole batch, and before each wait
 * for room, so readers free room while the batch waits for it. Returns
 * `count`; on a failed wait, its code, and the records written before it
 * are published (*sent, which may be NULL, says how many; the sentence
 * too). Waits as shmp_writer_claim does, each wait up to `timeout_ns`. */
int64_t shmp_writer_send_batch(shmp_writer *w, const void *data, uint64_t data_len, const uint64_t *lengths,
                               uint32_t count, int64_t timeout_ns, uint32_t spin, uint64_t *sent, shmp_error *err);

/* Since SHMPIPE_1.3: shmp_writer_send_batch() going on with a batch whose
 * records before `first` an earlier call sent (it returned before the end:
 * its wait timed out or was interrupted). For a binding that waits in
 * slices to see its signals, or that goes on after a stale interrupt: the
 * checks, *sent and the sentence count the whole batch, so a failure says
 * how many of all its records went. `first` > `count` is SHMP_E_INVALID. */
int64_t shmp_writer_send_batch_from(shmp_writer *w, const void *data, uint64_t data_len, const uint64_t *lengths,
                                    uint32_t count, uint32_t first, int64_t timeout_ns, uint32_t spin, uint64_t *sent,
                                    shmp_error *err);

/* ---- Reading ------------------------------------------------------------ */

/* Non-blocking: look at the next record. Returns its payload length and
 * stores its payload offset (from the mapping base) in *offset (may be
 * NULL); the same record is returned until shmp_reader_release().
 * SHMP_E_AGAIN if none is committed yet (err is not filled for it),
 * SHMP_E_CLOSED once the writer closed and all records are read,
 * SHMP_E_CORRUPT if the record header does not fit the ring. */
int64_t shmp_reader_peek(shmp_reader *r, uint64_t *offset, shmp_error *err);

/* Payload offset of the record peek handed out (for bindings that cannot
 * keep a stable out-parameter). */
uint64_t shmp_reader_offset(const shmp_reader *r);

/* Give the current record's space back to the writer. */
int shmp_reader_release(shmp_reader *r, shmp_error *err);

/* The next record, kept: shmp_reader_next, then the record stays where it
 * is (the writer does not reuse its space) until
 * shmp_reader_release_lease(), and the next call looks at the record after
 * it. Returns its length, its payload offset in *offset and its lease in
 * *lease. Leases may be released in any order; the writer gets space back
 * up to the oldest one still held. For bindings whose records live as long
 * as their users' objects (Go's Arrow buffers, R's vectors). */
int64_t shmp_reader_take(shmp_reader *r, uint64_t *offset, uint64_t *lease, int64_t timeout_ns, uint32_t spin,
                         shmp_error *err);
int shmp_reader_release_lease(shmp_reader *r, uint64_t lease, shmp_error *err);

/* Since SHMPIPE_1.2: up to `max` records in one call, kept under one lease:
 * waits for the first as shmp_reader_take does, then takes every record
 * committed by then, up to `max`. For record i, records[2 * i] is its
 * payload offset from the mapping base and records[2 * i + 1] its length
 * (each checked, as peek checks one); `records` holds 2 * max words.
 * Returns how many (1 or more), or what shmp_reader_next would return
 * (SHMP_E_CLOSED after the last record). The records stay where they are
 * until shmp_reader_release_lease(*lease); the next call looks at the
 * records after them. Something wrong after the first record (a corrupt
 * header) ends the batch early and is what the next call returns. */
int64_t shmp_reader_take_batch(shmp_reader *r, uint64_t *records, uint32_t max, uint64_t *lease, int64_t timeout_ns,
                               uint32_t spin, shmp_error *err);

/* Since SHMPIPE_1.3: for a binding that polls the ring's head itself
 * (HEADER_HEAD_OFFSET) with an atomic load of its own between calls: takes
 * the next record as shmp_reader_take does (its length, *offset, *lease),
 * if one is committed, and never waits. When none is, returns SHMP_E_AGAIN
 * at the cost of a look (err is not filled for it, no clock is read); -EINTR
 * instead if a signal was caught (shmp_interrupt_waits_on_signals), as a
 * wait would end; SHMP_E_CLOSED at the end of the stream. Whatever it
 * returns, *read_to (may be NULL) is where this reader has read to: while
 * the head equals it, nothing is there to take, so poll the head until it
 * differs, then call again (and call now and then anyway: the end of the
 * stream does not move the head). */
int64_t shmp_reader_try_take(shmp_reader *r, uint64_t *offset, uint64_t *lease, uint64_t *read_to, shmp_error *err);

/* Since SHMPIPE_1.4: shmp_reader_try_take for a binding whose every call
 * costs as much as a small record (cgo): a record of at most `copy_room`
 * bytes is copied into `copy` and its space given back in the same call
 * (no lease: *offset and *lease are left alone); a longer one is taken under
 * a lease, as shmp_reader_try_take takes it. The length tells which. A
 * binding passes COPY_BELOW - 1 as `copy_room` (shmp_constant), so that
 * every binding copies the same records. */
int64_t shmp_reader_try_take_copy(shmp_reader *r, void *copy, uint64_t copy_room, uint64_t *offset, uint64_t *lease,
                                  uint64_t *read_to, shmp_error *err);

/* Wait until a record is readable (0), the writer closed and all is read
 * (SHMP_E_CLOSED), the writer died (SHMP_E_PEER_GONE), the time ran out
 * (SHMP_E_TIMEOUT) or shmp_reader_interrupt() was called (SHMP_E_AGAIN). */
int shmp_reader_wait(shmp_reader *r, int64_t timeout_ns, uint32_t spin, shmp_error *err);

/* peek, waiting as shmp_reader_wait() does when nothing is there. */
int64_t shmp_reader_next(shmp_reader *r, uint64_t *offset, int64_t timeout_ns, uint32_t spin, shmp_error *err);

/* ---- Arrow IPC messages --------------------------------------------------
 *
 * A record may carry one Arrow IPC encapsulated message: 0xFFFFFFFF, an
 * int32 metadata length (a multiple of 8), the flatbuffer Message, then the
 * body. A checker follows one stream of messages: it copies each message's
 * framing and metadata out of the record (so a peer cannot change them
 * after the check), checks that private copy (every flatbuffer access,
 * every buffer inside the body and 8-byte aligned, buffer lengths against
 * the declared lengths, node and buffer counts against the schema) and
 * keeps the latest schema and the lengths of its dictionaries to check
 * dictionaries and batches against. Of the body it reads only the offsets
 * and indices that Arrow libraries trust (see shmp_arrow_checker_trust_values). */

enum shmp_arrow_kind { SHMP_ARROW_SCHEMA = 1, SHMP_ARROW_DICTIONARY = 2, SHMP_ARROW_RECORD_BATCH = 3 };

typedef struct shmp_arrow_checker shmp_arrow_checker;

/* `segment` and `op` name the stream in error sentences. */
shmp_arrow_checker *shmp_arrow_checker_new(const char *segment, const char *op, shmp_error *err);
void shmp_arrow_checker_free(shmp_arrow_checker *c);

/* Checks the message in `record` (`len` bytes, which may be shared memory)
 * and returns its kind (> 0), or SHMP_E_ARROW with the fault named. A valid
 * schema message becomes the checker's schema. */
int shmp_arrow_checker_check(shmp_arrow_checker *c, const void *record, uint64_t len, shmp_error *err);

/* The last message that passed: its checked private framing and metadata
 * (valid until the next check), and the body length it declares. */
const void *shmp_arrow_checker_prefix(const shmp_arrow_checker *c);
uint64_t shmp_arrow_checker_prefix_length(const shmp_arrow_checker *c);
uint64_t shmp_arrow_checker_body_length(const shmp_arrow_checker *c);

/* Values are checked too by default: the offsets of strings, binaries and
 * lists, binary/string views, and dictionary indices (against dictionaries
 * that have arrived), which pyarrow and arrow-go trust; the cost grows with
 * the rows of such columns. A stream from a trusted writer may skip that
 * (trust != 0); the metadata is always checked. */
void shmp_arrow_checker_trust_values(shmp_arrow_checker *c, int trust);

/* For bindings without an Arrow library (R): the top-level columns of the
 * last record batch (or dictionary batch: its one column of values) that
 * passed the check. Buffers are given as offsets from the record's start;
 * for nested types only the type is. The strings are valid until the
 * schema changes. */
typedef struct shmp_arrow_column {
  const char *name;
  const char *timezone;   /* Timestamp: "" if none */
  uint32_t type;          /* Arrow's type tag (Schema.fbs Type): 2 Int, 3 FloatingPoint, 5 Utf8, ... */
  uint32_t bit_width;     /* Int, FloatingPoint (16/32/64), Date (32/64); dictionary indices */
  int32_t is_signed;      /* Int; dictionary indices */
  int32_t unit;           /* Date: 0 day, 1 ms; Time, Timestamp, Duration: 0 s .. 3 ns */
  int32_t r_na;           /* the field says its null slots hold R's NA bit patterns */
  int32_t reserved;
  int64_t dictionary_id;  /* >= 0: dictionary-encoded (type is the values'), the indices in `values` */
  int64_t length, null_count;
  uint64_t validity_offset, validity_length; /* length 0: no bitmap */
  uint64_t values_offset, values_length;     /* fixed-width values, a bitmap for Bool, or offsets */
  uint64_t data_offset, data_length;         /* Utf8/Binary bytes */
} shmp_arrow_column;

uint32_t shmp_arrow_checker_batch_columns(const shmp_arrow_checker *c);
int shmp_arrow_checker_column(const shmp_arrow_checker *c, uint32_t column, shmp_arrow_column *out);

/* The id of the last dictionary batch, and whether it was a delta. */
int64_t shmp_arrow_checker_dictionary(const shmp_arrow_checker *c, int *delta);

/* Since SHMPIPE_1.1: every field node of the last record batch (or of
 * the dictionary batch: its value field's tree) that passed the check, at
 * every level of nesting, in pre-order: a node, then its children's
 * subtrees. The top-level columns are node 0, then node 0 + its subtree,
 * and so on. A dictionary-encoded node has no children (its values are the
 * dictionary's). Its `column` describes it as shmp_arrow_column does, with
 * the buffers of every layout:
 *   fixed-width, Bool:        validity, values
 *   Utf8/Binary (and large):  validity, values = offsets, data
 *   Utf8View/BinaryView:      validity, values = views; the data buffers
 *                             are buffers first_buffer + 2 ... (buffer_count - 2 of them)
 *   List, Map (and large):    validity, values = offsets
 *   ListView (and large):     validity, values = offsets, data = sizes
 *   FixedSizeList, Struct:    validity
 *   Union:                    values = type ids, data = offsets (dense)
 *   dictionary-encoded:       validity, values = indices
 *   Null, RunEndEncoded:      none (run ends and values are its children)
 * Only the metadata and the offsets and indices named above were checked
 * (a peer may still change the body): a reader bounds-checks every offset
 * it reads from the body itself. */
typedef struct shmp_arrow_node {
  shmp_arrow_column column;
  uint32_t children;        /* direct children, which follow in pre-order */
  uint32_t subtree;         /* nodes in this subtree, itself included */
  int64_t fixed_size;       /* FixedSizeList: values per list; FixedSizeBinary: bytes per value */
  int32_t precision, scale; /* Decimal */
  int32_t unit;             /* Date, Time, Timestamp, Duration (0 s .. 3 ns), Interval (0 year-month, 1 day-time, 2 month-day-nano) */
  int32_t union_mode;       /* Union: 0 sparse, 1 dense */
  uint32_t first_buffer;    /* the batch's buffer index of its first buffer */
  uint32_t buffer_count;    /* the buffers it owns (its children's follow) */
  uint64_t reserved[4];     /* zero: room for what a later release describes */
} shmp_arrow_node;

uint32_t shmp_arrow_checker_nodes(const shmp_arrow_checker *c);
int shmp_arrow_checker_node(const shmp_arrow_checker *c, uint32_t node, shmp_arrow_node *out);

/* Buffer `buffer` of the last batch that passed, as an offset from the
 * record's start and a length (checked to lie inside the body). */
int shmp_arrow_checker_buffer(const shmp_arrow_checker *c, uint32_t buffer, uint64_t *offset, uint64_t *length);
/* For bindings with an Arrow library (since SHMPIPE_1.1): the layout of
 * the last record batch or dictionary batch that passed the check, as
 * int64 words, so that the binding builds its arrays straight from it
 * without decoding the flatbuffer again. SHMP_LAYOUT_HEADER words (indexed
 * by enum shmp_arrow_layout, also shmp_constant("LAYOUT_ROWS") ...), then
 * per field node in pre-order (length, null count), per buffer (offset
 * from the body's start, length), per view column its variadic buffer
 * count. Every value was checked: buffers lie in the body, 8-byte aligned.
 * Returns the number of words the layout takes and writes them if `room`
 * holds them all (else writes none: call again with more room);
 * SHMP_E_INVALID if the last message was a schema or failed. */
enum shmp_arrow_layout {
  SHMP_LAYOUT_KIND, SHMP_LAYOUT_PREFIX_LENGTH, SHMP_LAYOUT_BODY_LENGTH, SHMP_LAYOUT_ROWS, SHMP_LAYOUT_NODES,
  SHMP_LAYOUT_BUFFERS, SHMP_LAYOUT_VARIADIC, SHMP_LAYOUT_DICTIONARY_ID /* -1 for a record batch */, SHMP_LAYOUT_DELTA,
  SHMP_LAYOUT_RESERVED, SHMP_LAYOUT_HEADER
};
int64_t shmp_arrow_checker_layout(const shmp_arrow_checker *c, int64_t *out, uint64_t room);


/* The check a channel's Arrow reader makes: shmp_arrow_checker_check() on
 * `record` for the stream `r` reads (NULL for a published table), with one
 * rule more. A reader that attached mid-stream (after records had been
 * released) may have missed the stream's schema and dictionaries: until a
 * schema arrives, every message is skipped, and this returns 0 (release
 * the record and read on). The writer sends the schema and dictionaries
 * again once it sees the join (shmp_writer_readers_joined). */
int shmp_reader_check_arrow(shmp_reader *r, shmp_arrow_checker *c, const void *record, uint64_t len,
                            shmp_error *err);

/* ---- Sending an Arrow stream (since SHMPIPE_1.1) ------------------------
 *
 * The rules every binding's Arrow writer follows, kept here once: a
 * stream starts with its schema; a reader that joined mid-stream, or a
 * message that failed, makes the schema (and every dictionary after it)
 * owed again; each message is checked by the core (a checker that follows
 * the stream as its readers will) before it is committed, so a message no
 * reader could read is the writer's error and never reaches a reader. The
 * binding encodes messages with its Arrow library, laid out as the check
 * wants them (the body 8-byte aligned within the record), and decides
 * itself whether its schema changed. One sender per writer; not
 * thread-safe, like the writer. */
typedef struct shmp_arrow_sender shmp_arrow_sender;

/* A sender for `w`'s stream; `op` ("send", "publish") names what it does in
 * error sentences; with `trust_values` the check skips the values (offsets,
 * dictionary indices) that came from the binding's own Arrow library. Free
 * it before closing the writer. */
shmp_arrow_sender *shmp_arrow_sender_new(shmp_writer *w, const char *op, int trust_values, shmp_error *err);
void shmp_arrow_sender_free(shmp_arrow_sender *s);

/* 1 if the next batch must be preceded by its schema and every dictionary
 * it uses: nothing was sent yet, a reader joined mid-stream since the last
 * look, or the last message failed. Send them also when the schema changed
 * (the binding's Arrow library compares schemas). */
int shmp_arrow_sender_schema_owed(shmp_arrow_sender *s);

/* The binding claims a record with shmp_writer_claim() and writes one
 * message into it, then, instead of shmp_writer_commit(), calls this: it
 * checks the first `len` bytes of the claimed record and commits them.
 * Returns the message's kind (> 0), or the check's error (SHMP_E_ARROW,
 * with the fault named), in which case the claim is abandoned unpublished
 * and the schema is owed again. A committed schema pays what was owed. */
int shmp_arrow_sender_commit(shmp_arrow_sender *s, uint64_t len, shmp_error *err);

/* Abandons the claim (the binding could not write its message): nothing is
 * published and the schema is owed again. */
void shmp_arrow_sender_abort(shmp_arrow_sender *s);

/* The writers' layout (since SHMPIPE_1.1): every shmpipe writer lays each
 * body buffer at a multiple of SHMP_ALIGN (64) bytes into the body, which
 * starts 64 bytes into its record, so that every buffer can be viewed in
 * place at a 64-byte boundary. Arrow libraries that pad buffers to 8 bytes
 * only (arrow-go, pyarrow) write the metadata, then ask this: it rewrites,
 * in place, each buffer's offset and the body length in `metadata` (the
 * flatbuffer Message after the 8 bytes of framing, `len` bytes) to that
 * layout, and fills `moves` with where each buffer lies in the library's
 * body (`from`) and in the new one (`to`). The caller copies each buffer's
 * bytes from `from` to `to` and zero-fills the rest of the new body.
 * Returns the new body length (0 for a schema, left as it is), or
 * SHMP_E_ARROW for metadata it cannot read, or SHMP_E_INVALID if `room`
 * moves are too few (*count says how many the message needs). */
typedef struct shmp_arrow_move {
  uint64_t from, to, length;
} shmp_arrow_move;

int64_t shmp_arrow_align_buffers(void *metadata, uint64_t len, shmp_arrow_move *moves, uint32_t room,
                                 uint32_t *count, const char *segment, shmp_error *err);

/* ---- Arrow messages from bindings without an Arrow library ---------------
 *
 * The core encodes the messages of a table of simple columns (R uses it),
 * laid out as every shmpipe writer lays them out: the body 64 bytes into
 * the record, each buffer at a 64-byte boundary (the Go and Python writers
 * get there through shmp_arrow_align_buffers). The check and every reader
 * accept any 8-byte layout, as other Arrow writers make. Dictionary-encoded
 * columns use dictionary id = their column index. */

enum shmp_column_kind {
  SHMP_COLUMN_FLOAT64 = 1,       /* values: double */
  SHMP_COLUMN_INT32 = 2,         /* values: int32_t */
  SHMP_COLUMN_BOOL = 3,          /* values: a bitmap, bit set = true */
  SHMP_COLUMN_UTF8 = 4,          /* offsets (length + 1 int32_t) and data */
  SHMP_COLUMN_DICTIONARY_UTF8 = 5, /* values: int32_t indices; the dictionary_* fields */
  SHMP_COLUMN_DATE32 = 6,        /* values: int32_t days since 1970-01-01 */
  SHMP_COLUMN_TIMESTAMP_US = 7,  /* values: int64_t microseconds since the epoch, in `timezone` */
  SHMP_COLUMN_INT64 = 8,         /* values: int64_t */
  /* Since 0.3 (SHMPIPE_1.1 libraries): */
  SHMP_COLUMN_BINARY = 9,        /* offsets (length + 1 int32_t) and data, as UTF8 */
  SHMP_COLUMN_LIST = 10,         /* offsets (length + 1 int32_t) into its one child, the
                                    entry that follows it (offsets[length] values long) */
  SHMP_COLUMN_STRUCT = 11,       /* `dictionary_length` children, the entries that follow it
                                    (each with its subtree), each `length` values long */
};
/* `columns` lists the top-level columns in order, each followed by its
 * children (LIST, STRUCT) in pre-order; `count` counts every entry. A
 * dictionary-encoded entry's id is its index in `columns`. */

typedef struct shmp_column {
  const char *name;
  uint32_t kind;              /* enum shmp_column_kind */
  int32_t r_na;               /* null slots hold R's NA bit patterns: the field's metadata says so */
  const char *timezone;       /* TIMESTAMP_US: an IANA name, or "" / NULL for none */
  int64_t null_count;         /* 0: no validity bitmap */
  const uint8_t *validity;    /* ceil(rows / 8) bytes, bit set = valid */
  const void *values;
  const int32_t *offsets;     /* UTF8 */
  const uint8_t *data;        /* UTF8 */
  int64_t dictionary_length;  /* DICTIONARY_UTF8: the dictionary's strings */
  const int32_t *dictionary_offsets;
  const uint8_t *dictionary_data;
} shmp_column;

/* Each writes its message into `out` (`capacity` bytes, 8-byte aligned,
 * e.g. a claimed record) and returns its size; with `out` NULL, returns
 * the size it needs. A negative code on failure. */
int64_t shmp_arrow_encode_schema(const shmp_column *columns, uint32_t count, void *out, uint64_t capacity,
                                 shmp_error *err);
int64_t shmp_arrow_encode_dictionary(const shmp_column *columns, uint32_t count, uint32_t column, void *out,
                                     uint64_t capacity, shmp_error *err);
int64_t shmp_arrow_encode_batch(const shmp_column *columns, uint32_t count, int64_t rows, void *out,
                                uint64_t capacity, shmp_error *err);

/* The same, written into the record at `offset` of `segment` (`capacity`
 * bytes, e.g. a claimed record), each buffer by shmp_segment_write()
 * (since SHMPIPE_1.2): a table being published gets its columns through
 * the file. */
int64_t shmp_arrow_encode_dictionary_into(const shmp_column *columns, uint32_t count, uint32_t column,
                                          shmp_segment *segment, uint64_t offset, uint64_t capacity, shmp_error *err);
int64_t shmp_arrow_encode_batch_into(const shmp_column *columns, uint32_t count, int64_t rows, shmp_segment *segment,
                                     uint64_t offset, uint64_t capacity, shmp_error *err);

/* ---- Signals -------------------------------------------------------------
 *
 * A runtime whose signal handlers cannot run while a call blocks (a
 * JavaScript engine during a synchronous FFI call) asks the core to end its
 * waits when SIGINT, SIGTERM or SIGHUP arrives: the core wraps the handler
 * in place for each (the runtime's own still runs; a signal under its
 * default action is left alone, as it ends the process anyway), and every
 * wait of the process then returns -EINTR within microseconds (a spinning
 * one) or at once (a sleeping one), until the binding takes the signal with
 * shmp_interrupted_signal(). Install after the runtime's handlers. */
int shmp_interrupt_waits_on_signals(void);

/* The signal that ended waits (SIGINT, ...), 0 if none; clears it. */
int shmp_interrupted_signal(void);

#ifdef __cplusplus
}
#endif
#endif
