/* glibc's GNU extensions to posix_spawn (glibc >= 2.34). Swift's Glibc module is built without
   _GNU_SOURCE, so they are declared here; the symbols come from libc itself. */
#include <spawn.h>

int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *__restrict actions, const char *__restrict path);
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/* POSIX_SPAWN_SETSID from glibc's <spawn.h> (hidden without _GNU_SOURCE). */
static const short trueup_POSIX_SPAWN_SETSID = 0x80;
