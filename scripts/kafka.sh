#!/usr/bin/env bash
# A local Apache Kafka for Eventline: one KRaft node (broker and controller in one JVM) on loopback.
#
#   scripts/kafka.sh start    fetch Kafka from Maven Central (once), format storage (once), start,
#                             and return when the group coordinator answers (not when the port opens)
#   scripts/kafka.sh stop     SIGTERM, then wait until the process is gone
#   scripts/kafka.sh status   exit 0 when running and answering, 3 when not running, 1 otherwise
#
# start and stop are idempotent. Every wait is bounded. Nothing is installed here: it needs a JDK 17+
# and Maven on PATH (`make kafka-start` and `.ci/run` install Debian's default-jdk-headless and maven
# when either is missing) and the project's virtualenv for the readiness check (confluent-kafka).
#
# Environment (defaults in brackets):
#   KAFKA_HOST [127.0.0.1]  KAFKA_PORT [9092]  KAFKA_CONTROLLER_PORT [9093]
#   KAFKA_VERSION [4.4.0]   KAFKA_LOG4J_VERSION [2.25.3] (the log4j-core that Kafka brings)
#   KAFKA_START_TIMEOUT [90] KAFKA_STOP_TIMEOUT [60] seconds
#   KAFKA_HEAP [-Xms128m -Xmx512m]
#   KAFKA_VAR_DIR [var/kafka]: data, logs, generated config, pid
#   KAFKA_CACHE_DIR [.cache/kafka]: Maven's local repository and the broker's jars (git-ignored)
#   KAFKA_PYTHON [.venv/bin/python]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HOST=${KAFKA_HOST:-127.0.0.1}
PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
VERSION=${KAFKA_VERSION:-4.4.0}
LOG4J_VERSION=${KAFKA_LOG4J_VERSION:-2.25.3}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}
HEAP=${KAFKA_HEAP:--Xms128m -Xmx512m}
VAR_DIR=${KAFKA_VAR_DIR:-$ROOT/var/kafka}
CACHE_DIR=${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}
PYTHON=${KAFKA_PYTHON:-$ROOT/.venv/bin/python}

LIB_DIR="$CACHE_DIR/lib-$VERSION"
DATA_DIR="$VAR_DIR/data"
LOG_DIR="$VAR_DIR/logs"
CONFIG_DIR="$VAR_DIR/config"
PID_FILE="$VAR_DIR/kafka.pid"
BOOTSTRAP="$HOST:$PORT"

say() { echo "kafka.sh: $*"; }
die() { echo "kafka.sh: $*" >&2; exit 1; }

# --- prerequisites -----------------------------------------------------------------------------

need_java() {
  command -v java >/dev/null 2>&1 || die "no java on PATH: install a JDK 17+ (make kafka-start installs Debian's default-jdk-headless)"
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n 1)
  [ -n "$major" ] && [ "${major%%.*}" -ge 17 ] 2>/dev/null \
    || die "Kafka ${VERSION} needs Java 17 or newer; 'java' is ${major:-unknown}"
}

need_python() {
  if [ ! -x "$PYTHON" ]; then PYTHON=$(command -v python3 || true); fi
  [ -n "$PYTHON" ] && "$PYTHON" -c "import confluent_kafka" >/dev/null 2>&1 \
    || die "the readiness check needs Python with confluent-kafka: run 'make setup' (or set KAFKA_PYTHON)"
}

# Kafka and its runtime dependencies from Maven Central, once per version. Fetched into a
# temporary folder and renamed, so an interrupted fetch is never taken for a complete one.
fetch() {
  [ -f "$LIB_DIR/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "no mvn on PATH: install Maven (make kafka-start installs Debian's maven)"
  say "fetching org.apache.kafka:kafka_2.13:${VERSION} and its runtime dependencies from Maven Central"
  mkdir -p "$CACHE_DIR"
  local tmp="$CACHE_DIR/.lib-$VERSION.$$"
  rm -rf "$tmp"
  timeout 600 mvn -q -B -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" \
    -Dmaven.repo.local="$CACHE_DIR/m2" -Dkafka.version="$VERSION" -Dlog4j.version="$LOG4J_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime \
    || { rm -rf "$tmp"; die "Maven could not fetch Kafka ${VERSION}"; }
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "Maven fetched no kafka_2.13 jar"; }
  touch "$tmp/.complete"
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
}

# --- configuration (written on every start, so the environment above always applies) ----------

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIR" "$CONFIG_DIR"
  cat >"$CONFIG_DIR/server.properties" <<EOF
# Written by scripts/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${CONTROLLER_PORT}
listeners=PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${DATA_DIR}
# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# No 3 s wait before a new group's first rebalance on a development machine.
group.initial.rebalance.delay.ms=0
num.partitions=1
auto.create.topics.enable=false
EOF
  # The tools print to stderr at WARN, so nothing but the cluster id reaches stdout.
  cat >"$CONFIG_DIR/log4j2-tools.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" shutdownHook="disable">
  <Appenders><Console name="stderr" target="SYSTEM_ERR"><PatternLayout pattern="%d %p %m (%c)%n"/></Console></Appenders>
  <Loggers><Root level="WARN"><AppenderRef ref="stderr"/></Root></Loggers>
</Configuration>
EOF
  # shutdownHook="disable": otherwise every stop prints "Unable to register Log4j shutdown hook".
  cat >"$CONFIG_DIR/log4j2.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <RollingFile name="server" fileName="${LOG_DIR}/server.log" filePattern="${LOG_DIR}/server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
EOF
}

# Format the storage once: a meta.properties file says it is done.
format_once() {
  [ -f "$DATA_DIR/meta.properties" ] && return 0
  local tools=(java -Xmx256m "-Dlog4j2.configurationFile=$CONFIG_DIR/log4j2-tools.xml" -cp "$LIB_DIR/*" kafka.tools.StorageTool)
  local cluster_id
  cluster_id=$(timeout 60 "${tools[@]}" random-uuid) || die "StorageTool random-uuid failed"
  cluster_id=$(printf '%s' "$cluster_id" | tail -n 1 | tr -d '[:space:]')
  say "formatting KRaft storage in $DATA_DIR (cluster id $cluster_id)"
  timeout 120 "${tools[@]}" format --cluster-id "$cluster_id" --config "$CONFIG_DIR/server.properties" >/dev/null \
    || die "StorageTool format failed"
  echo "$cluster_id" >"$VAR_DIR/cluster.id"
}

# --- process -----------------------------------------------------------------------------------

# The pid of our broker, if it runs: the pid file's process, still alive, still kafka.Kafka with
# our configuration (a pid the system reused for something else does not count).
running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $CONFIG_DIR/server.properties" || return 1
  echo "$pid"
}

# Alive and not a zombie: a JVM killed with -9 still answers kill -0 for about a second.
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo "")
  [ -n "$state" ] && [ "$state" != "Z" ]
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_ready() {  # pid, deadline (epoch seconds)
  local pid=$1 deadline=$2
  while ! port_open "$PORT"; do
    alive "$pid" || { tail -n 30 "$LOG_DIR/server.log" "$LOG_DIR/kafka.out" 2>/dev/null >&2; die "the broker exited while starting (logs in $LOG_DIR)"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "port $PORT did not open within ${START_TIMEOUT} s (logs in $LOG_DIR)"
    sleep 0.2
  done
  local left=$((deadline - $(date +%s)))
  [ "$left" -gt 0 ] || left=1
  "$PYTHON" "$ROOT/scripts/kafka/ready.py" "$BOOTSTRAP" "$left" \
    || die "the broker on $BOOTSTRAP did not become ready (logs in $LOG_DIR)"
}

cmd_start() {
  need_python
  local deadline=$(($(date +%s) + START_TIMEOUT)) pid
  if pid=$(running_pid); then
    wait_ready "$pid" "$deadline"
    say "already running (pid $pid) on $BOOTSTRAP"
    return 0
  fi
  need_java
  if port_open "$PORT" || port_open "$CONTROLLER_PORT"; then
    die "port $PORT or $CONTROLLER_PORT on $HOST is taken by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
  fi
  fetch
  write_config
  format_once
  # shellcheck disable=SC2086 # HEAP is a list of JVM options
  setsid java $HEAP -XX:+UseG1GC -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$CONFIG_DIR/log4j2.xml" "-Dkafka.logs.dir=$LOG_DIR" \
    -cp "$LIB_DIR/*" kafka.Kafka "$CONFIG_DIR/server.properties" \
    >>"$LOG_DIR/kafka.out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  wait_ready "$pid" "$deadline"
  say "started (pid $pid) on $BOOTSTRAP; data and logs in $VAR_DIR"
  echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
}

cmd_stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(($(date +%s) + STOP_TIMEOUT))
  while alive "$pid"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "kafka.sh: pid $pid still alive ${STOP_TIMEOUT} s after SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      local hard=$(($(date +%s) + 15))
      while alive "$pid"; do
        [ "$(date +%s)" -lt "$hard" ] || die "pid $pid survived SIGKILL for 15 s"
        sleep 0.2
      done
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  say "stopped (pid $pid)"
}

cmd_status() {
  local pid
  if ! pid=$(running_pid); then
    say "not running"
    return 3
  fi
  need_python
  if "$PYTHON" "$ROOT/scripts/kafka/ready.py" "$BOOTSTRAP" 5 2>/dev/null; then
    say "running (pid $pid) on $BOOTSTRAP"
    return 0
  fi
  say "pid $pid is alive but $BOOTSTRAP does not answer group calls"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
