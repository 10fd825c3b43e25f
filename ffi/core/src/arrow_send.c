/* The rules of sending an Arrow stream down a channel, kept once for every
 * binding's Arrow writer. What stays in a binding is what only its Arrow
 * library can do: encode a message, tell whether a schema changed, and
 * which dictionaries a batch carries.
 *
 * The rules:
 *   - a stream starts with its schema, and the dictionaries come before
 *     the batches that use them;
 *   - a reader that joined mid-stream missed them: the schema (and with it
 *     every dictionary) is owed again;
 *   - every message is checked by the core before it is committed, so a
 *     message no reader could read is the writer's error, not every
 *     reader's; a message that failed (refused, or abandoned half-written)
 *     leaves the stream where the readers cannot know what was meant, so
 *     the schema is owed again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "layout.h"

struct shmp_arrow_sender {
  shmp_writer *writer;
  shmp_arrow_checker *checker; /* follows the stream as the readers will; knows the op */
  int schema_owed;
  char op[SHMP_ERROR_OP_MAX];
};

SHMP_EXPORT shmp_arrow_sender *shmp_arrow_sender_new(shmp_writer *w, const char *op, int trust_values,
                                                     shmp_error *err) {
  if (op == NULL) op = "send";
  if (w == NULL) {
    shmp_fail(err, SHMP_E_INVALID, op, "(none)", "An Arrow sender needs a writer");
    return NULL;
  }
  shmp_arrow_sender *s = calloc(1, sizeof *s);
  if (s == NULL) {
    shmp_fail(err, -ENOMEM, op, shmp_writer_name(w), "No memory for the Arrow sender");
    return NULL;
  }
  s->checker = shmp_arrow_checker_new(shmp_writer_name(w), op, err);
  if (s->checker == NULL) {
    free(s);
    return NULL;
  }
  shmp_arrow_checker_trust_values(s->checker, trust_values);
  s->writer = w;
  s->schema_owed = 1;
  snprintf(s->op, sizeof s->op, "%s", op);
  return s;
}

SHMP_EXPORT void shmp_arrow_sender_free(shmp_arrow_sender *s) {
  if (s == NULL) return;
  shmp_arrow_checker_free(s->checker);
  free(s);
}

SHMP_EXPORT int shmp_arrow_sender_schema_owed(shmp_arrow_sender *s) {
  if (shmp_writer_readers_joined(s->writer) != 0) s->schema_owed = 1;
  return s->schema_owed;
}

SHMP_EXPORT void shmp_arrow_sender_abort(shmp_arrow_sender *s) {
  uint64_t len;
  if (shmp_writer_claimed(s->writer, &len) != NULL) shmp_writer_abort(s->writer, NULL);
  s->schema_owed = 1;
}

SHMP_EXPORT int shmp_arrow_sender_commit(shmp_arrow_sender *s, uint64_t len, shmp_error *err) {
  uint64_t claimed = 0;
  const uint8_t *message = shmp_writer_claimed(s->writer, &claimed);
  if (message == NULL) return shmp_fail(err, SHMP_E_STATE, s->op, shmp_writer_name(s->writer), "Claim a record first");
  if (len > claimed)
    return shmp_fail(err, SHMP_E_INVALID, s->op, shmp_writer_name(s->writer),
                     "Length %llu is outside the %llu bytes claimed", (unsigned long long)len,
                     (unsigned long long)claimed);
  int kind = shmp_arrow_checker_check(s->checker, message, len, err);
  if (kind < 0) {
    shmp_arrow_sender_abort(s);
    return kind;
  }
  int rc = shmp_writer_commit(s->writer, len, err);
  if (rc != SHMP_OK) {
    s->schema_owed = 1;
    return rc;
  }
  if (kind == SHMP_ARROW_SCHEMA) s->schema_owed = 0;
  return kind;
}
