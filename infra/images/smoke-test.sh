#!/usr/bin/env bash
# Proves the service images work the way the runner drives them, and reports how long each takes to be
# ready. Images come from BACKEND_LABS_POSTGRES_IMAGE / _REDIS_IMAGE / _KAFKA_IMAGE (default: the local
# stand-ins), so the same test also runs against the official images where they can be pulled.
#  - postgres: POSTGRES_USER/PASSWORD/DB, an initdb.d .sql and .sh, "ready to accept connections" twice,
#    `postgres -c` arguments, psql with the password over TCP inside the container, a wrong password refused;
#  - redis: arguments starting with "-" go to redis-server, PING from a non-loopback address (protected
#    mode off), and through the published port;
#  - kafka: the runner's KAFKA_* settings with KAFKA_ADVERTISED_LISTENERS overridden, a topic created and one
#    message produced and consumed with Kafka's CLI tools inside the container; then the default
#    configuration (no KAFKA_* at all).
# Ports are published on 127.0.0.1 only; traffic goes only to loopback and to the containers started here,
# and every container started here (label backend-labs.smoke=1) is removed on exit.
# Usage: infra/images/smoke-test.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
postgres_image="${BACKEND_LABS_POSTGRES_IMAGE:-backend-labs/postgres:18}"
redis_image="${BACKEND_LABS_REDIS_IMAGE:-backend-labs/redis:8}"
kafka_image="${BACKEND_LABS_KAFKA_IMAGE:-backend-labs/kafka:3.9.1}"
label=backend-labs.smoke=1

say() { echo "[smoke] $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

started=()
work="$(mktemp -d)"
cleanup() {
  if [ ${#started[@]} -gt 0 ]; then
    docker rm -f -v "${started[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { # message [container]
  say "FAIL: $1"
  if [ -n "${2:-}" ]; then
    say "last log lines of $2:"
    docker logs --tail 40 "$2" >&2 2>&1 || true
  fi
  exit 1
}

# Not called in $(...): the id must land in this shell's list for the cleanup.
start() { # docker run arguments...; sets $id
  id="$(docker run -d --label "$label" "$@")" || fail "docker run $*"
  started+=("$id")
}

wait_for_log() { # container regex count timeout-seconds
  local id="$1" pattern="$2" count="$3" deadline=$((SECONDS + $4)) seen
  while [ $SECONDS -lt $deadline ]; do
    seen="$(docker logs "$id" 2>&1 | grep -cE "$pattern" || true)"
    if [ "$seen" -ge "$count" ]; then return 0; fi
    if [ "$(docker inspect --format '{{.State.Running}}' "$id")" != true ]; then
      fail "container exited before logging '$pattern' $count time(s)" "$id"
    fi
    sleep 0.1
  done
  fail "no '$pattern' ($count time(s)) within $4 s" "$id"
}

container_ip() { docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
published_port() { docker port "$1" "$2" | sed -n '1s/.*://p'; }
expect() { # what actual expected [container]
  if [ "$2" != "$3" ]; then fail "$1: got '$2', expected '$3'" "${4:-}"; fi
  say "  ok: $1"
}

# A free loopback port, for Kafka, whose advertised address must be the same inside and outside.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  fail "no free port found"
}

"$here/../docker/start-dockerd.sh"
for image in "$postgres_image" "$redis_image" "$kafka_image"; do
  docker image inspect "$image" >/dev/null 2>&1 ||
    fail "image $image is missing (build the local ones with infra/images/build-local-images.sh)"
done
leftovers="$(docker ps -aq --filter "label=$label")"
if [ -n "$leftovers" ]; then
  say "removing containers left by an earlier smoke test"
  # shellcheck disable=SC2086
  docker rm -f -v $leftovers >/dev/null
fi
declare -A ready

# --- postgres -------------------------------------------------------------------------------------------
say "postgres: $postgres_image"
mkdir -p "$work/initdb"
cat >"$work/initdb/10-schema.sql" <<'EOF'
CREATE TABLE smoke_init (note text NOT NULL);
INSERT INTO smoke_init VALUES ('10-schema.sql');
EOF
cat >"$work/initdb/20-more.sh" <<'EOF'
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "INSERT INTO smoke_init VALUES ('20-more.sh')"
EOF
chmod -R a+rX "$work/initdb"
password="smoke-$RANDOM$RANDOM"
t0="$(now)"
start -p 127.0.0.1::5432 -e POSTGRES_USER=smoke -e "POSTGRES_PASSWORD=$password" -e POSTGRES_DB=smokedb \
  -v "$work/initdb:/docker-entrypoint-initdb.d:ro" "$postgres_image" postgres -c fsync=off
pg="$id"
wait_for_log "$pg" 'database system is ready to accept connections' 2 90
ready[postgres]="$(since "$t0")"
say "  ready in ${ready[postgres]} s (second 'database system is ready to accept connections')"
pg_ip="$(container_ip "$pg")"
sql() { docker exec -e "PGPASSWORD=$1" "$pg" psql -h "$pg_ip" -U smoke -d smokedb -v ON_ERROR_STOP=1 -tAc "$2"; }
version="$(sql "$password" 'SELECT version()')" || fail "psql over TCP with the password" "$pg"
say "  $version"
expect "initdb.d .sql and .sh ran" "$(sql "$password" "SELECT string_agg(note, ',' ORDER BY note) FROM smoke_init")" \
  "10-schema.sql,20-more.sh" "$pg"
expect "'postgres -c fsync=off' reached the server" "$(sql "$password" 'SHOW fsync')" off "$pg"
if sql wrong-password 'SELECT 1' >/dev/null 2>&1; then fail "a wrong password was accepted over TCP" "$pg"; fi
say "  ok: wrong password refused"
port="$(published_port "$pg" 5432)"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "nothing listens on 127.0.0.1:$port" "$pg"
say "  ok: published on 127.0.0.1:$port"

# --- redis ----------------------------------------------------------------------------------------------
say "redis: $redis_image"
t0="$(now)"
start -p 127.0.0.1::6379 "$redis_image" --save '' --maxmemory 64mb
redis="$id"
wait_for_log "$redis" 'Ready to accept connections' 1 30
ready[redis]="$(since "$t0")"
say "  ready in ${ready[redis]} s ('Ready to accept connections')"
redis_ip="$(container_ip "$redis")"
expect "PING with redis-cli from a non-loopback address" "$(docker exec "$redis" redis-cli -h "$redis_ip" PING)" PONG "$redis"
expect "'--maxmemory 64mb' reached redis-server" \
  "$(docker exec "$redis" redis-cli CONFIG GET maxmemory | sed -n 2p)" 67108864 "$redis"
expect "protected mode is off" "$(docker exec "$redis" redis-cli CONFIG GET protected-mode | sed -n 2p)" no "$redis"
port="$(published_port "$redis" 6379)"
reply="$(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'PING\r\n' >&3 && timeout 5 head -n1 <&3 | tr -d '\r')" || true
expect "PING through 127.0.0.1:$port" "$reply" +PONG "$redis"

# --- kafka, configured through KAFKA_* like the runner does ------------------------------------------------
say "kafka: $kafka_image"
port="$(free_port)"
broker="127.0.0.1:$port"
t0="$(now)"
start -p "$broker:$port" \
  -e KAFKA_NODE_ID=1 \
  -e KAFKA_PROCESS_ROLES=broker,controller \
  -e "KAFKA_LISTENERS=PLAINTEXT://0.0.0.0:$port,CONTROLLER://0.0.0.0:9093" \
  -e "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://$broker" \
  -e KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT \
  -e KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER \
  -e KAFKA_CONTROLLER_QUORUM_VOTERS=1@localhost:9093 \
  -e KAFKA_INTER_BROKER_LISTENER_NAME=PLAINTEXT \
  -e KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1 \
  -e KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS=1 \
  -e KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR=1 \
  -e KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=1 \
  -e KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0 \
  -e KAFKA_HEAP_OPTS='-Xmx384m -Xms256m' \
  -e CLUSTER_ID=c21va2UtdGVzdC1jbHVzdGVy \
  "$kafka_image"
kafka="$id"
wait_for_log "$kafka" 'Kafka Server started' 1 120
ready[kafka]="$(since "$t0")"
say "  ready in ${ready[kafka]} s ($(docker logs "$kafka" 2>&1 | grep -m1 -o '\] INFO .*Kafka Server started.*'))"
say "  $(docker logs "$kafka" 2>&1 | grep -m1 -o 'Kafka version: .*')"
# Tools inside the container reach the broker at its advertised address: the same port inside and outside.
docker exec "$kafka" /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$broker" \
  --create --topic smoke --partitions 1 --replication-factor 1 >/dev/null || fail "kafka-topics.sh --create" "$kafka"
say "  ok: topic created (kafka-topics.sh, org.apache.kafka.tools.TopicCommand)"
message="hello from the smoke test $RANDOM"
echo "$message" | docker exec -i "$kafka" /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server "$broker" \
  --topic smoke || fail "kafka-console-producer.sh" "$kafka"
consumed="$(docker exec "$kafka" /opt/kafka/bin/kafka-console-consumer.sh --bootstrap-server "$broker" \
  --topic smoke --from-beginning --max-messages 1 --timeout-ms 30000 2>/dev/null)" || true
expect "message produced and consumed through $broker (console producer/consumer)" "$consumed" "$message" "$kafka"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "nothing listens on $broker" "$kafka"
say "  ok: published on $broker"
docker rm -f -v "$kafka" >/dev/null # frees memory before the next broker starts

# --- kafka with its default configuration (no KAFKA_* at all) ----------------------------------------------
say "kafka (default configuration): $kafka_image"
t0="$(now)"
start "$kafka_image"
kafka_default="$id"
wait_for_log "$kafka_default" 'Kafka Server started' 1 120
ready[kafka-default]="$(since "$t0")"
say "  ready in ${ready[kafka-default]} s"
docker exec "$kafka_default" /opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:9092 \
  --create --topic smoke-default >/dev/null || fail "kafka-topics.sh --create on localhost:9092" "$kafka_default"
expect "topic listed on localhost:9092" "$(docker exec "$kafka_default" /opt/kafka/bin/kafka-topics.sh \
  --bootstrap-server localhost:9092 --list)" smoke-default "$kafka_default"

say "all passed. Start to ready: postgres ${ready[postgres]} s, redis ${ready[redis]} s," \
  "kafka ${ready[kafka]} s (default configuration ${ready[kafka-default]} s)"
