/* Futex waits and wakes on words in shared memory, and peer liveness. */
#ifndef SHMP_WAIT_H
#define SHMP_WAIT_H

#include <stdint.h>
#include "layout.h"

/* What a waiter sleeps on and whom it waits for. */
struct shmp_wait {
  _Atomic uint32_t *futex;       /* bumped by every wake */
  _Atomic uint32_t *waiters;     /* sleepers announce themselves here */
  /* After a silent slice: 1 if those expected to make progress are gone. */
  int (*peers_gone)(void *ctx);
  void *peers;
  _Atomic uint32_t *interrupted; /* private: set by shmp_*_interrupt() */
  /* While this word is non-zero, progress is under way (the writer fills a
   * claimed record): spin, then nap in short slices, rather than sleep.
   * NULL: always sleep. */
  _Atomic uint32_t *coming;
};

/* How long one wait stays awake at most while `coming` says progress is
 * under way (a copy of several GiB takes longer: the wait sleeps after). */
#define SHMP_COMING_SPIN_NS INT64_C(1000000000)

/* > 0: ready; 0: not yet; < 0: an error to return as is. */
typedef int (*shmp_ready_fn)(void *ctx);

/* A wait's deadline: `timeout_ns` from the first moment the condition was
 * found false (< 0: never). The clock is read only then, so a call whose
 * condition already holds reads no clock (a read costs ~20 ns here, and
 * the hot path of a record would otherwise pay one per claim and one per
 * receive). Several waits of one call share one deadline. */
struct shmp_deadline {
  int64_t timeout_ns;
  int64_t at; /* absolute CLOCK_MONOTONIC ns; 0 until the first wait started it */
};
static inline struct shmp_deadline shmp_deadline_in(int64_t timeout_ns) {
  return (struct shmp_deadline){timeout_ns, 0};
}

/* Returns 0 once ready() > 0, ready()'s error, SHMP_E_TIMEOUT at the
 * deadline, SHMP_E_PEER_GONE if the peers died, SHMP_E_AGAIN if interrupted. */
int shmp_wait_until(const struct shmp_wait *w, shmp_ready_fn ready, void *ctx,
                    struct shmp_deadline *deadline, uint32_t spin);

/* Call after publishing with smp_store_mb(): wakes sleepers, if any, with no
 * syscall when nobody sleeps. */
void shmp_wake_if_waiting(_Atomic uint32_t *futex, _Atomic uint32_t *waiters);

/* Unconditional wake (close, interrupt). */
void shmp_wake_all(_Atomic uint32_t *futex);

/* The signal a wait ended for (-EINTR), still pending; 0 if none; and a
 * sentence naming it. */
int shmp_pending_signal(void);
const char *shmp_signal_detail(void);

/* 1 if the process `pid` with start-time tag `start_tag` is alive (not a
 * zombie), 0 if not. The tag survives pid reuse; see docs/PROTOCOL.md. */
int shmp_process_alive(uint32_t pid, uint32_t start_tag);
uint32_t shmp_process_start_tag(uint32_t pid);

/* This process's peer word, (pid << 32) | start tag. */
uint64_t shmp_self_peer_word(void);

/* 1 if the role holder in `peer` attached once and is now dead. */
int shmp_peer_gone(shmp_peer_word *peer);

#endif
