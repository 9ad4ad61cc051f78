#!/usr/bin/env bash
# Runs a Kafka class with the image's jars, like Kafka's bin/kafka-run-class.sh. The image links it under
# the names of Kafka's tool scripts (kafka-topics.sh, kafka-console-producer.sh, ...), and under such a name
# it runs that tool, so commands written for the official image (docker exec <c> /opt/kafka/bin/...) work.
#   kafka-run-class.sh <main class> [args]     kafka-run-class.sh --tool-names
set -euo pipefail

tools=(
  kafka-acls.sh=kafka.admin.AclCommand
  kafka-broker-api-versions.sh=kafka.admin.BrokerApiVersionsCommand
  kafka-client-metrics.sh=org.apache.kafka.tools.ClientMetricsCommand
  kafka-cluster.sh=org.apache.kafka.tools.ClusterTool
  kafka-configs.sh=kafka.admin.ConfigCommand
  kafka-console-consumer.sh=org.apache.kafka.tools.consumer.ConsoleConsumer
  kafka-console-producer.sh=kafka.tools.ConsoleProducer
  kafka-consumer-groups.sh=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
  kafka-consumer-perf-test.sh=org.apache.kafka.tools.ConsumerPerformance
  kafka-delegation-tokens.sh=org.apache.kafka.tools.DelegationTokenCommand
  kafka-delete-records.sh=org.apache.kafka.tools.DeleteRecordsCommand
  kafka-dump-log.sh=kafka.tools.DumpLogSegments
  kafka-e2e-latency.sh=org.apache.kafka.tools.EndToEndLatency
  kafka-features.sh=org.apache.kafka.tools.FeatureCommand
  kafka-get-offsets.sh=org.apache.kafka.tools.GetOffsetShell
  kafka-jmx.sh=org.apache.kafka.tools.JmxTool
  kafka-leader-election.sh=org.apache.kafka.tools.LeaderElectionCommand
  kafka-log-dirs.sh=org.apache.kafka.tools.LogDirsCommand
  kafka-metadata-quorum.sh=org.apache.kafka.tools.MetadataQuorumCommand
  kafka-producer-perf-test.sh=org.apache.kafka.tools.ProducerPerformance
  kafka-reassign-partitions.sh=org.apache.kafka.tools.reassign.ReassignPartitionsCommand
  kafka-server-start.sh=kafka.Kafka
  kafka-storage.sh=kafka.tools.StorageTool
  kafka-streams-application-reset.sh=org.apache.kafka.tools.StreamsResetter
  kafka-topics.sh=org.apache.kafka.tools.TopicCommand
  kafka-transactions.sh=org.apache.kafka.tools.TransactionsCommand
)

name="$(basename "$0")"
if [ "$name" = kafka-run-class.sh ]; then
  case "${1:-}" in
    --tool-names) printf '%s\n' "${tools[@]%%=*}"; exit 0 ;;
    '' | -h | --help) echo "usage: $0 <main class> [args...] | --tool-names" >&2; exit 1 ;;
  esac
  class="$1"
  shift
else
  class=
  for tool in "${tools[@]}"; do
    if [ "${tool%%=*}" = "$name" ]; then class="${tool#*=}"; fi
  done
  if [ -z "$class" ]; then
    echo "$name: not a Kafka tool this image knows" >&2
    exit 1
  fi
fi

config=/opt/kafka/config
if [ "$class" = kafka.Kafka ]; then # the broker: its own logging, the image's broker heap
  log4j_file="$config/log4j.properties"
  heap="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
  if [ -r /opt/kafka/kafka.jsa ]; then heap="$heap -XX:SharedArchiveFile=/opt/kafka/kafka.jsa"; fi
else # tools: warnings to stderr, Kafka's tool heap
  log4j_file="$config/tools-log4j.properties"
  heap="${KAFKA_HEAP_OPTS:--Xmx256M}"
fi
# Before the entrypoint has written the final configuration, fall back on the image's defaults.
[ -f "$log4j_file" ] || log4j_file="/etc/kafka/docker/$(basename "$log4j_file")"
log4j="${KAFKA_LOG4J_OPTS:--Dlog4j.configuration=file:$log4j_file}"
performance="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}"

# shellcheck disable=SC2086
exec java $heap $performance $log4j -cp '/opt/kafka/libs/*' ${KAFKA_OPTS:-} "$class" "$@"
