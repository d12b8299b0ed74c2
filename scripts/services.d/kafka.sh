# shellcheck shell=bash
# Kafka service for scripts/services: one real Apache Kafka 4.x node in KRaft
# mode (broker+controller) on 127.0.0.1, run straight from Maven Central jars.
#
# Environment (all optional):
#   KAFKA_VERSION          Kafka version; default: the first of KAFKA_VERSIONS
#                          already cached, else the first that resolves
#   KAFKA_PORT             PLAINTEXT               (default 5050)
#   KAFKA_SASL_PORT        SASL_PLAINTEXT          (default 5051)
#   KAFKA_SASL_SSL_PORT    SASL_SSL                (default 5052)
#   KAFKA_SSL_PORT         SSL, client cert needed (default 5053)
#   KAFKA_CONTROLLER_PORT  KRaft controller        (default 5059)
#   KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD   (default bindery / bindery-secret)
#   EVENTHUBS_SHARED_ACCESS_KEY  SharedAccessKey in the Event Hubs test
#                          connection string (the password of the SASL PLAIN
#                          user "$ConnectionString" on the SASL_SSL listener)
#   KAFKA_HEAP             JVM heap flags          (default "-Xms256m -Xmx512m")
#   KAFKA_JVM_OPTS         JVM flags other than heap (default
#                          "-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1")
#   KAFKA_START_TIMEOUT    seconds to wait for the broker (default 90)
#   KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (default 30)
#   BINDERY_CACHE          jar cache root  (default ~/.cache/bindery)
#   BINDERY_RUN            run folder root (default /tmp/bindery-services)

KAFKA_VERSIONS_DEFAULT="4.4.0 4.3.1 4.2.0 4.1.1 4.0.0"
# slf4j binding + log4j2 pinned together (Kafka 4.x logs through slf4j 1.7 ->
# log4j2, but its Maven POMs leave the binding out).
KAFKA_LOG4J_VERSION="${KAFKA_LOG4J_VERSION:-2.25.5}"
KAFKA_DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

K_HOST=127.0.0.1
K_PORT="${KAFKA_PORT:-5050}"
K_SASL_PORT="${KAFKA_SASL_PORT:-5051}"
K_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-5052}"
K_SSL_PORT="${KAFKA_SSL_PORT:-5053}"
K_CTRL_PORT="${KAFKA_CONTROLLER_PORT:-5059}"
K_USER="${KAFKA_SASL_USERNAME:-bindery}"
K_PASS="${KAFKA_SASL_PASSWORD:-bindery-secret}"
# Azure Event Hubs' Kafka endpoint: SASL PLAIN, user "$ConnectionString", the
# namespace's connection string as password. The test connection string names
# this broker's SASL_SSL listener. The key is a fixed test value (base64 of
# "bindery-event-hubs-test-key-0001", shaped like a real 256-bit key).
# shellcheck disable=SC2016 # a literal $
K_EH_USER='$ConnectionString'
K_EH_KEY="${EVENTHUBS_SHARED_ACCESS_KEY:-YmluZGVyeS1ldmVudC1odWJzLXRlc3Qta2V5LTAwMDE=}"
K_EH_CONN="Endpoint=sb://localhost:$K_SASL_SSL_PORT/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=$K_EH_KEY"
K_HEAP="${KAFKA_HEAP:--Xms256m -Xmx512m}"
# C1 only: starts ~30% faster and burns less CPU on a 2-core box; fine for tests
K_JVM_OPTS="${KAFKA_JVM_OPTS--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1}"
K_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
K_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

K_RUN="$BINDERY_RUN/kafka"
K_DATA="$K_RUN/data"
K_CONF="$K_RUN/config"
K_CERTS="$K_RUN/certs"
K_LOG="$K_RUN/kafka.log"
K_PIDFILE="$K_RUN/kafka.pid"
K_ENVFILE="$K_RUN/env"
K_VERFILE="$K_RUN/version"
K_LOCK="$BINDERY_RUN/.kafka.lock"

# ------------------------------------------------------------------ jars ---

# Prints the libs folder of a complete cache for version $1, or fails.
k_cached_libs() {
    local d="$BINDERY_CACHE/kafka-$1/libs"
    [[ -f "$d/.complete" ]] && printf '%s\n' "$d"
}

# Resolves kafka_2.13:$1 and its runtime dependencies into the cache.
k_download() {
    local ver="$1" top="$BINDERY_CACHE/kafka-$1"
    local tmp="$top/.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bindery.services</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>$ver</version>
  <packaging>pom</packaging>
  <dependencies>
    <!-- kafka.Kafka (broker) and kafka.tools.StorageTool; pulls kafka-server,
         kafka-storage, kafka-raft, kafka-metadata, coordinators, clients -->
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$ver</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-server</artifactId><version>$ver</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-storage</artifactId><version>$ver</version></dependency>
    <!-- logging: slf4j 1.7 -> log4j2 binding, and log4j2 itself at one version -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$KAFKA_LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    svc_log "resolving org.apache.kafka:kafka_2.13:$ver + runtime deps from Maven Central (once) ..."
    if ! timeout 900 mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" "$KAFKA_DEP_PLUGIN:copy-dependencies" \
        -DincludeScope=runtime -DoutputDirectory="$tmp/libs" </dev/null >"$top/mvn.log" 2>&1 9>&-; then
        svc_log "mvn failed for Kafka $ver; its output ($top/mvn.log):"
        tail -n 30 "$top/mvn.log" >&2 || true
        rm -rf "$tmp"
        return 1
    fi
    if [[ ! -f "$tmp/libs/kafka_2.13-$ver.jar" || ! -f "$tmp/libs/kafka-clients-$ver.jar" ]]; then
        svc_log "maven finished but kafka_2.13-$ver.jar / kafka-clients-$ver.jar are missing in $tmp/libs"
        rm -rf "$tmp"
        return 1
    fi
    cp "$tmp/pom.xml" "$top/pom.xml"
    rm -rf "$top/libs"
    touch "$tmp/libs/.complete"
    mv "$tmp/libs" "$top/libs"
    rm -rf "$tmp"
    svc_log "cached $(find "$top/libs" -name '*.jar' | wc -l) jars in $top/libs"
}

# Sets K_VERSION and K_LIBS.
k_resolve_libs() {
    local candidates v libs
    if [[ -n "${KAFKA_VERSION:-}" ]]; then
        candidates="$KAFKA_VERSION"
    else
        candidates="${KAFKA_VERSIONS:-$KAFKA_VERSIONS_DEFAULT}"
    fi
    for v in $candidates; do
        if libs="$(k_cached_libs "$v")"; then
            K_VERSION="$v" K_LIBS="$libs"
            return 0
        fi
    done
    svc_need_cmd mvn maven
    mkdir -p "$BINDERY_CACHE"
    for v in $candidates; do
        if k_download "$v"; then
            K_VERSION="$v" K_LIBS="$(k_cached_libs "$v")"
            return 0
        fi
        svc_log "Kafka $v did not resolve from Maven; trying the next candidate"
    done
    svc_die "could not resolve any Kafka version of [$candidates] with mvn (network to Maven Central? ~/.m2 settings?)"
}

k_java() {
    local java=java
    [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]] && java="$JAVA_HOME/bin/java"
    command -v "$java" >/dev/null 2>&1 || svc_need_cmd java openjdk-17-jre-headless
    local major
    major="$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
    [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] \
        || svc_die "Kafka 4.x needs Java 17+, but '$java' is version '${major:-unknown}' (set JAVA_HOME)"
    K_JAVA="$java"
}

# ----------------------------------------------------------------- certs ---

# CA, server cert (SAN IP:127.0.0.1, DNS:localhost) and client cert, all PEM,
# from the project's test CA (svc_tls_certs in scripts/services), plus Kafka's
# PEM keystore. Kept across stop/start so clients' configured paths & trust
# stay valid.
k_certs() {
    svc_tls_certs "$K_CERTS" bindery-client
    if [[ ! -s "$K_CERTS/server-keystore.pem" || "$K_CERTS/server.crt" -nt "$K_CERTS/server-keystore.pem" ]]; then
        # Kafka PEM keystore: PKCS#8 private key followed by the cert chain
        (umask 077 && cat "$K_CERTS/server.key" "$K_CERTS/server.crt" "$K_CERTS/ca.pem" >"$K_CERTS/server-keystore.pem")
    fi
}

# ---------------------------------------------------------------- config ---

k_jaas_escape() { local s="${1//\\/\\\\}"; printf '%s' "${s//\"/\\\"}"; }

k_write_config() {
    mkdir -p "$K_CONF" "$K_DATA"
    local u p l mech eh_users
    u="$(k_jaas_escape "$K_USER")"
    p="$(k_jaas_escape "$K_PASS")"
    # SASL_SSL only, like Event Hubs' port 9093
    eh_users=" user_$(k_jaas_escape "$K_EH_USER")=\"$(k_jaas_escape "$K_EH_CONN")\""
    {
        cat <<EOF
# generated by scripts/services (kafka) — do not edit, rewritten at each start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$K_HOST:$K_CTRL_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$K_HOST:$K_PORT,SASL_PLAINTEXT://$K_HOST:$K_SASL_PORT,SASL_SSL://$K_HOST:$K_SASL_SSL_PORT,SSL://$K_HOST:$K_SSL_PORT,CONTROLLER://$K_HOST:$K_CTRL_PORT
advertised.listeners=PLAINTEXT://$K_HOST:$K_PORT,SASL_PLAINTEXT://$K_HOST:$K_SASL_PORT,SASL_SSL://$K_HOST:$K_SASL_SSL_PORT,SSL://$K_HOST:$K_SSL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT

log.dirs=$K_DATA
metadata.log.dir=$K_DATA

# single node, tuned for tests
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
# after a crash (kill -9) the old registration must expire before the broker
# can re-register: keep that wait short (defaults 2000/9000)
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000

# SASL (PLAIN from JAAS, SCRAM from the KRaft metadata, added at format time)
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512

# TLS: PEM stores, so no keytool is needed
ssl.keystore.type=PEM
ssl.keystore.location=$K_CERTS/server-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$K_CERTS/ca.pem
ssl.client.auth=none
listener.name.ssl.ssl.client.auth=required
EOF
        for l in sasl_plaintext sasl_ssl; do
            local extra=""
            [[ "$l" == sasl_ssl ]] && extra="$eh_users"
            echo "listener.name.$l.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$u\" password=\"$p\" user_$u=\"$p\"$extra;"
            for mech in scram-sha-256 scram-sha-512; do
                echo "listener.name.$l.$mech.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
            done
        done
    } >"$K_CONF/server.properties"

    cat >"$K_CONF/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
}

# Formats KRaft storage unless data is already there (kept from a --keep-data stop).
k_format() {
    if [[ -f "$K_DATA/meta.properties" ]]; then
        svc_log "reusing formatted data in $K_DATA"
        return 0
    fi
    local cluster_id
    # 16 random bytes, base64url without padding = a Kafka Uuid
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    svc_log "formatting KRaft storage in $K_DATA (cluster id $cluster_id)"
    if ! timeout 120 "$K_JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$K_CONF/log4j2.properties" \
        -cp "$K_LIBS/*" kafka.tools.StorageTool format \
        -t "$cluster_id" -c "$K_CONF/server.properties" \
        --add-scram "SCRAM-SHA-256=[name=$K_USER,password=$K_PASS]" \
        --add-scram "SCRAM-SHA-512=[name=$K_USER,password=$K_PASS]" \
        </dev/null >"$K_RUN/format.log" 2>&1 9>&-; then
        cat "$K_RUN/format.log" >&2
        svc_die "kafka.tools.StorageTool format failed (output above, config $K_CONF/server.properties)"
    fi
}

# ---------------------------------------------------------------- health ---

k_pid() {
    local pid
    [[ -f "$K_PIDFILE" ]] || return 1
    pid="$(cat "$K_PIDFILE" 2>/dev/null)"
    svc_pid_matches "$pid" "$K_CONF/server.properties" || return 1
    printf '%s\n' "$pid"
}

k_kcat() {
    svc_need_cmd kcat kcat
}

# k_answers <port>: the broker answers a metadata request there.
k_answers() {
    timeout 10 kcat -b "$K_HOST:$1" -L -m 5 -q </dev/null >/dev/null 2>&1 9>&-
}

# Ready: metadata on PLAINTEXT, and the other listeners accept TCP.
k_healthy() {
    local p
    k_answers "$K_PORT" || return 1
    for p in "$K_SASL_PORT" "$K_SASL_SSL_PORT" "$K_SSL_PORT"; do
        svc_port_open "$K_HOST" "$p" || return 1
    done
}

# PLAINTEXT port the running broker was started with (env vars may differ now).
k_stored_port() {
    local line
    line="$(grep '^KAFKA_BROKERS=' "$K_ENVFILE" 2>/dev/null)" || return 1
    printf '%s\n' "${line##*:}"
}

k_healthy_stored() {
    local port
    port="$(k_stored_port)" || return 1
    k_answers "$port"
}

# NAME=value lines; values are quoted only if they need it (svc_env_line), so
# the defaults print plain and `eval` stays safe with odd paths or passwords.
k_env_lines() {
    local kv
    for kv in \
        "KAFKA_BROKERS=$K_HOST:$K_PORT" \
        "KAFKA_SASL_BROKERS=$K_HOST:$K_SASL_PORT" \
        "KAFKA_SASL_SSL_BROKERS=$K_HOST:$K_SASL_SSL_PORT" \
        "KAFKA_SSL_BROKERS=$K_HOST:$K_SSL_PORT" \
        "KAFKA_SASL_USERNAME=$K_USER" \
        "KAFKA_SASL_PASSWORD=$K_PASS" \
        "KAFKA_CA_CERT=$K_CERTS/ca.pem" \
        "KAFKA_CLIENT_CERT=$K_CERTS/client.pem" \
        "KAFKA_CLIENT_KEY=$K_CERTS/client.key" \
        "EVENTHUBS_CONNECTION_STRING=$K_EH_CONN" \
        "EVENTHUBS_CA_CERT=$K_CERTS/ca.pem"; do
        svc_env_line "${kv%%=*}" "${kv#*=}"
    done
}

# -------------------------------------------------------------- commands ---

# Java 17+, kcat, openssl and the broker's jars (Maven, once); starts nothing.
svc_deps() {
    k_kcat
    svc_need_cmd openssl openssl
    k_java
    k_resolve_libs
    svc_log "ready: Kafka $K_VERSION jars in $K_LIBS"
}

svc_start() {
    mkdir -p "$K_RUN"
    svc_lock "$K_LOCK"
    k_kcat

    local pid
    if pid="$(k_pid)"; then
        # started by this script; maybe still coming up: same bound as a start
        local wait_until=$((SECONDS + K_START_TIMEOUT))
        until k_healthy_stored; do
            kill -0 "$pid" 2>/dev/null || break
            ((SECONDS < wait_until)) \
                || svc_die "kafka (pid $pid) is running but not answering on port $(k_stored_port || echo '?') (log $K_LOG); try: scripts/services restart kafka"
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            svc_log "already running (pid $pid, Kafka $(cat "$K_VERFILE" 2>/dev/null))"
            if [[ "$(k_env_lines)" != "$(cat "$K_ENVFILE")" ]]; then
                svc_log "WARNING: it runs with other settings than the current KAFKA_* variables ask for; printing the running ones (stop it first to change them)"
            fi
            cat "$K_ENVFILE"
            return 0
        fi
    fi
    rm -f "$K_PIDFILE" "$K_ENVFILE"

    local p
    for p in "$K_PORT" "$K_SASL_PORT" "$K_SASL_SSL_PORT" "$K_SSL_PORT" "$K_CTRL_PORT"; do
        [[ "$p" =~ ^[0-9]+$ ]] || svc_die "port '$p' is not a number"
        ! svc_port_open "$K_HOST" "$p" \
            || svc_die "port $K_HOST:$p is already in use by another process (not a broker this script started); free it or set KAFKA_*PORT"
    done

    k_java
    k_resolve_libs
    k_certs
    k_write_config
    k_format

    [[ -f "$K_LOG" ]] && mv -f "$K_LOG" "$K_LOG.prev"
    svc_log "starting Kafka $K_VERSION (log: $K_LOG)"
    local t0=$SECONDS
    # setsid: own session, so it outlives this shell; the wrapper writes its own
    # pid then execs java, so the pid file is right whether or not setsid forks.
    # shellcheck disable=SC2086,SC2016
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$K_PIDFILE" \
        "$K_JAVA" $K_HEAP $K_JVM_OPTS -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$K_CONF/log4j2.properties" \
        -Dkafka.logs.dir="$K_RUN" \
        -cp "$K_LIBS/*" kafka.Kafka "$K_CONF/server.properties" \
        </dev/null >"$K_LOG" 2>&1 9>&- &
    printf '%s\n' "$K_VERSION" >"$K_VERFILE"
    # written now, so a later start/status finds the ports even if this one is interrupted
    k_env_lines >"$K_ENVFILE"

    local deadline=$((SECONDS + K_START_TIMEOUT))
    pid=""
    while ((SECONDS < deadline)); do
        if [[ -z "$pid" ]]; then
            pid="$(cat "$K_PIDFILE" 2>/dev/null || true)"
        fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            svc_log "broker process $pid exited during startup; last lines of $K_LOG:"
            tail -n 40 "$K_LOG" >&2 || true
            rm -f "$K_PIDFILE" "$K_ENVFILE"
            svc_die "Kafka $K_VERSION failed to start"
        fi
        if [[ -n "$pid" ]] && k_healthy; then
            svc_log "Kafka $K_VERSION up in $((SECONDS - t0))s (pid $pid)"
            cat "$K_ENVFILE"
            return 0
        fi
        sleep 0.5
    done
    svc_log "broker did not answer on $K_HOST:$K_PORT within ${K_START_TIMEOUT}s; last lines of $K_LOG:"
    tail -n 40 "$K_LOG" >&2 || true
    [[ -n "$pid" ]] && svc_kill_pid "$pid" "$K_STOP_TIMEOUT"
    rm -f "$K_PIDFILE" "$K_ENVFILE"
    svc_die "Kafka $K_VERSION did not become ready within ${K_START_TIMEOUT}s (KAFKA_START_TIMEOUT)"
}

svc_stop() {
    local keep=0 a
    for a in "$@"; do
        case "$a" in
            --keep-data) keep=1 ;;
            *) svc_die "unknown option '$a'" ;;
        esac
    done
    mkdir -p "$K_RUN"
    svc_lock "$K_LOCK"
    local pid
    if pid="$(k_pid)"; then
        svc_log "stopping Kafka (pid $pid)"
        svc_kill_pid "$pid" "$K_STOP_TIMEOUT"
    else
        svc_log "not running"
    fi
    rm -f "$K_PIDFILE" "$K_ENVFILE"
    if ((keep)); then
        svc_log "kept data in $K_DATA"
    else
        rm -rf "$K_DATA" "$K_CONF" "$K_RUN/format.log"
        svc_log "removed data in $K_DATA"
    fi
}

svc_status() {
    local pid
    if pid="$(k_pid)"; then
        if k_healthy_stored; then
            echo "kafka: running (pid $pid, Kafka $(cat "$K_VERFILE" 2>/dev/null), $(grep '^KAFKA_BROKERS=' "$K_ENVFILE" | cut -d= -f2))"
            return 0
        fi
        echo "kafka: not running properly (pid $pid alive but not answering; log $K_LOG)"
        return 1
    fi
    echo "kafka: not running"
    return 1
}

svc_env() {
    if k_pid >/dev/null && [[ -f "$K_ENVFILE" ]]; then
        cat "$K_ENVFILE"
        return 0
    fi
    svc_die "kafka is not running (start it: scripts/services start kafka)"
}

svc_logs() {
    [[ -f "$K_LOG" ]] || svc_die "no log at $K_LOG"
    tail -n "${LINES_TO_SHOW:-100}" "$K_LOG"
}
