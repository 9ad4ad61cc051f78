#!/usr/bin/env bash
# Entrypoint with the official postgres image's interface, so code written for postgres:<n> (Testcontainers'
# PostgreSqlContainer included) drives this image unchanged:
#  - POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default postgres),
#    POSTGRES_DB (default: the user's name), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default
#    scram-sha-256), and VAR_FILE variants that read the value from a file (Docker secrets);
#  - first start: initdb into $PGDATA; a temporary server on the Unix socket only runs
#    /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz|*.sql.xz|*.sql.zst; then the real server starts.
#    Both log "database system is ready to accept connections", which is why waiters count two;
#  - `docker run image -c x=y` means `postgres -c x=y`; any other command runs as given;
#  - started as root, it drops to the postgres user.
# One deliberate difference: TCP connections from inside the container need the password too (the official
# image trusts 127.0.0.1); the Unix socket is trusted in both.
set -euo pipefail
shopt -s nullglob

# VAR_FILE=/run/secrets/x sets VAR from that file, as in the official image.
file_env() { # VAR [default]
  local var="$1" file_var="${1}_FILE" value="${2:-}"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set (but are exclusive)" >&2
    exit 1
  fi
  if [ -n "${!var:-}" ]; then
    value="${!var}"
  elif [ -n "${!file_var:-}" ]; then
    value="$(<"${!file_var}")"
  fi
  export "$var=$value"
  unset "$file_var"
}

# Options that only print something must not initialise anything.
only_prints() {
  local arg
  for arg in "$@"; do
    case "$arg" in -'?' | --help | --describe-config | -V | --version | -C) return 0 ;; esac
  done
  return 1
}

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi
if [ "$1" != postgres ] || only_prints "$@"; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  # Volumes arrive owned by root; postgres refuses a data directory it does not own or that others can read.
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 00700 "$PGDATA"
  chmod 03775 /var/run/postgresql
  find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi
mkdir -p "$PGDATA"
chmod 00700 "$PGDATA" 2>/dev/null || true

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
export POSTGRES_HOST_AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [ -s "$PGDATA/PG_VERSION" ]; then
  printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
  exec "$@"
fi

if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
  cat >&2 <<'EOF'
Error: Database is uninitialized and superuser password is not specified.
       Set POSTGRES_PASSWORD to a non-empty value, e.g. "-e POSTGRES_PASSWORD=password" on "docker run".
       (POSTGRES_HOST_AUTH_METHOD=trust allows connections without a password: for throwaway tests only.)
EOF
  exit 1
fi

initdb_args=(--username="$POSTGRES_USER" --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD")
# POSTGRES_INITDB_ARGS is a string of options, split on spaces like the official image does.
# shellcheck disable=SC2086
if [ -n "$POSTGRES_PASSWORD" ]; then
  initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
else
  initdb "${initdb_args[@]}" $POSTGRES_INITDB_ARGS
fi
printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
# The socket where the official image (and Debian's psql) has it; initdb writes its build's default.
printf "\nunix_socket_directories = '/var/run/postgresql'\n" >>"$PGDATA/postgresql.conf"

# The temporary server gets the same options as the real one, but no TCP listener, so nothing from outside
# connects (and no wait strategy sees the port) before initialisation is done.
temp_options=("${@:2}" -c listen_addresses= -p "${PGPORT:-5432}")
PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "$(printf '%q ' "${temp_options[@]}")" -w start

export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
if [ "$POSTGRES_DB" != postgres ]; then
  "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
fi

echo
for f in /docker-entrypoint-initdb.d/*; do
  case "$f" in
    *.sh)
      if [ -x "$f" ]; then
        echo "$0: running $f"
        "$f"
      else
        echo "$0: sourcing $f"
        set +u # scripts written for the official image may use unset variables
        # shellcheck disable=SC1090
        . "$f"
        set -u
      fi
      ;;
    *.sql) echo "$0: running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f"; echo ;;
    *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB"; echo ;;
    *.sql.xz) echo "$0: running $f"; xzcat "$f" | "${psql[@]}" --dbname "$POSTGRES_DB"; echo ;;
    *.sql.zst) echo "$0: running $f"; zstd -dc "$f" | "${psql[@]}" --dbname "$POSTGRES_DB"; echo ;;
    *) echo "$0: ignoring $f" ;;
  esac
done

PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
unset PGPASSWORD
printf '\nPostgreSQL init process complete; ready for start up.\n\n'

exec "$@"
