/* Filling a shmp_error: the one place where error sentences are put
 * together, so that every binding reports every failure alike. */
#ifndef SHMP_ERROR_H
#define SHMP_ERROR_H

#include "shmpipe.h"

/* Fills `err` (if not NULL) with `code`, `op`, `segment` and the sentence
 *   <op> on segment "<segment>" failed: <what the code means> [<NAME>]. <detail>. <hint>
 * where the detail comes from `fmt` (may be NULL) and the hint is what a
 * user can do about the code, if the code alone says. Returns `code`. */
__attribute__((format(printf, 5, 6))) int shmp_fail(shmp_error *err, int code, const char *op, const char *segment,
                                                    const char *fmt, ...);

/* shmp_fail with the hint given: `hint` replaces the code's own ("" for
 * none, NULL for the code's). */
__attribute__((format(printf, 6, 7))) int shmp_fail_hint(shmp_error *err, int code, const char *op,
                                                         const char *segment, const char *hint, const char *fmt, ...);

/* What a user can do about `code` met in `op` ("open_table" and "unpublish"
 * are about tables), or NULL when the code alone does not say. */
const char *shmp_code_hint(int code, const char *op);

#endif
