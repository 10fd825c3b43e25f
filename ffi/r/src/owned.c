/* Names this process created and must remove. close() and the finalizers
 * (also at the end of the session) remove them; but SIGTERM and SIGHUP
 * would end R without either (R handles neither), so while a name is
 * owned a handler for each (installed only where the signal's action was
 * the default) removes the owned names, then lets the signal take its
 * course. The handler does only what is safe in a signal handler: it
 * reads flags and paths made beforehand and calls shm_unlink. */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmpipe_r.h"

#define OWNED_MAX 256 /* beyond that, a name is still removed by close() and at exit */

static char owned[OWNED_MAX][SHMP_NAME_MAX + 16]; /* shm_open names, "/shmpipe.<name>" */
static volatile sig_atomic_t used[OWNED_MAX];
static volatile pid_t owner[OWNED_MAX]; /* a child forked by parallel::mclapply inherits the table, not the names */
static int handlers_installed;

static void on_signal(int sig) {
  for (int i = 0; i < OWNED_MAX; i++)
    if (used[i] && owner[i] == getpid()) shm_unlink(owned[i]);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handlers(void) {
  if (handlers_installed) return;
  handlers_installed = 1;
  int signals[] = {SIGTERM, SIGHUP};
  for (int i = 0; i < 2; i++) {
    struct sigaction current;
    if (sigaction(signals[i], NULL, &current) != 0 || current.sa_handler != SIG_DFL) continue; /* someone else's */
    struct sigaction mine;
    memset(&mine, 0, sizeof mine);
    mine.sa_handler = on_signal;
    sigemptyset(&mine.sa_mask);
    sigaction(signals[i], &mine, NULL);
  }
}

void shmp_r_own(const char *name) {
  install_handlers();
  for (int i = 0; i < OWNED_MAX; i++) {
    if (used[i]) continue;
    if (shmp_shm_name(name, "open", owned[i], sizeof owned[i], NULL) != SHMP_OK) return;
    owner[i] = getpid();
    used[i] = 1;
    return;
  }
}

void shmp_r_disown(const char *name) {
  char shm_name[SHMP_NAME_MAX + 16];
  if (shmp_shm_name(name, "open", shm_name, sizeof shm_name, NULL) != SHMP_OK) return;
  for (int i = 0; i < OWNED_MAX; i++)
    if (used[i] && strcmp(owned[i], shm_name) == 0) {
      used[i] = 0;
      return;
    }
}

void shmp_r_unlink_owned(const char *name) {
  shmp_unlink(name, NULL);
  shmp_r_disown(name);
}
