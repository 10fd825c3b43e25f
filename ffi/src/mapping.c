/* A reference count around a mapping, so that views handed to garbage
 * collected languages keep the memory mapped: the last reference unmaps. */
#include <stdlib.h>
#include <sys/mman.h>

#include "layout.h"

struct shmp_mapping {
  _Atomic uint32_t refs;
  void *base;
  uint64_t size;
};

SHMP_EXPORT shmp_mapping *shmp_mapping_new(void *base, uint64_t size) {
  shmp_mapping *m = malloc(sizeof *m);
  if (m == NULL) return NULL;
  atomic_init(&m->refs, 1);
  m->base = base;
  m->size = size;
  return m;
}

SHMP_EXPORT void shmp_mapping_ref(shmp_mapping *m) { atomic_fetch_add(&m->refs, 1); }

SHMP_EXPORT void shmp_mapping_unref(shmp_mapping *m) {
  if (atomic_fetch_sub(&m->refs, 1) != 1) return;
  munmap(m->base, m->size);
  free(m);
}

SHMP_EXPORT uint32_t shmp_mapping_refs(const shmp_mapping *m) {
  return atomic_load((_Atomic uint32_t *)&m->refs);
}

/* The garbage collector's free callback: `bytes` is the view's own start,
 * which we do not need; the context is the mapping. */
SHMP_EXPORT void shmp_view_deallocator(void *bytes, void *mapping) {
  (void)bytes;
  shmp_mapping_unref(mapping);
}
