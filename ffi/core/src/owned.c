/* The names this process created and must remove, and the one signal
 * policy around them, for every binding.
 *
 * Why here: a process that created a channel answers for its name in
 * /dev/shm. Each binding used to keep its own list and its own handlers,
 * and they disagreed (one killed programs that handled SIGTERM themselves,
 * one let a forked child remove its parent's names). Now there is one list
 * and one rule:
 *   - every entry carries the pid that recorded it: a forked child
 *     inherits the list but never acts on its parent's names;
 *   - a signal is taken only where the program has not taken it (its
 *     action is the default): the names go, then the signal takes its
 *     default course. A program that handles a signal decides when it ends,
 *     and its own exit path removes the names.
 *
 * Async-signal safety: the handler walks a list that is only ever appended
 * to (nodes are reused, never freed), reads each node under a sequence
 * count so that a node being rewritten by another thread is skipped, and
 * removes names with unlink(2) of the /dev/shm path, which POSIX lists as
 * async-signal-safe (shm_unlink is not on that list, though glibc's is a
 * plain unlink of the same path). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomics.h"
#include "error.h"
#include "layout.h"

#define PATH_BYTES (sizeof SHMP_SHM_DIR + sizeof "/" SHMP_NAME_PREFIX + SHMP_NAME_MAX)

struct owned {
  struct owned *_Atomic next; /* set once, before the node is published */
  _Atomic uint32_t seq;       /* odd while the node is being rewritten */
  _Atomic int32_t used;       /* 1: `path` is a name `pid` owns */
  _Atomic pid_t pid;
  char path[PATH_BYTES];      /* /dev/shm/shmpipe.<name> */
};

static struct owned *_Atomic owned_list;
static pthread_mutex_t owned_lock = PTHREAD_MUTEX_INITIALIZER; /* writers only; the handler takes no lock */

static int owned_path(const char *name, char *out, size_t out_len) {
  if (!shmp_name_ok(name)) return SHMP_E_INVALID;
  snprintf(out, out_len, "%s/%s%s", SHMP_SHM_DIR, SHMP_NAME_PREFIX, name);
  return SHMP_OK;
}

/* A node holding `path` for this process, or NULL. Under owned_lock. */
static struct owned *find(const char *path, pid_t self) {
  for (struct owned *o = smp_load_acquire(&owned_list); o != NULL; o = smp_load_acquire(&o->next))
    if (READ_ONCE(&o->used) && READ_ONCE(&o->pid) == self && strcmp(o->path, path) == 0) return o;
  return NULL;
}

/* Rewrites a node's path between two bumps of its sequence count, so the
 * handler never acts on a half-written path. Under owned_lock. */
static void fill(struct owned *o, const char *path, pid_t self) {
  smp_fetch_add(&o->seq, 1); /* odd: readers skip this node (full barrier before the writes below) */
  snprintf(o->path, sizeof o->path, "%s", path);
  WRITE_ONCE(&o->pid, self);
  smp_store_release(&o->used, 1);
  smp_fetch_add(&o->seq, 1); /* even again: the path above is whole (full barrier after the writes) */
}

SHMP_EXPORT int shmp_owned_add(const char *name, shmp_error *err) {
  char path[PATH_BYTES];
  if (owned_path(name, path, sizeof path) != SHMP_OK)
    return shmp_fail(err, SHMP_E_INVALID, "create", name ? name : "(null)", "a channel name is needed to own it");
  pid_t self = getpid();
  pthread_mutex_lock(&owned_lock);
  int rc = SHMP_OK;
  if (find(path, self) == NULL) {
    /* Reuse a node that no longer holds a name of this process (also one
     * a parent process left behind in a forked child). */
    struct owned *o = smp_load_acquire(&owned_list);
    while (o != NULL && READ_ONCE(&o->used) && READ_ONCE(&o->pid) == self) o = smp_load_acquire(&o->next);
    if (o != NULL) {
      smp_store_release(&o->used, 0);
      fill(o, path, self);
    } else if ((o = calloc(1, sizeof *o)) == NULL) {
      rc = shmp_fail(err, -ENOMEM, "create", name, "no memory to record the name as this process's");
    } else {
      fill(o, path, self);
      WRITE_ONCE(&o->next, smp_load_acquire(&owned_list));
      smp_store_release(&owned_list, o); /* publishes the node whole to the handler */
    }
  }
  pthread_mutex_unlock(&owned_lock);
  return rc;
}

SHMP_EXPORT void shmp_owned_forget(const char *name) {
  char path[PATH_BYTES];
  if (owned_path(name, path, sizeof path) != SHMP_OK) return;
  pthread_mutex_lock(&owned_lock);
  struct owned *o = find(path, getpid());
  if (o != NULL) smp_store_release(&o->used, 0);
  pthread_mutex_unlock(&owned_lock);
}

SHMP_EXPORT int shmp_owned_unlink(const char *name, shmp_error *err) {
  char path[PATH_BYTES];
  if (owned_path(name, path, sizeof path) != SHMP_OK) return 0;
  pthread_mutex_lock(&owned_lock);
  struct owned *o = find(path, getpid());
  if (o != NULL) smp_store_release(&o->used, 0);
  pthread_mutex_unlock(&owned_lock);
  if (o == NULL) return 0;
  int rc = shmp_unlink(name, err);
  return rc == SHMP_OK || rc == -ENOENT ? 1 : rc;
}

SHMP_EXPORT int shmp_owned_count(void) {
  int n = 0;
  pid_t self = getpid();
  for (struct owned *o = smp_load_acquire(&owned_list); o != NULL; o = smp_load_acquire(&o->next))
    if (smp_load_acquire(&o->used) && READ_ONCE(&o->pid) == self) n++;
  return n;
}

/* Lock-free, for the signal handler as well as for exit paths. */
SHMP_EXPORT int shmp_owned_unlink_all(void) {
  int removed = 0;
  pid_t self = getpid();
  for (struct owned *o = smp_load_acquire(&owned_list); o != NULL; o = smp_load_acquire(&o->next)) {
    uint32_t before = smp_load_acquire(&o->seq);
    if (before & 1u) continue; /* another thread is rewriting it: not a name yet */
    if (!smp_load_acquire(&o->used) || READ_ONCE(&o->pid) != self) continue;
    char path[PATH_BYTES];
    memcpy(path, o->path, sizeof path);
    path[sizeof path - 1] = '\0';
    smp_mb(); /* the copy above is complete before the count is read again */
    if (READ_ONCE(&o->seq) != before) continue; /* rewritten meanwhile: the copy may be torn */
    WRITE_ONCE(&o->used, 0);
    if (unlink(path) == 0) removed++;
  }
  return removed;
}

/* ---- the signal policy -------------------------------------------------------- */

static const int policy_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define POLICY_SIGNALS (sizeof policy_signals / sizeof *policy_signals)

static void unlink_and_die(int sig) {
  int saved = errno;
  shmp_owned_unlink_all();
  /* The default course: the process ends by the signal, as it would have
   * without us (its parent sees "killed by SIGTERM", not an exit code). */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  pthread_sigmask(SIG_UNBLOCK, &only, NULL);
  raise(sig);
  errno = saved;
}

SHMP_EXPORT int shmp_owned_unlink_on_signals(void) {
  int installed = 0;
  for (size_t i = 0; i < POLICY_SIGNALS; i++) {
    struct sigaction current;
    if (sigaction(policy_signals[i], NULL, &current) != 0) return -errno;
    if (current.sa_handler == unlink_and_die) {
      installed++;
      continue;
    }
    /* A handler or SIG_IGN is the program's (or its runtime's) choice. */
    if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) continue;
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    ours.sa_handler = unlink_and_die;
    sigemptyset(&ours.sa_mask);
    ours.sa_flags = SA_ONSTACK; /* Go's runtime requires it of every handler in its process */
    if (sigaction(policy_signals[i], &ours, NULL) != 0) return -errno;
    installed++;
  }
  return installed;
}
