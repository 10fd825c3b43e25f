/* What bindings ask the library about itself: its version and ABI, and the
 * values of constants, so that no binding keeps copies of numbers. */
#include <stddef.h>
#include <string.h>

#include "layout.h"

SHMP_EXPORT const char *shmp_version(void) { return SHMP_VERSION; }

/* The Makefile's abi-test-lib builds a library claiming another ABI, so
 * that the bindings' tests can see them refuse it. */
#ifndef SHMP_ABI_BUILT
#define SHMP_ABI_BUILT SHMP_ABI
#endif

SHMP_EXPORT uint32_t shmp_abi(void) { return SHMP_ABI_BUILT; }

static const struct {
  const char *name;
  int64_t value;
} constants[] = {
    {"ARROW_SCHEMA", SHMP_ARROW_SCHEMA},
    {"ARROW_DICTIONARY", SHMP_ARROW_DICTIONARY},
    {"ARROW_RECORD_BATCH", SHMP_ARROW_RECORD_BATCH},
    {"NAME_MAX", SHMP_NAME_MAX},
    {"MAX_READERS", SHMP_MAX_READERS},
    {"ERROR_SIZE", sizeof(shmp_error)},
    {"DEFAULT_CAPACITY", SHMP_DEFAULT_CAPACITY},
    {"DEFAULT_SPIN", SHMP_DEFAULT_SPIN},
    {"DEFAULT_BATCH_RECORDS", SHMP_DEFAULT_BATCH_RECORDS},
    {"COPY_BELOW", SHMP_COPY_BELOW},
    {"DEFAULT_TIMEOUT_NS", SHMP_DEFAULT_TIMEOUT_NS},
    {"DEFAULT_READY_TIMEOUT_NS", SHMP_DEFAULT_READY_TIMEOUT_NS},
    {"OPEN_ALLOW_OTHER_OWNER", SHMP_OPEN_ALLOW_OTHER_OWNER},
    {"OPEN_READ_ONLY_DATA", SHMP_OPEN_READ_ONLY_DATA},
    {"OPEN_WAIT_FOR_NAME", SHMP_OPEN_WAIT_FOR_NAME},
    {"OPEN_INSPECT", SHMP_OPEN_INSPECT},
    {"OPEN_TABLE", SHMP_OPEN_TABLE},
    {"STAT_SIZE", sizeof(shmp_stat)},
    {"KIND_CHANNEL", SHMP_KIND_CHANNEL},
    {"KIND_TABLE", SHMP_KIND_TABLE},
    {"CALL_SHM_OPEN", SHMP_CALL_SHM_OPEN},
    {"CALL_FALLOCATE", SHMP_CALL_FALLOCATE},
    {"CALL_MMAP", SHMP_CALL_MMAP},
    {"CALL_FSTAT", SHMP_CALL_FSTAT},
    {"CALL_SHM_UNLINK", SHMP_CALL_SHM_UNLINK},
    {"HEADER_HEAD_OFFSET", offsetof(struct shmp_header, head)},
    {"LAYOUT_KIND", SHMP_LAYOUT_KIND},
    {"LAYOUT_PREFIX_LENGTH", SHMP_LAYOUT_PREFIX_LENGTH},
    {"LAYOUT_BODY_LENGTH", SHMP_LAYOUT_BODY_LENGTH},
    {"LAYOUT_ROWS", SHMP_LAYOUT_ROWS},
    {"LAYOUT_NODES", SHMP_LAYOUT_NODES},
    {"LAYOUT_BUFFERS", SHMP_LAYOUT_BUFFERS},
    {"LAYOUT_VARIADIC", SHMP_LAYOUT_VARIADIC},
    {"LAYOUT_DICTIONARY_ID", SHMP_LAYOUT_DICTIONARY_ID},
    {"LAYOUT_DELTA", SHMP_LAYOUT_DELTA},
    {"LAYOUT_HEADER", SHMP_LAYOUT_HEADER},
};

static const int own_codes[] = {
    SHMP_E_BAD_MAGIC, SHMP_E_ABI,  SHMP_E_TRUNCATED, SHMP_E_CORRUPT, SHMP_E_PEER_GONE,
    SHMP_E_TIMEOUT,   SHMP_E_CLOSED, SHMP_E_TOO_LARGE, SHMP_E_BUSY,  SHMP_E_NOT_READY,
    SHMP_E_AGAIN,     SHMP_E_STATE, SHMP_E_INVALID,  SHMP_E_ARROW, SHMP_E_UNREAD, SHMP_E_TYPE,
};

SHMP_EXPORT int64_t shmp_constant(const char *name) {
  if (name == NULL) return INT64_MIN;
  for (size_t i = 0; i < sizeof constants / sizeof *constants; i++)
    if (strcmp(constants[i].name, name) == 0) return constants[i].value;
  /* The core's codes, then system errors by name, as -errno: the core's
   * names (ENOTYET, EBADARG, EINUSE, ...) are none of errno's. */
  for (size_t i = 0; i < sizeof own_codes / sizeof *own_codes; i++)
    if (strcmp(shmp_error_name(own_codes[i]), name) == 0) return own_codes[i];
  for (int e = 1; e < 4096; e++)
    if (strcmp(shmp_error_name(-e), name) == 0) return -e;
  return INT64_MIN;
}
