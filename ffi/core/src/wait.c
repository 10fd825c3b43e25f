/* Spin, then sleep on a futex in short slices; between slices check that
 * the peer is still alive, so a SIGKILLed peer is noticed within a slice. */
#define _GNU_SOURCE
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"

/* How long one sleep lasts before the peer's liveness is checked. It bounds
 * the time to notice a dead peer; checks cost a /proc read, so they happen
 * only when a slice passed without any wake. */
#define SLICE_NS INT64_C(50000000)

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t shmp_deadline(int64_t timeout_ns) {
  if (timeout_ns < 0) return INT64_MAX;
  int64_t now = now_ns();
  return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

/* Shared (not _PRIVATE) futex ops: the word is in a MAP_SHARED mapping used
 * by several processes. */
static void futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t ns) {
  struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, &ts, NULL, 0);
}

void shmp_wake_all(_Atomic uint32_t *futex) {
  /* Full barrier: a sleeper that read the old value before our publish
   * fails its FUTEX_WAIT (value changed) or is woken below. */
  smp_fetch_add(futex, 1);
  syscall(SYS_futex, (uint32_t *)futex, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void shmp_wake_if_waiting(_Atomic uint32_t *futex, _Atomic uint32_t *waiters) {
  /* The caller's smp_store_mb() orders its publish before this load; the
   * sleeper orders its announcement before re-checking. One of the two sees
   * the other (see shmp_wait_until). */
  if (smp_load_mb(waiters) != 0) shmp_wake_all(futex);
}

int shmp_wait_until(const struct shmp_wait *w, shmp_ready_fn ready, void *ctx,
                    int64_t deadline_ns, uint32_t spin) {
  int rc = ready(ctx);
  for (uint32_t i = 0; rc == 0 && i < spin; i++) {
    cpu_relax();
    rc = ready(ctx);
  }
  while (rc == 0) {
    /* `interrupted` is private to this process (another thread sets it). */
    if (atomic_exchange(w->interrupted, 0)) return SHMP_E_AGAIN;
    int64_t left = deadline_ns - now_ns();
    if (left <= 0) return SHMP_E_TIMEOUT;
    int64_t slice = left < SLICE_NS ? left : SLICE_NS;

    /* Read the futex value, announce, then re-check: a publish after the
     * re-check bumps the futex, so the sleep below returns at once. */
    uint32_t seq = smp_load_acquire(w->futex);
    smp_fetch_add(w->waiters, 1);
    smp_mb();
    rc = ready(ctx);
    if (rc == 0 && !atomic_load(w->interrupted)) { /* private word */
      int64_t before = now_ns();
      futex_wait(w->futex, seq, slice);
      /* A full slice without a wake: time to ask whether the peer lives. */
      if (now_ns() - before >= slice) {
        rc = ready(ctx);
        if (rc == 0 && w->peers_gone(w->peers)) rc = SHMP_E_PEER_GONE;
      }
    }
    smp_fetch_sub(w->waiters, 1);
    if (rc == 0) rc = ready(ctx);
  }
  return rc > 0 ? 0 : rc;
}
