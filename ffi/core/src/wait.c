/* Spin, then sleep on a futex in short slices; between slices check that
 * the peer is still alive, so a SIGKILLed peer is noticed within a slice. */
#define _GNU_SOURCE
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
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

/* The deadline's absolute time, started now if no wait started it yet. */
static int64_t deadline_at(struct shmp_deadline *d) {
  if (d->at == 0) {
    int64_t now = now_ns();
    d->at = d->timeout_ns < 0 || d->timeout_ns > INT64_MAX - now ? INT64_MAX : now + d->timeout_ns;
  }
  return d->at;
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

/* ---- signals that end waits ------------------------------------------------- */

/* The last of SIGINT, SIGTERM, SIGHUP to arrive since a binding asked, 0 if
 * none: a process-wide word, set by the handler below. */
static _Atomic int pending_signal;
static struct sigaction previous[3];
static const int watched[3] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(int sig, siginfo_t *info, void *context) {
  atomic_store(&pending_signal, sig);
  for (int i = 0; i < 3; i++) {
    if (watched[i] != sig) continue;
    /* The runtime's own handler runs too (a JavaScript engine queues its
     * listeners there, to run once the call returns). */
    if (previous[i].sa_flags & SA_SIGINFO) previous[i].sa_sigaction(sig, info, context);
    else previous[i].sa_handler(sig);
  }
}

SHMP_EXPORT int shmp_interrupt_waits_on_signals(void) {
  static _Atomic int installed;
  if (atomic_exchange(&installed, 1)) return SHMP_OK;
  for (int i = 0; i < 3; i++) {
    struct sigaction old;
    if (sigaction(watched[i], NULL, &old) != 0) return -errno;
    /* Under the default action the signal ends the process anyway, and an
     * ignored one should stay ignored: only a handler is wrapped. */
    int is_handler = (old.sa_flags & SA_SIGINFO) || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    if (!is_handler) continue;
    previous[i] = old;
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = on_signal;
    ours.sa_mask = old.sa_mask;
    ours.sa_flags = SA_SIGINFO | (old.sa_flags & SA_RESTART) | (old.sa_flags & SA_ONSTACK);
    if (sigaction(watched[i], &ours, NULL) != 0) return -errno;
  }
  return SHMP_OK;
}

SHMP_EXPORT int shmp_interrupted_signal(void) { return atomic_exchange(&pending_signal, 0); }

int shmp_pending_signal(void) { return atomic_load(&pending_signal); }

const char *shmp_signal_detail(void) {
  switch (atomic_load(&pending_signal)) {
    case SIGINT: return "SIGINT (Ctrl-C) arrived while it waited";
    case SIGTERM: return "SIGTERM arrived while it waited";
    case SIGHUP: return "SIGHUP arrived while it waited";
    default: return "a signal arrived while it waited";
  }
}

/* Why a wait should end before its condition holds: an interrupt from
 * another thread of this process, a signal, or its deadline. 0 if none. */
static int stop_reason(const struct shmp_wait *w, struct shmp_deadline *deadline) {
  /* `interrupted` is private to this process (another thread sets it). */
  if (atomic_exchange(w->interrupted, 0)) return SHMP_E_AGAIN;
  if (atomic_load(&pending_signal)) return -EINTR;
  /* A timeout of 0 has passed already: a look that finds nothing reads no clock. */
  if (deadline->timeout_ns == 0 || deadline_at(deadline) - now_ns() <= 0) return SHMP_E_TIMEOUT;
  return 0;
}

/* While a record is coming: spin this long, then nap in slices this long. */
#define COMING_BUSY_NS INT64_C(50000)
#define COMING_NAP_NS INT64_C(50000)

/* How many polls pass between looks at the clock and the signals while
 * spinning: a look costs ~20 ns (vDSO), a poll a few. */
#define POLLS_PER_LOOK 256u

int shmp_wait_until(const struct shmp_wait *w, shmp_ready_fn ready, void *ctx,
                    struct shmp_deadline *deadline, uint32_t spin) {
  int rc = ready(ctx);
  for (uint32_t i = 1; rc == 0 && i <= spin; i++) {
    cpu_relax();
    rc = ready(ctx);
    if (rc == 0 && i % POLLS_PER_LOOK == 0) {
      int stop = stop_reason(w, deadline);
      if (stop != 0) return stop;
    }
  }
  int64_t coming_since = 0, peers_looked = 0;
  while (rc == 0) {
    int stop = stop_reason(w, deadline);
    if (stop != 0) return stop;
    if (w->coming != NULL && smp_load_acquire(w->coming)) {
      /* The peer is filling a record it claimed: wait through the copy
       * awake, so that its commit is seen sooner than after a long sleep
       * (hundreds of µs on a VM): spin COMING_BUSY_NS, then nap in
       * COMING_NAP_NS slices. For at most SHMP_COMING_SPIN_NS per wait; the
       * peer's life is looked at every slice, as a sleeper would. (Spinning
       * throughout measured worse on a loaded machine: a spinning reader
       * loses the scheduler's preference for sleepers that wake, and waits
       * for its turn, milliseconds, when the commit comes.) */
      int64_t now = now_ns();
      if (coming_since == 0) coming_since = peers_looked = now;
      if (now - coming_since < SHMP_COMING_SPIN_NS) {
        if (now - coming_since < COMING_BUSY_NS) {
          for (uint32_t i = 0; i < POLLS_PER_LOOK && rc == 0; i++) {
            cpu_relax();
            rc = ready(ctx);
          }
        } else {
          /* A long copy: nap in short slices rather than spin, so that the
           * CPU stays awake (a short sleep wakes fast) and the scheduler
           * still treats this waiter as a sleeper. */
          uint32_t seq = smp_load_acquire(w->futex);
          smp_fetch_add(w->waiters, 1);
          smp_mb();
          rc = ready(ctx);
          if (rc == 0 && smp_load_acquire(w->coming)) futex_wait(w->futex, seq, COMING_NAP_NS);
          smp_fetch_sub(w->waiters, 1);
          if (rc == 0) rc = ready(ctx);
        }
        if (rc == 0 && now - peers_looked >= SLICE_NS) {
          peers_looked = now;
          if (w->peers_gone(w->peers)) rc = SHMP_E_PEER_GONE;
        }
        continue;
      }
    }
    int64_t left = deadline_at(deadline) - now_ns();
    int64_t slice = left < SLICE_NS ? left : SLICE_NS;

    /* Read the futex value, announce, then re-check: a publish after the
     * re-check bumps the futex, so the sleep below returns at once. */
    uint32_t seq = smp_load_acquire(w->futex);
    smp_fetch_add(w->waiters, 1);
    smp_mb();
    rc = ready(ctx);
    if (rc == 0 && !atomic_load(w->interrupted) && !atomic_load(&pending_signal)) { /* private words */
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
