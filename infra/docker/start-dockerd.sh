#!/usr/bin/env bash
# Makes sure a Docker engine answers. CI and dev machines here have no systemd and may be fresh, so this
# installs Debian's docker.io when needed and starts dockerd in the background itself.
# Does nothing when `docker info` already answers. Usage: infra/docker/start-dockerd.sh
set -euo pipefail

log_file=/var/log/backend-labs-dockerd.log
wait_seconds=30

say() { echo "[dockerd] $*" >&2; }
answers() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "Docker does not answer and starting it needs root; run this as root or start Docker yourself."
  exit 1
fi

# Both the daemon and a CLI are needed; Debian's docker.io brings both (a newer CLI on PATH is fine too).
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  say "installing docker.io from Debian"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >&2
fi

# A dockerd that is still starting (or was started by someone else a moment ago) must not get a twin:
# two daemons on one data root corrupt it.
running_pid() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

if pid=$(running_pid); then
  say "dockerd (pid $pid) is running but not answering yet; waiting for it"
else
  say "starting dockerd (log: $log_file)"
  echo "=== $(date -u +%FT%TZ) started by $0" >>"$log_file"
  # setsid -f: own session, so dockerd outlives this script, its shell and its process group.
  # Every grade makes its own networks. Docker's default pools hold about 30, which parallel mutation runs
  # used up ("could not find an available, non-overlapping IPv4 address pool"); /24s from 172.16.0.0/12
  # give 4096.
  setsid -f nohup dockerd --default-address-pool base=172.16.0.0/12,size=24 >>"$log_file" 2>&1 </dev/null
fi

for _ in $(seq 1 $((wait_seconds * 2))); do
  if answers; then
    say "Docker answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  sleep 0.5
done

say "Docker did not answer within ${wait_seconds} s. Last lines of $log_file:"
tail -n 30 "$log_file" >&2 || true
exit 1
