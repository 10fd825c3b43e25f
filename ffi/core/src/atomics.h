/*
 * The memory-ordering vocabulary of the core. Every word in shared memory
 * that another process changes is declared _Atomic and touched only through
 * these helpers, so each access says what ordering it relies on.
 *
 * RELEASE (smp_store_release): every write before it in program order is
 *   visible to a thread that ACQUIREs the stored value.
 * ACQUIRE (smp_load_acquire): no read or write after it in program order is
 *   performed before it; paired with a RELEASE it sees what preceded that.
 * smp_store_mb: a RELEASE store followed by a full fence. Used where a store must
 *   be ordered before a later load of another word (the "publish, then
 *   check for a sleeper" step of the futex handshake, Dekker's pattern at
 *   attach). A seq_cst store alone does not keep a later acquire load from
 *   moving before it (it may on arm64 with RCpc loads): the fence does.
 * smp_load_mb: a load that is not performed before an earlier smp_store_mb
 *   (both seq_cst): the other half of that handshake.
 * READ_ONCE / WRITE_ONCE: single, untorn accesses with no ordering.
 * Read-modify-writes (smp_cas, smp_fetch_or, ...) are full barriers
 *   (seq_cst): each is both a RELEASE of what came before and an ACQUIRE
 *   for what follows, and they are rare (attach, close, wake, sleep).
 * READ_PLAIN_ONCE / WRITE_PLAIN_ONCE: the same for plain fields of a
 *   record header, whose publication the head's RELEASE orders.
 *
 * Words in private memory (a mapping's reference count) use <stdatomic.h>
 * directly: no other process sees them.
 */
#ifndef SHMP_ATOMICS_H
#define SHMP_ATOMICS_H

#include <stdatomic.h>

#define smp_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define smp_store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define smp_store_mb(p, v)                                \
  do {                                                    \
    atomic_store_explicit((p), (v), memory_order_release); \
    atomic_thread_fence(memory_order_seq_cst);            \
  } while (0)
#define smp_load_mb(p) atomic_load_explicit((p), memory_order_seq_cst)
#define smp_mb() atomic_thread_fence(memory_order_seq_cst)
#define READ_ONCE(p) atomic_load_explicit((p), memory_order_relaxed)
#define WRITE_ONCE(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define smp_cas(p, expected, desired) atomic_compare_exchange_strong((p), (expected), (desired))
#define smp_fetch_or(p, v) atomic_fetch_or((p), (v))
#define smp_fetch_and(p, v) atomic_fetch_and((p), (v))
#define smp_fetch_add(p, v) atomic_fetch_add((p), (v))
#define smp_fetch_sub(p, v) atomic_fetch_sub((p), (v))
#define smp_xchg(p, v) atomic_exchange((p), (v))

/* Read a plain (non-atomic) field of a record header exactly once: the peer
 * may be rewriting it, so the value is copied to a local and only the copy
 * is checked and used (no time-of-check/time-of-use gap). */
#define READ_PLAIN_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_PLAIN_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
