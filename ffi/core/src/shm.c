/* Named segments in /dev/shm: the name rule, sizes, creating and opening
 * (the owner check, the wait for a creator still at work), removing names,
 * and the reference count that keeps a mapping alive while views of it
 * exist. Bindings that make the system calls themselves (TypeScript) call
 * the same decisions one by one; shmp_segment_create/open below are the
 * same steps with the system calls made here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "error.h"
#include "layout.h"
#include "wait.h"

/* The largest ring: far beyond any machine's /dev/shm, and small enough
 * that every size stays exact in a JavaScript number. */
#define CAPACITY_MAX (UINT64_C(1) << 46)
#define SHM_NAME_BYTES (SHMP_NAME_MAX + sizeof "/" SHMP_NAME_PREFIX)
#define READY_POLL_NS 1000000 /* how often an opener looks again at a segment being set up */

static const char *NAME_RULE =
    "A channel name is 1-200 characters of letters, digits, '.', '_' and '-', not starting with '.' or '-'";

int shmp_name_ok(const char *name) {
  if (name == NULL || name[0] == '.' || name[0] == '-') return 0;
  size_t n = strnlen(name, SHMP_NAME_MAX + 1);
  if (n == 0 || n > SHMP_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
             c == '-';
    if (!ok) return 0;
  }
  return 1;
}

static const char *shown(const char *name) { return name ? name : "(null)"; }

SHMP_EXPORT int shmp_shm_name(const char *name, const char *op, char *out, uint64_t out_len, shmp_error *err) {
  if (!shmp_name_ok(name)) return shmp_fail(err, SHMP_E_INVALID, op, shown(name), "%s", NAME_RULE);
  if (out == NULL || out_len < SHM_NAME_BYTES)
    return shmp_fail(err, SHMP_E_INVALID, op, name, "the buffer for the shm name holds %llu bytes, not %zu",
                     (unsigned long long)out_len, SHM_NAME_BYTES);
  snprintf(out, out_len, "/%s%s", SHMP_NAME_PREFIX, name);
  return SHMP_OK;
}

SHMP_EXPORT int64_t shmp_create_size(const char *name, uint64_t capacity, uint32_t mode, shmp_error *err) {
  if (capacity == 0 || capacity > CAPACITY_MAX)
    return shmp_fail(err, SHMP_E_INVALID, "create", shown(name),
                     "capacity must be between 1 byte and 64 TiB (it is rounded up to whole 4096-byte pages), got %llu",
                     (unsigned long long)capacity);
  if ((mode & ~0777u) != 0 || (mode & 0600u) != 0600u)
    return shmp_fail(err, SHMP_E_INVALID, "create", shown(name),
                     "mode 0%o is not permission bits that let the owner read and write (0600 to 0777)", mode);
  uint64_t ring = (capacity + SHMP_PAGE - 1) / SHMP_PAGE * SHMP_PAGE;
  return (int64_t)(SHMP_HEADER_SIZE + ring);
}

/* ---- what a missing or a taken name says ----------------------------------- */

/* The optimal-string-alignment distance between `a` and `b` (a typo is an
 * insertion, a deletion, a substitution or two letters swapped), or
 * `limit` + 1 once it is known to be larger. Names are at most
 * SHMP_NAME_MAX bytes. */
static size_t typo_distance(const char *a, const char *b, size_t limit) {
  size_t n = strnlen(a, SHMP_NAME_MAX), m = strnlen(b, SHMP_NAME_MAX);
  if ((n > m ? n - m : m - n) > limit) return limit + 1;
  size_t rows[3][SHMP_NAME_MAX + 1];
  size_t *before = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= m; j++) prev[j] = j;
  for (size_t i = 1; i <= n; i++) {
    cur[0] = i;
    size_t best = cur[0];
    for (size_t j = 1; j <= m; j++) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t d = prev[j - 1] + cost;
      if (prev[j] + 1 < d) d = prev[j] + 1;
      if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && before[j - 2] + 1 < d) d = before[j - 2] + 1;
      cur[j] = d;
      if (d < best) best = d;
    }
    if (best > limit) return limit + 1;
    size_t *oldest = before;
    before = prev;
    prev = cur;
    cur = oldest;
  }
  return prev[m];
}

/* Writes into `out` the name in SHMP_SHM_DIR nearest to `name`, if one is a
 * typo away (1 edit for names up to 4 characters, 2 up to 10, else 3);
 * returns 1 if it found one. The nearest wins, then the first in byte
 * order, so the suggestion does not depend on the directory's order. */
static int nearest_name(const char *name, char *out, size_t cap) {
  int64_t need = shmp_segment_list(NULL, 0, NULL);
  if (need <= 0) return 0;
  size_t size = (size_t)need + 1024; /* room for names made meanwhile */
  char *list = calloc(1, size + 1);  /* zeros after the last whole name end the walk */
  if (list == NULL) return 0;
  shmp_segment_list(list, size, NULL);
  size_t len = strnlen(name, SHMP_NAME_MAX);
  size_t limit = len <= 4 ? 1 : len <= 10 ? 2 : 3, best = limit + 1;
  const char *found = NULL;
  for (const char *p = list; p < list + size && *p != '\0'; p += strlen(p) + 1) {
    if (strcmp(p, name) == 0) continue;
    size_t d = typo_distance(name, p, best < limit ? best : limit);
    if (d < best || (d == best && d <= limit && found != NULL && strcmp(p, found) < 0)) {
      best = d;
      found = p;
    }
  }
  if (found != NULL) snprintf(out, cap, "%s", found);
  free(list);
  return found != NULL;
}

/* A name no segment has: the code's hint for `op`, then the nearest
 * existing name, if one is a typo away. */
static int name_missing(shmp_error *err, int code, const char *op, const char *name, const char *detail) {
  if (err == NULL) return code;
  char near[SHMP_NAME_MAX + 1], hint[SHMP_ERROR_MESSAGE_MAX];
  const char *usual = shmp_code_hint(code, op);
  if (name != NULL && nearest_name(name, near, sizeof near))
    snprintf(hint, sizeof hint, "%s. Did you mean \"%s\"?", usual ? usual : "Check the name", near);
  else
    snprintf(hint, sizeof hint, "%s", usual ? usual : "");
  return detail ? shmp_fail_hint(err, code, op, shown(name), hint, "%s", detail)
                : shmp_fail_hint(err, code, op, shown(name), hint, NULL);
}

extern char **environ;

/* The runner of a pipeline names each stage's channels in its environment
 * (SHMPIPE_CHANNEL_<NAME>=<segment>). Writes into `out` the variable that
 * names `name`, if this process has one: then it is a pipeline stage, and
 * the runner made that channel. */
static int pipeline_channel(const char *name, char *out, size_t cap) {
  static const char prefix[] = "SHMPIPE_CHANNEL_";
  for (char **entry = environ; entry != NULL && *entry != NULL; entry++) {
    if (strncmp(*entry, prefix, sizeof prefix - 1) != 0) continue;
    const char *equals = strchr(*entry, '=');
    if (equals == NULL || strcmp(equals + 1, name) != 0) continue;
    snprintf(out, cap, "%.*s", (int)(equals - *entry), *entry);
    return 1;
  }
  return 0;
}

/* Whether the process that created the existing segment `name` lives: 1,
 * 0, 2 for a persistent published table (meant to outlive its creator), or
 * -1 if that cannot be told (not a shmpipe segment, not readable). */
static int creator_alive(const char *name, uint32_t *pid) {
  char path[SHM_NAME_BYTES];
  if (shmp_shm_name(name, "create", path, sizeof path, NULL) != SHMP_OK) return -1;
  int fd = shm_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0); /* a FIFO must not block us */
  if (fd < 0) return -1;
  struct stat st;
  void *header = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size >= SHMP_HEADER_SIZE)
    header = mmap(NULL, SHMP_HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (header == MAP_FAILED) return -1;
  const struct shmp_header *h = header;
  int alive = -1;
  if (smp_load_acquire(&((struct shmp_header *)header)->magic) == SHMP_MAGIC) {
    *pid = READ_PLAIN_ONCE(h->creator_pid);
    alive = shmp_process_alive(*pid, READ_PLAIN_ONCE(h->creator_start_tag));
    uint32_t flags = smp_load_acquire(&((struct shmp_header *)header)->flags);
    if ((flags & SHMP_FLAG_PERSISTENT) && (flags & SHMP_FLAG_SEALED)) alive = 2;
  }
  munmap(header, SHMP_HEADER_SIZE);
  return alive;
}

SHMP_EXPORT int shmp_syscall_failed(shmp_error *err, const char *op, const char *name, uint32_t call, int errno_value,
                                    uint64_t size) {
  int code = -(errno_value > 0 ? errno_value : EIO);
  uint32_t pid = 0;
  if (call == SHMP_CALL_SHM_OPEN && code == -EEXIST) {
    char variable[64];
    switch (creator_alive(name, &pid)) {
      case 1:
        if (pid != (uint32_t)getpid() && pipeline_channel(name, variable, sizeof variable))
          return shmp_fail_hint(err, code, op, shown(name),
                                "A pipeline stage opens its channels (open_writer, open_reader): the runner created them",
                                "it is a channel of the pipeline that started this process (%s), created by its "
                                "runner (pid %u)",
                                variable, pid);
        return shmp_fail(err, code, op, shown(name), "it is in use: its creator (pid %u) is running", pid);
      case 2:
        return shmp_fail(err, code, op, shown(name),
                         "it is a persistent published table (published by pid %u): unpublish it by name first", pid);
      case 0:
        return shmp_fail(err, code, op, shown(name),
                         "it is stale: its creator (pid %u) has exited; remove it with `shmpipe rm %s` (or `rm %s/%s%s`)",
                         pid, name, SHMP_SHM_DIR, SHMP_NAME_PREFIX, name);
      default: break;
    }
  }
  if (code == -ENOENT && (call == SHMP_CALL_SHM_OPEN || call == SHMP_CALL_SHM_UNLINK))
    return name_missing(err, code, op, name, NULL);
  switch (call) {
    case SHMP_CALL_FALLOCATE:
      return shmp_fail(err, code, op, shown(name), "could not reserve %llu bytes in /dev/shm", (unsigned long long)size);
    case SHMP_CALL_MMAP:
      return shmp_fail(err, code, op, shown(name), "could not map %llu bytes", (unsigned long long)size);
    default: return shmp_fail(err, code, op, shown(name), NULL);
  }
}

/* The operation an open is, as its sentences name it. */
static const char *open_op(uint32_t flags) { return (flags & SHMP_OPEN_TABLE) ? "open_table" : "open"; }

SHMP_EXPORT int shmp_open_missing(const char *name, uint32_t flags, int64_t waited_ns, int64_t ready_timeout_ns,
                                  shmp_error *err) {
  const char *op = open_op(flags);
  if (shmp_pending_signal()) return shmp_fail(err, -EINTR, op, shown(name), "%s", shmp_signal_detail());
  if ((flags & SHMP_OPEN_WAIT_FOR_NAME) && (ready_timeout_ns < 0 || waited_ns < ready_timeout_ns))
    return shmp_fail(err, SHMP_E_AGAIN, op, shown(name), "it has not been created yet: look again shortly");
  if (flags & SHMP_OPEN_WAIT_FOR_NAME) {
    char detail[64];
    snprintf(detail, sizeof detail, "waited %lld ms for it to be created", (long long)(waited_ns / 1000000));
    return name_missing(err, -ENOENT, op, name, detail);
  }
  return shmp_syscall_failed(err, op, name, SHMP_CALL_SHM_OPEN, ENOENT, 0);
}

SHMP_EXPORT int shmp_segment_check_file(const char *name, uint32_t st_mode, shmp_error *err) {
  if (S_ISREG(st_mode)) return SHMP_OK;
  const char *what = S_ISFIFO(st_mode) ? "a FIFO" : S_ISDIR(st_mode) ? "a directory" : S_ISLNK(st_mode) ? "a symbolic link"
                     : S_ISSOCK(st_mode) ? "a socket" : "a device";
  return shmp_fail(err, SHMP_E_BAD_MAGIC, "open", shown(name), "%s/%s%s is %s, not a file: not a shmpipe segment",
                   SHMP_SHM_DIR, SHMP_NAME_PREFIX, shown(name), what);
}

/* ---- the segment object ------------------------------------------------------ */

static shmp_segment *wrap(const char *name, void *base, uint64_t size, uint64_t capacity, const char *op,
                          shmp_error *err) {
  shmp_segment *s = calloc(1, sizeof *s);
  if (s == NULL) {
    shmp_fail(err, -ENOMEM, op, name, NULL);
    return NULL;
  }
  atomic_init(&s->refs, 1);
  s->fd = -1;
  s->base = base;
  s->size = size;
  s->capacity = capacity;
  snprintf(s->name, sizeof s->name, "%s", name);
  return s;
}

static const char *check_detail(int rc) {
  return rc == SHMP_E_TRUNCATED ? "the segment may have been cut short after it was made" : "";
}

SHMP_EXPORT shmp_segment *shmp_segment_format(const char *name, void *base, uint64_t size, shmp_error *err) {
  if (!shmp_name_ok(name)) {
    shmp_fail(err, SHMP_E_INVALID, "create", shown(name), "%s", NAME_RULE);
    return NULL;
  }
  int rc = shmp_header_format(base, size);
  if (rc == SHMP_E_BUSY) {
    shmp_fail(err, rc, "create", name, "the segment was set up already");
    return NULL;
  }
  if (rc != SHMP_OK) {
    shmp_fail(err, rc, "create", name, "a new segment is a zero-filled mapping of the size shmp_create_size() gives");
    return NULL;
  }
  uint64_t capacity = 0;
  rc = shmp_header_check(base, size, &capacity);
  if (rc != SHMP_OK) {
    shmp_fail(err, rc, "create", name, "%s", check_detail(rc));
    return NULL;
  }
  /* From here on the name is this process's to remove (on exit, on a
   * signal under the default action), until the binding forgets it. */
  if (shmp_owned_add(name, err) != SHMP_OK) return NULL;
  shmp_segment *s = wrap(name, base, size, capacity, "create", err);
  if (s != NULL) s->created = 1;
  else shmp_owned_forget(name);
  return s;
}

/* The one place where a table's segment gets its file: a descriptor of
 * its own (the caller's stays the caller's to close), checked to be the
 * file of the mapping's size, closed when the table is sealed
 * (shmp_writer_seal) or the segment unmapped. */
SHMP_EXPORT shmp_segment *shmp_table_format(const char *name, void *base, uint64_t size, int fd, shmp_error *err) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
    shmp_fail(err, SHMP_E_INVALID, "create", shown(name),
              "file descriptor %d is not the file of the %llu-byte segment being published", fd,
              (unsigned long long)size);
    return NULL;
  }
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) {
    shmp_fail(err, -errno, "create", shown(name), "could not keep the file of the table being published");
    return NULL;
  }
  shmp_segment *s = shmp_segment_format(name, base, size, err);
  if (s != NULL) s->fd = own;
  else close(own);
  return s;
}

/* Maps the record ring read-only (the header, where a reader keeps its
 * position, stays writable): with fan-out, no reader can change what
 * another reads. The ring is everything after the header. */
static int protect_records(void *base, uint64_t size) {
  return mprotect((uint8_t *)base + SHMP_HEADER_SIZE, size - SHMP_HEADER_SIZE, PROT_READ);
}

SHMP_EXPORT int shmp_segment_protect_records(shmp_segment *s, shmp_error *err) {
  if (protect_records(s->base, s->size) != 0)
    return shmp_syscall_failed(err, s->created ? "create" : "open", s->name, SHMP_CALL_MMAP, errno, s->size);
  return SHMP_OK;
}

/* shmp_segment_adopt, returning its code also when `err` is NULL. */
static int adopt(const char *name, void *base, uint64_t size, uint32_t owner_uid, uint32_t flags, int64_t waited_ns,
                 int64_t ready_timeout_ns, shmp_segment **out, shmp_error *err) {
  *out = NULL;
  const char *op = open_op(flags);
  if (!shmp_name_ok(name)) return shmp_fail(err, SHMP_E_INVALID, op, shown(name), "%s", NAME_RULE);
  uint32_t self = (uint32_t)getuid();
  if (owner_uid != self && !(flags & SHMP_OPEN_ALLOW_OTHER_OWNER))
    return shmp_fail(err, -EACCES, op, name,
                     "the segment belongs to uid %u, not to this user (uid %u); open it with the allow-other-owner "
                     "option to use it anyway",
                     owner_uid, self);
  uint64_t capacity = 0;
  int rc = shmp_header_check(base, size, &capacity);
  if (rc == SHMP_E_NOT_READY && shmp_pending_signal())
    return shmp_fail(err, -EINTR, op, name, "%s", shmp_signal_detail());
  if (rc == SHMP_E_NOT_READY) {
    if (ready_timeout_ns < 0 || waited_ns < ready_timeout_ns)
      return shmp_fail(err, SHMP_E_AGAIN, op, name, "its creator is still setting it up: look again shortly");
    return shmp_fail(err, rc, op, name, "waited %lld ms for its creator", (long long)(waited_ns / 1000000));
  }
  if (rc != SHMP_OK) return shmp_fail(err, rc, op, name, "%s", check_detail(rc));
  /* An inspector's mapping is read-only already (PROT_READ over O_RDONLY). */
  if ((flags & SHMP_OPEN_READ_ONLY_DATA) && !(flags & SHMP_OPEN_INSPECT) && protect_records(base, size) != 0)
    return shmp_syscall_failed(err, op, name, SHMP_CALL_MMAP, errno, size);
  *out = wrap(name, base, size, capacity, op, err);
  if (*out == NULL) return -ENOMEM;
  (*out)->inspecting = (flags & SHMP_OPEN_INSPECT) != 0;
  return SHMP_OK;
}

SHMP_EXPORT shmp_segment *shmp_segment_adopt(const char *name, void *base, uint64_t size, uint32_t owner_uid,
                                             uint32_t flags, int64_t waited_ns, int64_t ready_timeout_ns,
                                             shmp_error *err) {
  shmp_segment *s;
  adopt(name, base, size, owner_uid, flags, waited_ns, ready_timeout_ns, &s, err);
  return s;
}

/* ---- the same steps, with the system calls made here ------------------------- */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *map(int fd, uint64_t size, int prot, const char *op, const char *name, shmp_error *err) {
  void *base = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
  if (base != MAP_FAILED) return base;
  shmp_syscall_failed(err, op, name, SHMP_CALL_MMAP, errno, size);
  return NULL;
}

/* shmp_segment_create, keeping the file open in the segment if `keep_file`. */
static shmp_segment *create(const char *name, uint64_t capacity, uint32_t mode, int keep_file, shmp_error *err) {
  char path[SHM_NAME_BYTES];
  if (shmp_shm_name(name, "create", path, sizeof path, err) != SHMP_OK) return NULL;
  int64_t size = shmp_create_size(name, capacity, mode, err);
  if (size < 0) return NULL;
  int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) {
    shmp_syscall_failed(err, "create", name, SHMP_CALL_SHM_OPEN, errno, 0);
    return NULL;
  }
  /* Created: from here on, every failure removes the name again. Every
   * page is reserved now, so a full /dev/shm fails here rather than with
   * SIGBUS when a page is first touched. */
  shmp_segment *s = NULL;
  int rc = posix_fallocate(fd, 0, (off_t)size);
  if (rc != 0) {
    shmp_syscall_failed(err, "create", name, SHMP_CALL_FALLOCATE, rc, (uint64_t)size);
  } else {
    void *base = map(fd, (uint64_t)size, PROT_READ | PROT_WRITE, "create", name, err);
    if (base != NULL) {
      s = keep_file ? shmp_table_format(name, base, (uint64_t)size, fd, err) : shmp_segment_format(name, base, (uint64_t)size, err);
      if (s == NULL) munmap(base, (size_t)size);
    }
  }
  close(fd);
  if (s == NULL) shm_unlink(path); /* never recorded: format records only what it returns */
  return s;
}

SHMP_EXPORT shmp_segment *shmp_segment_create(const char *name, uint64_t capacity, uint32_t mode, shmp_error *err) {
  return create(name, capacity, mode, 0, err);
}

SHMP_EXPORT shmp_segment *shmp_table_create(const char *name, uint64_t capacity, uint32_t mode, shmp_error *err) {
  return create(name, capacity, mode, 1, err);
}

SHMP_EXPORT shmp_segment *shmp_segment_open(const char *name, uint32_t flags, int64_t ready_timeout_ns,
                                            shmp_error *err) {
  char path[SHM_NAME_BYTES];
  const char *op = open_op(flags);
  if (shmp_shm_name(name, op, path, sizeof path, err) != SHMP_OK) return NULL;
  int64_t start = now_ns();
  int fd;
  /* An inspector needs no write permission and gets none. */
  int inspect = (flags & SHMP_OPEN_INSPECT) != 0;
  /* O_NONBLOCK: a FIFO planted under the name would block the open for ever (regular files ignore it). */
  while ((fd = shm_open(path, (inspect ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_CLOEXEC, 0)) < 0) {
    int rc = errno == ENOENT ? shmp_open_missing(name, flags, now_ns() - start, ready_timeout_ns, err)
                             : shmp_syscall_failed(err, op, name, SHMP_CALL_SHM_OPEN, errno, 0);
    if (rc != SHMP_E_AGAIN) return NULL;
    nanosleep(&(struct timespec){0, READY_POLL_NS}, NULL);
  }
  shmp_segment *s = NULL;
  for (;;) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      shmp_syscall_failed(err, op, name, SHMP_CALL_FSTAT, errno, 0);
      break;
    }
    if (shmp_segment_check_file(name, (uint32_t)st.st_mode, err) != SHMP_OK) break;
    uint64_t size = (uint64_t)st.st_size;
    void *base = NULL;
    if (size > 0 && (base = map(fd, size, inspect ? PROT_READ : PROT_READ | PROT_WRITE, op, name, err)) == NULL)
      break;
    int rc = adopt(name, base, size, st.st_uid, flags, now_ns() - start, ready_timeout_ns, &s, err);
    if (rc == SHMP_OK) break;
    if (base != NULL) munmap(base, size);
    if (rc != SHMP_E_AGAIN) break;
    nanosleep(&(struct timespec){0, READY_POLL_NS}, NULL);
  }
  close(fd);
  return s;
}

SHMP_EXPORT int shmp_unlink(const char *name, shmp_error *err) {
  char path[SHM_NAME_BYTES];
  int rc = shmp_shm_name(name, "unlink", path, sizeof path, err);
  if (rc != SHMP_OK) return rc;
  int failed = shm_unlink(path) != 0 ? errno : 0;
  if (failed != EACCES && failed != EPERM) shmp_owned_forget(name); /* gone, by us or before */
  if (failed) return shmp_syscall_failed(err, "unlink", name, SHMP_CALL_SHM_UNLINK, failed, 0);
  return SHMP_OK;
}

/* ---- published tables by name ------------------------------------------------- */

SHMP_EXPORT int shmp_table_check_unpublish(const shmp_segment *s, shmp_error *err) {
  uint32_t flags = smp_load_acquire(&((struct shmp_header *)s->base)->flags);
  if (flags & SHMP_FLAG_SEALED) return SHMP_OK;
  return shmp_fail(err, SHMP_E_INVALID, "unpublish", s->name,
                   "it is a channel (or a table still being published), not a published table: only tables are "
                   "unpublished by name");
}

SHMP_EXPORT int shmp_table_unpublish(const char *name, uint32_t flags, shmp_error *err) {
  shmp_error own;
  if (err == NULL) err = &own;
  shmp_segment *s = shmp_segment_open(name, flags | SHMP_OPEN_READ_ONLY_DATA | SHMP_OPEN_TABLE, 0, err);
  if (s == NULL && err->code == -ENOENT) return shmp_syscall_failed(err, "unpublish", name, SHMP_CALL_SHM_OPEN, ENOENT, 0);
  if (s == NULL) return err->code;
  int rc = shmp_table_check_unpublish(s, err);
  shmp_segment_unref(s);
  if (rc != SHMP_OK) return rc;
  char path[SHM_NAME_BYTES];
  shmp_shm_name(name, "unpublish", path, sizeof path, NULL);
  if (shm_unlink(path) != 0) return shmp_syscall_failed(err, "unpublish", name, SHMP_CALL_SHM_UNLINK, errno, 0);
  /* Gone: if it was this process's, it is no longer (a later segment
   * under the name is someone else's). */
  shmp_owned_forget(name);
  return SHMP_OK;
}

/* ---- using a segment ----------------------------------------------------------- */

SHMP_EXPORT void *shmp_segment_base(const shmp_segment *s) { return s->base; }
SHMP_EXPORT uint64_t shmp_segment_length(const shmp_segment *s) { return s->size; }
SHMP_EXPORT const char *shmp_segment_name(const shmp_segment *s) { return s->name; }
SHMP_EXPORT uint64_t shmp_segment_capacity(const shmp_segment *s) { return s->capacity; }

SHMP_EXPORT uint32_t shmp_segment_creator_pid(const shmp_segment *s) {
  return READ_PLAIN_ONCE(((const struct shmp_header *)s->base)->creator_pid);
}

SHMP_EXPORT int shmp_segment_range(const shmp_segment *s, uint64_t offset, uint64_t length, const char *op,
                                   shmp_error *err) {
  if (offset <= s->size && length <= s->size - offset) return SHMP_OK;
  return shmp_fail(err, SHMP_E_INVALID, op, s->name, "view [%llu, %llu) is outside the %llu-byte mapping",
                   (unsigned long long)offset, (unsigned long long)(offset + length), (unsigned long long)s->size);
}

/* The count lives in this process's memory: plain C11 atomics suffice. */
SHMP_EXPORT void shmp_segment_ref(shmp_segment *s) { atomic_fetch_add(&s->refs, 1); }

/* Copies through the file: tmpfs then fills its pages in write(2) itself,
 * where a copy through the mapping first takes a page fault per 4 KiB page
 * (about 0.45 s against 0.7 s for 1 GiB measured; shmpipe bench --only
 * publish). */
SHMP_EXPORT int shmp_segment_write(shmp_segment *s, uint64_t offset, const void *data, uint64_t length,
                                   shmp_error *err) {
  int rc = shmp_segment_range(s, offset, length, "write", err);
  if (rc != SHMP_OK) return rc;
  if (s->fd < 0) {
    if (length > 0) memcpy((uint8_t *)s->base + offset, data, length);
    return SHMP_OK;
  }
  for (uint64_t done = 0; done < length;) {
    ssize_t n = pwrite(s->fd, (const uint8_t *)data + done, length - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return shmp_fail(err, n < 0 ? -errno : -EIO, "write", s->name, "could not write %llu bytes at offset %llu",
                       (unsigned long long)(length - done), (unsigned long long)(offset + done));
    done += (uint64_t)n;
  }
  return SHMP_OK;
}

void shmp_segment_close_file(shmp_segment *s) {
  if (s->fd < 0) return;
  close(s->fd);
  s->fd = -1;
}

SHMP_EXPORT void shmp_segment_unref(shmp_segment *s) {
  if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1) return;
  shmp_segment_close_file(s);
  munmap(s->base, s->size);
  free(s);
}

SHMP_EXPORT uint32_t shmp_segment_refs(const shmp_segment *s) { return atomic_load(&((shmp_segment *)s)->refs); }

/* `bytes` is the view's own start, which we do not need. */
SHMP_EXPORT void shmp_view_deallocator(void *bytes, void *segment) {
  (void)bytes;
  shmp_segment_unref(segment);
}
