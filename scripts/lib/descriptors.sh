# Sourced by scripts/mlflow-server and scripts/ray-head.

# Runs the rest of a subshell that outlives this script (a server, its watcher) without the
# descriptors the caller passed beyond stdin/stdout/stderr. A test process starts several
# children at once, and a pipe it made for one of them (to read `scripts/ray-head start` to its
# end, say) is inherited by whatever it starts meanwhile: a server holding that pipe would keep
# its reader waiting forever. Foundation's Process also passes a socket it watches to learn that
# its child ended, which a server must not hold either. The script that sources this keeps them:
# it ends.
close_inherited_descriptors() {
  local fd
  for fd in $(ls "/proc/$BASHPID/fd"); do
    case "$fd" in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
  done
}

