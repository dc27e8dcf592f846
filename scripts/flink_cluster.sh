#!/usr/bin/env bash
# A real Apache Flink session cluster on this machine for `mer run --runner flink`:
# one JobManager and N TaskManagers as separate JVMs, every port on loopback, plus Beam's Flink
# job server (the Java process that turns a Beam pipeline into a Flink job).
#
#   scripts/flink_cluster.sh start     install if needed, start, wait for N TaskManagers
#   scripts/flink_cluster.sh stop      stop the processes this script started (by PID)
#   scripts/flink_cluster.sh status    PIDs and the REST API's /overview
#   scripts/flink_cluster.sh install   only download (PyPI + Maven Central) into the cache
#   scripts/flink_cluster.sh paths     print the cache, the job server jar and the REST URL
#
# Versions: Flink 1.19.0 (the jars of PyPI's apache-flink-libraries sdist; it has no start
# scripts, so the entry points are started here) and Beam's Java Flink 1.19 runner 2.62.0 from
# Maven Central, resolved with its dependencies by `mvn dependency:copy-dependencies` and
# launched through a small jar whose manifest carries the class path (what Beam's
# `--flink_job_server_jar` expects). Beam's prebuilt job-server jars (any Flink version) and
# the Flink 1.18 runner are not on the Maven mirror this project can reach; 2.62.0 is the
# nearest Flink runner that resolves whole. See docs/scaling.md.
#
# Environment (all optional):
#   MER_FLINK_CACHE          downloads          (default ${XDG_CACHE_HOME:-~/.cache}/mer-pipeline/flink)
#   MER_FLINK_RUN_DIR        config, logs, PIDs (default $MER_FLINK_CACHE/cluster)
#   MER_FLINK_REST_PORT      REST API/web UI    (default 8081)
#   MER_FLINK_RPC_PORT       JobManager RPC     (default 6123)
#   MER_FLINK_TASKMANAGERS   TaskManager JVMs   (default 2)
#   MER_FLINK_SLOTS          slots per TaskManager (default 1)
#   MER_FLINK_TM_MEMORY      process size of each TaskManager (default 4608m)
#   MER_FLINK_TM_MANAGED_FRACTION  share of Flink memory for sorting/grouping (default 0.25)
#   MER_FLINK_TM_TASK_OFFHEAP      direct memory for Beam's gRPC data channel (default 256m)
#   MER_FLINK_TM_FRAMEWORK_OFFHEAP Flink's own direct memory (default 256m)
#   MER_FLINK_TM_NETWORK           network buffers, min = max (default 192m)
#   MER_FLINK_START_TIMEOUT  seconds to wait for the TaskManagers (default 180)
set -euo pipefail

FLINK_VERSION=1.19.0
BEAM_JAVA_VERSION=2.62.0
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${MER_FLINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mer-pipeline/flink}
RUN_DIR=${MER_FLINK_RUN_DIR:-$CACHE/cluster}
REST_PORT=${MER_FLINK_REST_PORT:-8081}
RPC_PORT=${MER_FLINK_RPC_PORT:-6123}
N_TM=${MER_FLINK_TASKMANAGERS:-2}
SLOTS=${MER_FLINK_SLOTS:-1}
TM_MEMORY=${MER_FLINK_TM_MEMORY:-4608m}
TM_MANAGED_FRACTION=${MER_FLINK_TM_MANAGED_FRACTION:-0.25}
TM_TASK_OFFHEAP=${MER_FLINK_TM_TASK_OFFHEAP:-256m}
TM_FRAMEWORK_OFFHEAP=${MER_FLINK_TM_FRAMEWORK_OFFHEAP:-256m}
TM_NETWORK=${MER_FLINK_TM_NETWORK:-192m}
START_TIMEOUT=${MER_FLINK_START_TIMEOUT:-180}

FLINK_HOME=$CACHE/flink-$FLINK_VERSION
JOB_SERVER_DIR=$CACHE/beam-flink-job-server-$BEAM_JAVA_VERSION
JOB_SERVER_JAR=$JOB_SERVER_DIR/beam-flink-job-server.jar
DRIVER_SOURCE=$REPO/scripts/flink/ClusterClasspathJobServer.java
CONF=$RUN_DIR/conf
LOGS=$RUN_DIR/log
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
REST_URL=http://localhost:$REST_PORT

# Java 17 closes the JDK internals Flink's serializers reach into; Flink's own start scripts pass
# these (env.java.opts.all in the configuration its distribution ships).
JAVA17_OPENS="--add-exports=java.base/sun.net.util=ALL-UNNAMED
--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED
--add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
--add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED
--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED"

say() { echo "flink_cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

pip_cmd() {
  # The project's venv when there is one (CI and `make` create it), else any python with pip.
  local py
  for py in "$REPO/.venv/bin/python" "${PYTHON:-}" python3; do
    [ -n "$py" ] && "$py" -m pip --version >/dev/null 2>&1 && { echo "$py -m pip"; return; }
  done
  die "no python with pip to download apache-flink-libraries (run \`make venv\` first)"
}

install_flink() {
  [ -f "$FLINK_HOME/.complete" ] && return
  local tmp
  tmp=$(mktemp -d)
  say "downloading Flink $FLINK_VERSION jars (PyPI apache-flink-libraries sdist, ~230 MB)"
  $(pip_cmd) download -q --no-deps --no-binary :all: "apache-flink-libraries==$FLINK_VERSION" \
    -d "$tmp" || { rm -rf "$tmp"; die "pip download apache-flink-libraries==$FLINK_VERSION failed"; }
  rm -rf "$FLINK_HOME" && mkdir -p "$FLINK_HOME"
  tar xzf "$tmp"/apache-flink-libraries-"$FLINK_VERSION".tar.gz -C "$FLINK_HOME" \
    --strip-components=2 "apache-flink-libraries-$FLINK_VERSION/deps/lib" \
    "apache-flink-libraries-$FLINK_VERSION/deps/bin"
  rm -rf "$tmp"
  [ -f "$FLINK_HOME/lib/flink-dist-$FLINK_VERSION.jar" ] || die "no flink-dist jar in the sdist"
  touch "$FLINK_HOME/.complete"
}

install_job_server() {
  [ -f "$JOB_SERVER_DIR/.complete" ] && return
  need mvn "install Maven (apt-get install maven) to fetch Beam's Flink runner"
  say "resolving Beam's Flink runner $BEAM_JAVA_VERSION and its dependencies (Maven Central)"
  rm -rf "$JOB_SERVER_DIR" && mkdir -p "$JOB_SERVER_DIR"
  cat >"$JOB_SERVER_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.mer-pipeline</groupId>
  <artifactId>beam-flink-job-server</artifactId>
  <version>$BEAM_JAVA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.beam</groupId>
      <artifactId>beam-runners-flink-1.19</artifactId>
      <version>$BEAM_JAVA_VERSION</version>
    </dependency>
    <dependency>  <!-- the job server's log lines (Beam prints them) -->
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>1.7.30</version>
    </dependency>
  </dependencies>
</project>
POM
  mvn -q -B -f "$JOB_SERVER_DIR/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$JOB_SERVER_DIR/lib" -DincludeScope=runtime \
    || die "Maven could not resolve org.apache.beam:beam-runners-flink-1.19:$BEAM_JAVA_VERSION"
  touch "$JOB_SERVER_DIR/.complete"
}

build_launcher() {
  [ "$JOB_SERVER_JAR" -nt "$DRIVER_SOURCE" ] && return
  need javac "install a JDK 17 (apt-get install openjdk-17-jdk-headless)"
  # The launcher jar: our driver (stages no jar, since the cluster has them; see
  # scripts/flink/ClusterClasspathJobServer.java) with the class path and Java 17's opens in its
  # manifest, so `java -jar` (what Beam's --flink_job_server_jar runs) needs nothing else.
  local classes="$JOB_SERVER_DIR/classes" manifest="$JOB_SERVER_DIR/MANIFEST.MF" cp opens
  mkdir -p "$classes"
  javac -d "$classes" -cp "$JOB_SERVER_DIR/lib/*" "$DRIVER_SOURCE" \
    || die "could not compile scripts/flink/ClusterClasspathJobServer.java"
  cp=$(cd "$JOB_SERVER_DIR" && ls lib/*.jar | tr '\n' ' ')
  opens=$(echo "$JAVA17_OPENS" | tr ' ' '\n' | grep -- '--add-opens' \
    | sed 's/--add-opens=//;s/=ALL-UNNAMED//' | tr '\n' ' ')
  {
    echo "Manifest-Version: 1.0"
    echo "Main-Class: org.merpipeline.flink.ClusterClasspathJobServer"
    echo "Add-Opens: $opens" | fold -w 70 | sed '2,$s/^/ /'
    echo "Class-Path: $cp" | fold -w 70 | sed '2,$s/^/ /'
  } >"$manifest"
  (cd "$JOB_SERVER_DIR" && jar cfm beam-flink-job-server.jar MANIFEST.MF -C classes .)
}

install() {
  need "$JAVA" "install Java 17 (apt-get install openjdk-17-jre-headless)"
  mkdir -p "$CACHE"
  install_flink
  install_job_server
  build_launcher
}

pid_alive() {  # pid file -> 0 when its process is still the JVM this script started
  local f=$1 pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -d "/proc/$pid" ] && grep -q -- "$CONF" "/proc/$pid/cmdline" 2>/dev/null
}

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_conf() {
  mkdir -p "$CONF" "$LOGS" "$RUN_DIR/tmp"
  cat >"$CONF/config.yaml" <<YAML
# Written by scripts/flink_cluster.sh: a session cluster bound to loopback only.
jobmanager.rpc.address: localhost
jobmanager.rpc.port: $RPC_PORT
jobmanager.bind-host: localhost
jobmanager.memory.process.size: 1024m
taskmanager.host: localhost
taskmanager.bind-host: localhost
taskmanager.numberOfTaskSlots: $SLOTS
taskmanager.memory.process.size: $TM_MEMORY
# Beam's batch jobs have many shuffling operators running at once; Flink's default of 512
# sort-shuffle buffers per partition exhausts a small TaskManager's network memory.
taskmanager.memory.network.min: $TM_NETWORK
taskmanager.memory.network.max: $TM_NETWORK
taskmanager.memory.managed.fraction: $TM_MANAGED_FRACTION
# JVM direct memory = task + framework off-heap + network. Beam's gRPC data channel to the Python
# workers lives there: 291 MiB in use measured during ExampleGen on all 1440 RAVDESS clips,
# which overflowed Flink's default cap (128m framework + 0 task + network) as
# "OutOfMemoryError: Direct buffer memory"; 256m + 256m + 192m leaves room (docs/scaling.md).
taskmanager.memory.task.off-heap.size: $TM_TASK_OFFHEAP
taskmanager.memory.framework.off-heap.size: $TM_FRAMEWORK_OFFHEAP
taskmanager.network.sort-shuffle.min-buffers: 64
# Records (batches of WAV bytes) sit on the task heap between operators and must each fit one
# sort buffer of managed memory, which Beam's many grouping operators share: a 1.5 GB
# TaskManager ran out of heap on 1440 RAVDESS clips, a 2 GB one with less managed memory out of
# sort buffer. The task heap also holds what the Python workers send before the operator takes
# it: Beam's inbound queue keeps up to 100 gRPC messages of >= 10 MB (the SDK's flush size), so
# ~1 GB+ whenever the JVM side lags; a 0.62 GB task heap ran out there on RAVDESS x4 (5760
# clips, the Transform's analysis read). 4.5 GB at a 25% managed split gives a 2.1 GB task heap
# and 1 GB of managed memory (docs/scaling.md); the large-record handler sorts a record bigger
# than a sort buffer (a batch of clips) instead of failing.
taskmanager.runtime.large-record-handler: true
rest.address: localhost
rest.bind-address: localhost
rest.port: $REST_PORT
blob.server.port: 0
parallelism.default: $((N_TM * SLOTS))
io.tmp.dirs: $RUN_DIR/tmp
web.tmpdir: $RUN_DIR/tmp
metrics.internal.query-service.port: "0"
YAML
  # Appending: with append=false the JVMs' log4j re-opened (truncated) the file on shutdown, so
  # a stopped cluster left empty logs. `launch` starts each JVM's log afresh instead.
  cat >"$CONF/log4j.properties" <<'LOG4J'
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
LOG4J
}

flink_classpath() {  # Flink's order: every lib jar, flink-dist last
  local cp="" j
  for j in $(ls "$FLINK_HOME"/lib/*.jar | grep -v flink-dist | sort); do cp="$cp$j:"; done
  echo "${cp}$FLINK_HOME/lib/flink-dist-$FLINK_VERSION.jar"
}

classpath() {  # Flink first (its classes win), then Beam's Flink runner and its dependencies
  local cp j
  cp=$(flink_classpath)
  for j in $(ls "$JOB_SERVER_DIR"/lib/*.jar | grep -v -e '/flink-' -e '/slf4j-' | sort); do
    cp="$cp:$j"
  done
  echo "$cp"
}

# The JVM flags (first line) and -D parameters (second) Flink's start scripts compute with
# BashJavaUtils; a TaskManager refuses to start without them.
resource_params() {
  local out
  out=$("$JAVA" -classpath "$FLINK_HOME/bin/bash-java-utils.jar:$(flink_classpath)" \
    org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$CONF" 2>&1) \
    || { echo "$out" >&2; die "BashJavaUtils $1 failed"; }
  echo "$out" | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://'
}

launch() {  # name, entry point class, resource command, extra -D parameters
  local name=$1 main=$2 params jvm dyn extra=${4:-}
  params=$(resource_params "$3")
  jvm=$(echo "$params" | sed -n 1p)
  dyn=$(echo "$params" | sed -n 2p)
  : >"$LOGS/$name.log"
  # shellcheck disable=SC2086  # word splitting of the flag lists is intended
  setsid "$JAVA" $jvm $JAVA17_OPENS -Dlog.file="$LOGS/$name.log" \
    -Dlog4j.configurationFile="file:$CONF/log4j.properties" -classpath "$(classpath)" \
    "$main" --configDir "$CONF" $dyn $extra \
    >"$LOGS/$name.out" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  # Until the fork has exec'd java, its command line is this script's: wait for that.
  for _ in $(seq 1 50); do pid_alive "$RUN_DIR/$name.pid" && break; sleep 0.1; done
}

overview() { curl -sf --max-time 5 "$REST_URL/overview" 2>/dev/null; }

taskmanagers() { overview | sed -n 's/.*"taskmanagers":\([0-9]*\).*/\1/p'; }

start() {
  need curl "apt-get install curl"
  install
  mkdir -p "$RUN_DIR"
  if pid_alive "$RUN_DIR/jobmanager.pid"; then
    say "already running ($REST_URL); \`$0 stop\` first to restart"
    status
    return
  fi
  port_busy "$REST_PORT" && die "port $REST_PORT is in use: stop what listens there or set MER_FLINK_REST_PORT"
  port_busy "$RPC_PORT" && die "port $RPC_PORT is in use: set MER_FLINK_RPC_PORT"
  rm -f "$RUN_DIR"/*.pid
  write_conf
  launch jobmanager org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
    GET_JM_RESOURCE_PARAMS
  for i in $(seq 1 "$N_TM"); do
    launch "taskmanager-$i" org.apache.flink.runtime.taskexecutor.TaskManagerRunner \
      GET_TM_RESOURCE_PARAMS "-D taskmanager.resource-id=taskmanager-$i"
  done
  local waited=0 n
  while :; do
    n=$(taskmanagers || true)
    [ "${n:-0}" = "$N_TM" ] && break
    for f in "$RUN_DIR"/*.pid; do
      if ! pid_alive "$f"; then
        local name
        name=$(basename "$f" .pid)
        tail -n 30 "$LOGS/$name.log" "$LOGS/$name.out" >&2 2>/dev/null || true
        stop
        die "$name exited during start-up (logs: $LOGS/$name.log)"
      fi
    done
    if [ "$waited" -ge "$START_TIMEOUT" ]; then
      stop
      die "$N_TM TaskManagers not registered after ${START_TIMEOUT}s (REST reports ${n:-none}; logs in $LOGS)"
    fi
    sleep 2
    waited=$((waited + 2))
  done
  say "Flink $FLINK_VERSION up at $REST_URL: 1 JobManager, $N_TM TaskManagers x $SLOTS slots (${waited}s)"
  say "run: mer run --preset demo --runner flink --flink-master localhost:$REST_PORT"
}

stop() {
  local f pid name stopped=0
  for f in "$RUN_DIR"/taskmanager-*.pid "$RUN_DIR"/jobmanager.pid; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .pid)
    if pid_alive "$f"; then
      pid=$(cat "$f")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do pid_alive "$f" || break; sleep 0.5; done
      pid_alive "$f" && kill -9 "$pid" 2>/dev/null || true
      stopped=$((stopped + 1))
      say "stopped $name (pid $pid)"
    fi
    rm -f "$f"
  done
  [ "$stopped" -gt 0 ] || say "nothing running under $RUN_DIR"
}

status() {
  local f any=1
  for f in "$RUN_DIR"/jobmanager.pid "$RUN_DIR"/taskmanager-*.pid; do
    [ -f "$f" ] || continue
    if pid_alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"; any=0
    else echo "$(basename "$f" .pid): not running (stale pid file)"; fi
  done
  [ "$any" = 0 ] || { echo "no cluster running under $RUN_DIR"; return 1; }
  echo "overview: $(overview || echo 'REST API not answering')"
}

paths() {
  echo "cache: $CACHE"
  echo "flink_home: $FLINK_HOME"
  echo "job_server_jar: $JOB_SERVER_JAR"
  echo "run_dir: $RUN_DIR"
  echo "rest_url: $REST_URL"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  install) install; paths ;;
  paths) paths ;;
  *) echo "usage: $0 start|stop|status|install|paths" >&2; exit 2 ;;
esac
