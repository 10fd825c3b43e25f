/* Names and sentences for every code the core returns, so that every
 * binding reports the same error the same way. */
#include <errno.h>
#include <string.h>

#include "layout.h"

struct code_text {
  int code;
  const char *name;
  const char *message;
};

static const struct code_text own[] = {
    {SHMP_OK, "OK", "success"},
    {SHMP_E_BAD_MAGIC, "EBADMAGIC", "not a shmpipe segment (bad magic number)"},
    {SHMP_E_ABI, "EABI", "segment was made by an incompatible shmpipe version (ABI mismatch)"},
    {SHMP_E_TRUNCATED, "ETRUNCATED", "segment is smaller than its header says"},
    {SHMP_E_CORRUPT, "ECORRUPT", "segment header or a record in it is corrupt"},
    {SHMP_E_PEER_GONE, "EPEERGONE", "the process at the other end of the channel died"},
    {SHMP_E_TIMEOUT, "ETIMEOUT", "timed out waiting for the other end"},
    {SHMP_E_CLOSED, "ECLOSED", "the channel is closed"},
    {SHMP_E_TOO_LARGE, "ETOOLARGE", "record is larger than the channel can ever hold"},
    {SHMP_E_BUSY, "EBUSY", "another live process already holds this end of the channel"},
    {SHMP_E_NOT_READY, "ENOTREADY", "segment exists but its creator has not finished setting it up"},
    {SHMP_E_AGAIN, "EAGAIN", "no record is available yet"},
    {SHMP_E_STATE, "ESTATE", "call out of order (commit without claim, or claim twice)"},
    {SHMP_E_INVALID, "EINVAL", "invalid argument"},
    {SHMP_E_ARROW, "EARROW", "record is not a valid Arrow IPC message"},
};

/* The system errors a binding is likely to meet, by their usual names. */
static const struct code_text sys[] = {
    {EPERM, "EPERM", NULL},   {ENOENT, "ENOENT", NULL},   {EINTR, "EINTR", NULL},
    {EIO, "EIO", NULL},       {EBADF, "EBADF", NULL},     {EAGAIN, "EAGAIN", NULL},
    {ENOMEM, "ENOMEM", NULL}, {EACCES, "EACCES", NULL},   {EFAULT, "EFAULT", NULL},
    {EBUSY, "EBUSY", NULL},   {EEXIST, "EEXIST", NULL},   {ENODEV, "ENODEV", NULL},
    {EINVAL, "EINVAL", NULL}, {ENFILE, "ENFILE", NULL},   {EMFILE, "EMFILE", NULL},
    {EFBIG, "EFBIG", NULL},   {ENOSPC, "ENOSPC", NULL},   {ENAMETOOLONG, "ENAMETOOLONG", NULL},
    {ENOSYS, "ENOSYS", NULL}, {EOVERFLOW, "EOVERFLOW", NULL}, {ETIMEDOUT, "ETIMEDOUT", NULL},
};

static const struct code_text *find(const struct code_text *t, size_t n, int code) {
  for (size_t i = 0; i < n; i++)
    if (t[i].code == code) return &t[i];
  return NULL;
}

SHMP_EXPORT const char *shmp_error_name(int code) {
  const struct code_text *t = find(own, sizeof own / sizeof *own, code);
  if (t == NULL && code < 0) t = find(sys, sizeof sys / sizeof *sys, -code);
  return t ? t->name : "EUNKNOWN";
}

SHMP_EXPORT const char *shmp_error_message(int code) {
  const struct code_text *t = find(own, sizeof own / sizeof *own, code);
  if (t) return t->message;
  if (code < 0 && code > -4096) return strerror(-code);
  return "unknown error";
}

/* What a user can do about an error, where the code alone says enough to
 * tell; NULL otherwise. Bindings append it to their error messages. */
SHMP_EXPORT const char *shmp_error_hint(int code) {
  switch (code) {
    case -ENOENT: return "No channel by that name exists: start the side that creates it first, or check the name";
    case -EEXIST: return "A segment by that name exists already: pick another name, or remove the stale one (it lives in /dev/shm)";
    case -EACCES:
    case -EPERM: return "The segment belongs to another user or its mode forbids access";
    case -ENOSPC:
    case -ENOMEM: return "/dev/shm has no room for a segment this size: free space there or ask for a smaller capacity";
    case SHMP_E_PEER_GONE: return "The other process exited without closing the channel; records it committed were all delivered";
    case SHMP_E_TIMEOUT: return "Raise the timeout if the other side is just slow, or check that it is running";
    case SHMP_E_BAD_MAGIC:
    case SHMP_E_ABI:
    case SHMP_E_TRUNCATED:
    case SHMP_E_CORRUPT: return "Something other than a matching shmpipe wrote this memory; recreate the channel";
    case SHMP_E_ARROW: return "The writer sent something other than a valid Arrow IPC message";
    default: return NULL;
  }
}
