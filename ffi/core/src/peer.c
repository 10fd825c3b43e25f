/* Process liveness that survives pid reuse: a pid plus the low 32 bits of
 * its start time (field 22 of /proc/PID/stat, in clock ticks since boot). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomics.h"
#include "wait.h"

/* Reads /proc/PID/stat; returns 1 and fills state and start tag, 0 if the
 * process does not exist (or the file cannot be parsed). */
static int read_stat(uint32_t pid, char *state, uint32_t *start_tag) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%u/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  /* The command name (field 2) may hold spaces and parentheses: fields are
   * counted from the last ')'. */
  char *p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ') return 0;
  p += 2;
  *state = *p;
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (p == NULL) return 0;
    p++;
  }
  unsigned long long start = 0;
  if (sscanf(p, "%llu", &start) != 1) return 0;
  *start_tag = (uint32_t)start;
  return 1;
}

uint32_t shmp_process_start_tag(uint32_t pid) {
  char state;
  uint32_t tag = 0;
  return read_stat(pid, &state, &tag) ? tag : 0;
}

int shmp_process_alive(uint32_t pid, uint32_t start_tag) {
  char state;
  uint32_t tag;
  if (pid == 0 || !read_stat(pid, &state, &tag)) return 0;
  /* A killed child stays a zombie until reaped: it is gone all the same. */
  if (state == 'Z' || state == 'X' || state == 'x') return 0;
  return tag == start_tag;
}

uint64_t shmp_self_peer_word(void) {
  uint32_t pid = (uint32_t)getpid();
  return ((uint64_t)pid << 32) | shmp_process_start_tag(pid);
}

int shmp_peer_gone(shmp_peer_word *peer) {
  uint64_t word = smp_load_acquire(peer);
  if (word == 0) return 0; /* not attached yet: nothing to be gone */
  return !shmp_process_alive((uint32_t)(word >> 32), (uint32_t)word);
}
