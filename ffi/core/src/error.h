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

#endif
