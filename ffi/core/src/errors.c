/* Names and sentences for every code the core returns, and the one function
 * that writes them into a caller's shmp_error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "layout.h"

struct code_text {
  int code;
  const char *name;
  const char *message;
};

static const struct code_text own[] = {
    {SHMP_OK, "OK", "success"},
    {SHMP_E_BAD_MAGIC, "EBADMAGIC", "not a shmpipe segment (bad magic number)"},
    {SHMP_E_ABI, "EABI", "segment was made by an incompatible shmpipe version (format mismatch)"},
    {SHMP_E_TRUNCATED, "ETRUNCATED", "segment is smaller than its header says"},
    {SHMP_E_CORRUPT, "ECORRUPT", "segment header or a record in it is corrupt"},
    {SHMP_E_PEER_GONE, "EPEERGONE", "the process at the other end of the channel died"},
    {SHMP_E_TIMEOUT, "ETIMEOUT", "timed out waiting for the other end"},
    {SHMP_E_CLOSED, "ECLOSED", "the channel is closed"},
    {SHMP_E_TOO_LARGE, "ETOOLARGE", "record is larger than the channel can ever hold"},
    {SHMP_E_BUSY, "EINUSE", "another live process already holds this end of the channel"},
    {SHMP_E_NOT_READY, "ENOTREADY", "segment exists but its creator has not finished setting it up"},
    {SHMP_E_AGAIN, "ENOTYET", "no record is available yet"},
    {SHMP_E_STATE, "ESTATE", "call out of order"},
    {SHMP_E_INVALID, "EBADARG", "invalid argument"},
    {SHMP_E_ARROW, "EARROW", "record is not a valid Arrow IPC message"},
    {SHMP_E_UNREAD, "EUNREAD", "records written to the channel were never read"},
    {SHMP_E_TYPE, "ETYPE", "the Arrow message is valid, but holds a column this reader cannot convert"},
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

#define COUNT(table) (sizeof table / sizeof *table)

static const struct code_text *find(const struct code_text *t, size_t n, int code) {
  for (size_t i = 0; i < n; i++)
    if (t[i].code == code) return &t[i];
  return NULL;
}

SHMP_EXPORT const char *shmp_error_name(int code) {
  const struct code_text *t = find(own, COUNT(own), code);
  if (t == NULL && code < 0) t = find(sys, COUNT(sys), -code);
  return t ? t->name : "EUNKNOWN";
}

static const char *code_message(int code) {
  const struct code_text *t = find(own, COUNT(own), code);
  if (t) return t->message;
  if (code < 0 && code > -4096) return strerror(-code);
  return "unknown error";
}

/* Operations on a published table by its name: their sentences say "table". */
static int table_op(const char *op) {
  return op != NULL && (strcmp(op, "open_table") == 0 || strcmp(op, "unpublish") == 0);
}

/* What a user can do about an error, where the code and the operation alone say enough. */
const char *shmp_code_hint(int code, const char *op) {
  switch (code) {
    case -ENOENT:
      if (table_op(op)) return "No table by that name is published: publish it first, or check the name";
      if (op != NULL && strcmp(op, "unlink") == 0) return "No segment by that name exists: check the name";
      return "No channel by that name exists: start the side that creates it first, or check the name";
    case -EEXIST: return "Pick another name, or remove the segment if nothing uses it (it lives in /dev/shm)";
    case -EACCES:
    case -EPERM: return "The segment belongs to another user or its mode forbids access";
    case -ENOSPC:
    case -ENOMEM: return "/dev/shm has no room for a segment this size: free space there or ask for a smaller capacity";
    case SHMP_E_PEER_GONE: return "The other process exited without closing the channel";
    case SHMP_E_TIMEOUT: return "Raise the timeout if the other side is just slow, or check that it is running";
    case SHMP_E_BAD_MAGIC:
    case SHMP_E_ABI:
    case SHMP_E_TRUNCATED:
    case SHMP_E_CORRUPT: return "Something other than a matching shmpipe wrote this memory; recreate the channel";
    case SHMP_E_ARROW: return "The message is not valid Arrow, or uses a type shmpipe does not read yet";
    case SHMP_E_TYPE: return "The writer can send that column as a type the reader's language has (see its conversion table)";
    case SHMP_E_UNREAD:
      return "Open a reader before the writer closes, or wait for the readers with drain() (Drain in Go) before closing";
    default: return NULL;
  }
}

/* Appends to `out` (always NUL-terminated); returns the new length. */
__attribute__((format(printf, 4, 5))) static size_t appendf(char *out, size_t len, size_t cap, const char *fmt, ...) {
  if (len + 1 >= cap) return len;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out + len, cap - len, fmt, ap);
  va_end(ap);
  if (n < 0) return len;
  return len + (size_t)n < cap ? len + (size_t)n : cap - 1;
}

/* Copies `text`, with control characters shown as '?': a name that was
 * refused for holding them must not break the message's line. */
static void copy_text(char *out, size_t cap, const char *text) {
  snprintf(out, cap, "%s", text ? text : "");
  for (char *c = out; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
}

static int fill(shmp_error *err, int code, const char *op, const char *segment, const char *hint, const char *fmt,
                va_list ap) {
  if (err == NULL) return code;
  char detail[SHMP_ERROR_MESSAGE_MAX] = "";
  if (fmt != NULL) vsnprintf(detail, sizeof detail, fmt, ap);
  /* The detail follows a full stop: it starts a sentence of its own. */
  if (detail[0] >= 'a' && detail[0] <= 'z') detail[0] = (char)(detail[0] - 'a' + 'A');
  err->code = code;
  copy_text(err->op, sizeof err->op, op);
  copy_text(err->segment, sizeof err->segment, segment);
  size_t cap = sizeof err->message, len = 0;
  err->message[0] = '\0';
  len = appendf(err->message, len, cap, "%s on segment \"%s\" failed: %s [%s]", err->op, err->segment,
                code_message(code), shmp_error_name(code));
  if (detail[0] != '\0') len = appendf(err->message, len, cap, ". %s", detail);
  if (hint == NULL) hint = shmp_code_hint(code, op);
  if (hint != NULL && hint[0] != '\0') appendf(err->message, len, cap, ". %s", hint);
  return code;
}

int shmp_fail(shmp_error *err, int code, const char *op, const char *segment, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fill(err, code, op, segment, NULL, fmt, ap);
  va_end(ap);
  return code;
}

int shmp_fail_hint(shmp_error *err, int code, const char *op, const char *segment, const char *hint, const char *fmt,
                   ...) {
  va_list ap;
  va_start(ap, fmt);
  fill(err, code, op, segment, hint, fmt, ap);
  va_end(ap);
  return code;
}

SHMP_EXPORT int shmp_error_set(shmp_error *err, int code, const char *op, const char *segment, const char *detail) {
  return shmp_fail(err, code, op, segment, "%s", detail ? detail : "");
}

_Static_assert(offsetof(shmp_error, op) == 4, "shmp_error layout is ABI");
_Static_assert(offsetof(shmp_error, segment) == 20, "shmp_error layout is ABI");
_Static_assert(offsetof(shmp_error, message) == 276, "shmp_error layout is ABI");
_Static_assert(sizeof(shmp_error) == 788, "shmp_error layout is ABI");
