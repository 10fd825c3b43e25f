/* Registration of the routines R calls (.Call), and the check that the
 * compiled-in core is the one this glue was written for. */
#include <R_ext/Rdynload.h>

#include "shmpipe_r.h"

SEXP shmp_r_open(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP shmp_r_close(SEXP, SEXP);
SEXP shmp_r_is_open(SEXP);
SEXP shmp_r_name(SEXP);
SEXP shmp_r_recv_bytes(SEXP, SEXP);
SEXP shmp_r_send_bytes(SEXP, SEXP, SEXP);
SEXP shmp_r_unlink(SEXP);
SEXP shmp_r_version(void);
SEXP shmp_r_monotonic_ns(void);
SEXP shmp_r_write_batch(SEXP, SEXP, SEXP, SEXP);
SEXP shmp_r_read_batch(SEXP, SEXP, SEXP);
SEXP shmp_r_release_batch(SEXP);
SEXP shmp_r_batch_lease(SEXP);
SEXP shmp_r_lease_view_bytes(SEXP);
SEXP shmp_r_release_lease_copying(SEXP);
SEXP shmp_r_copied_bytes(void);
SEXP shmp_r_is_shared(SEXP);
SEXP shmp_r_publish_table(SEXP, SEXP, SEXP);
SEXP shmp_r_close_publication(SEXP);
SEXP shmp_r_publication_open(SEXP);
SEXP shmp_r_open_table(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP shmp_r_unpublish(SEXP);
SEXP shmp_r_owned_unlink_all(void);
void shmp_r_init_altrep(DllInfo *info);
void shmp_r_init_altstring(DllInfo *info);
void shmp_r_init_altrep_gone(DllInfo *info);
void shmp_r_init_altconverted(DllInfo *info);

static const R_CallMethodDef routines[] = {
    {"shmp_r_open", (DL_FUNC)&shmp_r_open, 5},
    {"shmp_r_close", (DL_FUNC)&shmp_r_close, 2},
    {"shmp_r_is_open", (DL_FUNC)&shmp_r_is_open, 1},
    {"shmp_r_name", (DL_FUNC)&shmp_r_name, 1},
    {"shmp_r_recv_bytes", (DL_FUNC)&shmp_r_recv_bytes, 2},
    {"shmp_r_send_bytes", (DL_FUNC)&shmp_r_send_bytes, 3},
    {"shmp_r_unlink", (DL_FUNC)&shmp_r_unlink, 1},
    {"shmp_r_version", (DL_FUNC)&shmp_r_version, 0},
    {"shmp_r_monotonic_ns", (DL_FUNC)&shmp_r_monotonic_ns, 0},
    {"shmp_r_write_batch", (DL_FUNC)&shmp_r_write_batch, 4},
    {"shmp_r_read_batch", (DL_FUNC)&shmp_r_read_batch, 3},
    {"shmp_r_release_batch", (DL_FUNC)&shmp_r_release_batch, 1},
    {"shmp_r_batch_lease", (DL_FUNC)&shmp_r_batch_lease, 1},
    {"shmp_r_lease_view_bytes", (DL_FUNC)&shmp_r_lease_view_bytes, 1},
    {"shmp_r_release_lease_copying", (DL_FUNC)&shmp_r_release_lease_copying, 1},
    {"shmp_r_copied_bytes", (DL_FUNC)&shmp_r_copied_bytes, 0},
    {"shmp_r_is_shared", (DL_FUNC)&shmp_r_is_shared, 1},
    {"shmp_r_publish_table", (DL_FUNC)&shmp_r_publish_table, 3},
    {"shmp_r_close_publication", (DL_FUNC)&shmp_r_close_publication, 1},
    {"shmp_r_publication_open", (DL_FUNC)&shmp_r_publication_open, 1},
    {"shmp_r_open_table", (DL_FUNC)&shmp_r_open_table, 5},
    {"shmp_r_unpublish", (DL_FUNC)&shmp_r_unpublish, 1},
    {"shmp_r_owned_unlink_all", (DL_FUNC)&shmp_r_owned_unlink_all, 0},
    {NULL, NULL, 0},
};

/* The ABI of the core this glue is written for (SHMP_ABI). */
#define CORE_ABI 1u

void R_init_shmpipe(DllInfo *info) {
  if (shmp_abi() != CORE_ABI)
    Rf_error("shmpipe: the compiled-in C core %s has ABI %u, this package needs %u", shmp_version(), shmp_abi(), CORE_ABI);
  R_registerRoutines(info, NULL, routines, NULL, NULL);
  shmp_r_init_altrep(info);
  shmp_r_init_altstring(info);
  shmp_r_init_altrep_gone(info);
  shmp_r_init_altconverted(info);
  R_useDynamicSymbols(info, FALSE);
}
