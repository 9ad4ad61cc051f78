#!/usr/bin/env bash
# Entrypoint with the official redis image's interface:
#  - `docker run image --port 7000` (first argument starts with "-") or `docker run image x.conf` means
#    `redis-server ...`; any other command runs as given;
#  - protected mode is off: the official image compiles it off so that other containers can connect, while
#    Debian's build keeps it on, so `--protected-mode no` is added unless the arguments (or the given config
#    file) set protected-mode themselves. The default command thus runs `redis-server --protected-mode no`;
#  - started as root, it drops to the redis user and works in /data.
set -euo pipefail

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
  sets_protected_mode=false
  for arg in "${@:2}"; do
    case "$arg" in --protected-mode | protected-mode) sets_protected_mode=true ;; esac
  done
  if [ -n "${2:-}" ] && [ -f "$2" ] && grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$2"; then
    sets_protected_mode=true
  fi
  if ! $sets_protected_mode; then
    set -- "$@" --protected-mode no
  fi

  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
  fi
fi

# Files Redis writes (dumps, AOF) readable by their owner only, as in the official image.
if [ "$(umask)" = 0022 ]; then
  umask 0077
fi
exec "$@"
