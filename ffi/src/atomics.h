/*
 * The memory-ordering vocabulary of the core. Every word in shared memory
 * that another process changes is declared _Atomic and touched only through
 * these helpers, so each access says what ordering it relies on.
 *
 * RELEASE (smp_store_release): every write before it in program order is
 *   visible to a thread that ACQUIREs the stored value.
 * ACQUIRE (smp_load_acquire): no read or write after it in program order is
 *   performed before it; paired with a RELEASE it sees what preceded that.
 * smp_store_mb: a store that is also a full barrier (seq_cst). Used where a
 *   store must be ordered before a later load of another word (the
 *   "publish, then check for a sleeper" step of the futex handshake).
 * READ_ONCE / WRITE_ONCE: single, untorn accesses with no ordering.
 */
#ifndef SHMP_ATOMICS_H
#define SHMP_ATOMICS_H

#include <stdatomic.h>

#define smp_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define smp_store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define smp_store_mb(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)
#define smp_mb() atomic_thread_fence(memory_order_seq_cst)
#define READ_ONCE(p) atomic_load_explicit((p), memory_order_relaxed)
#define WRITE_ONCE(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)

/* Read a plain (non-atomic) field of a record header exactly once: the peer
 * may be rewriting it, so the value is copied to a local and only the copy
 * is checked and used (no time-of-check/time-of-use gap). */
#define READ_PLAIN_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
