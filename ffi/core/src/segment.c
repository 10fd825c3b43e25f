/* The segment header: formatting a new segment and validating a mapped
 * one. Everything read from the header is checked against the mapping
 * length before any binding makes a view of the memory. */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "atomics.h"
#include "layout.h"
#include "wait.h"

static int capacity_ok(uint64_t capacity) { return capacity >= SHMP_PAGE && capacity % SHMP_PAGE == 0; }

int shmp_header_format(void *base, uint64_t size) {
  if (base == NULL || size < SHMP_HEADER_SIZE || !capacity_ok(size - SHMP_HEADER_SIZE)) return SHMP_E_INVALID;
  struct shmp_header *h = base;
  if (READ_ONCE(&h->magic) != 0) return SHMP_E_BUSY; /* someone formatted it already */
  uint64_t self = shmp_self_peer_word();
  /* Plain stores: nobody reads them before the magic's RELEASE below. */
  h->format_version = SHMP_FORMAT_VERSION;
  h->header_size = SHMP_HEADER_SIZE;
  h->segment_size = size;
  h->capacity = size - SHMP_HEADER_SIZE;
  h->creator_pid = (uint32_t)(self >> 32);
  h->creator_uid = (uint32_t)getuid();
  h->creator_start_tag = (uint32_t)self;
  for (uint32_t i = 0; i < SHMP_MAX_READERS; i++) WRITE_ONCE(&h->slots[i].tail, SHMP_SLOT_FREE);
  /* An opener that ACQUIREs the magic sees the whole header. */
  smp_store_release(&h->magic, SHMP_MAGIC);
  return SHMP_OK;
}

int shmp_header_check(const void *base, uint64_t size, uint64_t *capacity_out) {
  if (base == NULL) return size == 0 ? SHMP_E_NOT_READY : SHMP_E_INVALID;
  if (size < sizeof(struct shmp_header)) return size == 0 ? SHMP_E_NOT_READY : SHMP_E_TRUNCATED;
  struct shmp_header *h = (struct shmp_header *)base;
  /* Pairs with the creator's RELEASE of the magic: the fields below were
   * written before it. */
  uint64_t magic = smp_load_acquire(&h->magic);
  if (magic == 0) return SHMP_E_NOT_READY;
  if (magic != SHMP_MAGIC) return SHMP_E_BAD_MAGIC;
  if (READ_PLAIN_ONCE(h->format_version) != SHMP_FORMAT_VERSION) return SHMP_E_ABI;
  if (READ_PLAIN_ONCE(h->header_size) != SHMP_HEADER_SIZE) return SHMP_E_CORRUPT;
  uint64_t capacity = READ_PLAIN_ONCE(h->capacity);
  uint64_t segment_size = READ_PLAIN_ONCE(h->segment_size);
  if (!capacity_ok(capacity) || segment_size != SHMP_HEADER_SIZE + capacity) return SHMP_E_CORRUPT;
  if (size < segment_size) return SHMP_E_TRUNCATED;
  uint64_t tail = smp_load_acquire(&h->tail);
  uint64_t head = smp_load_acquire(&h->head);
  if (tail > head || head - tail > capacity || head % SHMP_ALIGN || tail % SHMP_ALIGN) return SHMP_E_CORRUPT;
  *capacity_out = capacity;
  return SHMP_OK;
}

SHMP_EXPORT uint64_t shmp_record_footprint(uint64_t payload) { return shmp_record_size(payload); }
