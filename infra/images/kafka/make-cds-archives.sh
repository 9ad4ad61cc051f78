#!/usr/bin/env bash
# Build step (Dockerfile): records the classes that the setup step and the broker load into class-data-
# sharing archives, /opt/kafka/storage.jsa and /opt/kafka/kafka.jsa. The JVM then maps them instead of
# reading and verifying thousands of classes from the jars: measured here, the broker is ready in about
# 2 s instead of 4-7 s. The official apache/kafka image ships such archives too. docker/run uses the
# same JVM options as below; an archive that does not fit is ignored by the JVM (-Xshare:auto).
set -euo pipefail

libs='/opt/kafka/libs/*'
work="$(mktemp -d)"
performance='-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true'

# The path the runner takes: KAFKA_* variables turned into server.properties, storage formatted.
export CLUSTER_ID=5L6g3nShT-eMCtK--X86sw KAFKA_NODE_ID=1 KAFKA_PROCESS_ROLES=broker,controller \
  KAFKA_LISTENERS=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093 \
  KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:9092 \
  KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT \
  KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER KAFKA_CONTROLLER_QUORUM_VOTERS=1@localhost:9093 \
  KAFKA_INTER_BROKER_LISTENER_NAME=PLAINTEXT KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1 \
  KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS=1 KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR=1 \
  KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=1 KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0 \
  KAFKA_LOG_CLEANER_DEDUPE_BUFFER_SIZE=8388608 KAFKA_LOG_DIRS="$work/data"
mkdir -p "$work/config" "$work/mounted"
java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ArchiveClassesAtExit=/opt/kafka/storage.jsa \
  -Dlog4j.configuration=file:/etc/kafka/docker/tools-log4j.properties -cp "$libs" \
  kafka.docker.KafkaDockerWrapper setup --default-configs-dir /etc/kafka/docker \
  --mounted-configs-dir "$work/mounted" --final-configs-dir "$work/config"

# shellcheck disable=SC2086
java -Xmx512m -Xms256m $performance -XX:ArchiveClassesAtExit=/opt/kafka/kafka.jsa \
  -Dlog4j.configuration=file:/etc/kafka/docker/log4j.properties -cp "$libs" \
  kafka.Kafka "$work/config/server.properties" >"$work/broker.log" 2>&1 &
broker=$!
for _ in $(seq 1 600); do
  if grep -q 'Kafka Server started' "$work/broker.log"; then break; fi
  if ! kill -0 "$broker" 2>/dev/null; then cat "$work/broker.log" >&2; exit 1; fi
  sleep 0.2
done
grep -q 'Kafka Server started' "$work/broker.log" || { tail -n 40 "$work/broker.log" >&2; exit 1; }

# Requests a lab sends (create a topic, produce, fetch, join a group) load the classes that serve them.
export KAFKA_HEAP_OPTS=-Xmx256m
unset KAFKA_LOG_DIRS
/opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:9092 --create --topic cds --partitions 2 >/dev/null
echo warm-up | /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server localhost:9092 --topic cds
/opt/kafka/bin/kafka-console-consumer.sh --bootstrap-server localhost:9092 --topic cds --group cds \
  --from-beginning --max-messages 1 --timeout-ms 60000 >/dev/null

kill -TERM "$broker"
wait "$broker" || true # the archive is written as the JVM exits
rm -rf "$work"
ls -l /opt/kafka/storage.jsa /opt/kafka/kafka.jsa
