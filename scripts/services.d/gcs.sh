# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# GCS service for scripts/services: fake-gcs-server (github.com/fsouza/fake-gcs-server,
# pinned), built once with `go install` through the Go module proxy, on
# 127.0.0.1, in memory, serving the Cloud Storage JSON API (and the upload and
# download endpoints) over HTTP and over HTTPS with the project's test CA.
# It checks no tokens: clients sign in anonymously.
#
# In memory: a stop, with or without --keep-data, loses every object. Each
# start creates the empty bucket "bindery".
#
# Environment (all optional):
#   GCS_PORT               HTTP port                 (default 5080)
#   GCS_TLS_PORT           HTTPS port                (default 5081)
#   GCS_START_TIMEOUT      seconds to wait           (default 30)
#   FAKE_GCS_VERSION       fake-gcs-server version   (default 1.56.1; needs the Go its go.mod names)
#   GO                     the go command            (default: go on PATH, else /usr/local/go/bin/go)
#   BINDERY_CACHE          build cache root (default ~/.cache/bindery)
#   BINDERY_RUN            run folder root  (default /tmp/bindery-services)

G_HOST=127.0.0.1
G_PORT="${GCS_PORT:-5080}"
G_TLS_PORT="${GCS_TLS_PORT:-5081}"
G_START_TIMEOUT="${GCS_START_TIMEOUT:-30}"
G_STOP_TIMEOUT=10
G_VERSION="${FAKE_GCS_VERSION:-1.56.1}"
G_BUCKET=bindery

G_BIN="$BINDERY_CACHE/fake-gcs-server-$G_VERSION/bin/fake-gcs-server"
G_RUN="$BINDERY_RUN/gcs"
G_CERTS="$G_RUN/certs"
G_SEED="$G_RUN/seed"
G_LOG="$G_RUN/fake-gcs-server.log"
G_PIDFILE="$G_RUN/fake-gcs-server.pid"
G_ENVFILE="$G_RUN/env"
G_LOCK="$BINDERY_RUN/.gcs.lock"

# ----------------------------------------------------------------- build ---

g_go() {
    local go="${GO:-}"
    [[ -n "$go" ]] || go="$(command -v go 2>/dev/null)" || true
    [[ -n "$go" ]] || { [[ -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go; }
    [[ -n "$go" && -x "$(command -v "$go" 2>/dev/null)" ]] \
        || svc_die "Go is needed to build fake-gcs-server $G_VERSION (its go.mod needs a recent Go; Debian 12's golang-go 1.19 is too old): install it from https://go.dev/dl or set GO"
    printf '%s\n' "$go"
}

# go install into a folder of its own, with GOPATH, module and build caches and
# GOFLAGS private to this script, once. The Go caches (~1 GB) are deleted after
# a successful build: only the binary is kept.
g_build() {
    [[ -x "$G_BIN" ]] && return 0
    local go bindir log gopath
    go="$(g_go)"
    bindir="$(dirname "$G_BIN")"
    log="$BINDERY_CACHE/fake-gcs-server-$G_VERSION/go-install.log"
    gopath="$BINDERY_CACHE/fake-gcs-server-$G_VERSION/gopath"
    mkdir -p "$bindir" "$gopath"
    svc_log "building fake-gcs-server $G_VERSION with $("$go" env GOVERSION 2>/dev/null || echo "$go") (go install through the module proxy; once, a few minutes) ..."
    if ! env GOPATH="$gopath" GOMODCACHE="$gopath/mod" GOCACHE="$gopath/build" \
        GOFLAGS=-modcacherw GOBIN="$bindir.tmp" GO111MODULE=on GOWORK=off CGO_ENABLED=0 \
        timeout 1800 "$go" install "github.com/fsouza/fake-gcs-server@v$G_VERSION" \
        </dev/null >"$log" 2>&1 9>&-; then
        tail -n 30 "$log" >&2
        rm -rf "$bindir.tmp"
        svc_die "go install github.com/fsouza/fake-gcs-server@v$G_VERSION failed (output above, $log; an older Go may need GOTOOLCHAIN=auto)"
    fi
    mv -f "$bindir.tmp/fake-gcs-server" "$G_BIN"
    rm -rf "$bindir.tmp" "$gopath"
}

# ---------------------------------------------------------------- health ---

g_pid() {
    local pid
    pid="$(cat "$G_PIDFILE" 2>/dev/null)" || return 1
    svc_pid_matches "$pid" "$G_BIN" || return 1
    printf '%s\n' "$pid"
}

# g_answers <http-port> <https-port> <ca>: both listeners pass the health check
# (HTTPS with the certificate checked against the test CA, as "localhost").
g_answers() {
    curl -fsS -o /dev/null --max-time 5 "http://$G_HOST:$1/_internal/healthcheck" 2>/dev/null 9>&- \
        && curl -fsS -o /dev/null --max-time 5 --cacert "$3" "https://localhost:$2/_internal/healthcheck" 2>/dev/null 9>&-
}

g_stored() {
    sed -n "s/^$1=//p" "$G_ENVFILE" 2>/dev/null
}

g_healthy_stored() {
    local http https
    http="$(g_stored GCS_PORT)" https="$(g_stored GCS_TLS_PORT)"
    [[ -n "$http" && -n "$https" ]] && g_answers "$http" "$https" "$G_CERTS/ca.pem"
}

g_env_lines() {
    local kv
    for kv in \
        "GCS_ENDPOINT=http://$G_HOST:$G_PORT" \
        "GCS_TLS_ENDPOINT=https://localhost:$G_TLS_PORT" \
        "GCS_CA_CERT=$G_CERTS/ca.pem" \
        "GCS_BUCKET=$G_BUCKET" \
        "GCS_PORT=$G_PORT" \
        "GCS_TLS_PORT=$G_TLS_PORT"; do
        svc_env_line "${kv%%=*}" "${kv#*=}"
    done
}

# ------------------------------------------------------------- commands ---

svc_deps() {
    mkdir -p "$G_RUN"
    svc_lock "$G_LOCK"
    svc_need_cmd curl curl
    svc_need_cmd openssl openssl
    g_build
    svc_log "ready: $G_BIN"
}

svc_start() {
    mkdir -p "$G_RUN"
    svc_lock "$G_LOCK"
    svc_need_cmd curl curl

    local pid
    if pid="$(g_pid)"; then
        local wait_until=$((SECONDS + G_START_TIMEOUT))
        until g_healthy_stored; do
            kill -0 "$pid" 2>/dev/null || break
            ((SECONDS < wait_until)) \
                || svc_die "fake-gcs-server (pid $pid) is running but not answering (log $G_LOG); try: scripts/services restart gcs"
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            svc_log "already running (pid $pid, fake-gcs-server $G_VERSION)"
            if [[ "$(g_env_lines)" != "$(cat "$G_ENVFILE")" ]]; then
                svc_log "WARNING: it runs with other settings than the current GCS_* variables ask for; printing the running ones (stop it first to change them)"
            fi
            cat "$G_ENVFILE"
            return 0
        fi
    fi
    rm -f "$G_PIDFILE" "$G_ENVFILE"

    local p
    for p in "$G_PORT" "$G_TLS_PORT"; do
        [[ "$p" =~ ^[0-9]+$ ]] || svc_die "port '$p' is not a number"
        ! svc_port_open "$G_HOST" "$p" \
            || svc_die "port $G_HOST:$p is already in use by another process (not a fake-gcs-server this script started); free it or set GCS_PORT / GCS_TLS_PORT"
    done

    g_build
    svc_tls_certs "$G_CERTS" bindery-client
    rm -rf "$G_SEED"
    mkdir -p "$G_SEED/$G_BUCKET" # an empty folder in -data = an empty bucket

    [[ -f "$G_LOG" ]] && mv -f "$G_LOG" "$G_LOG.prev"
    svc_log "starting fake-gcs-server $G_VERSION (log: $G_LOG)"
    local t0=$SECONDS
    # -scheme both: HTTPS on -port, HTTP on -port-http. -external-url is the
    # base of selfLink/mediaLink (the HTTP one, which needs no CA); resumable
    # upload sessions use the address each request came to. -public-host
    # localhost: the XML-style /<bucket>/<object> paths (signed and public
    # URLs) answer for http://localhost:<port> and https://localhost:<port>.
    # shellcheck disable=SC2016
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$G_PIDFILE" \
        "$G_BIN" -backend memory -host "$G_HOST" -scheme both \
        -port "$G_TLS_PORT" -port-http "$G_PORT" \
        -cert-location "$G_CERTS/server.crt" -private-key-location "$G_CERTS/server.key" \
        -external-url "http://$G_HOST:$G_PORT" -public-host localhost \
        -data "$G_SEED" -log-level warn \
        </dev/null >"$G_LOG" 2>&1 9>&- &
    g_env_lines >"$G_ENVFILE"

    local deadline=$((SECONDS + G_START_TIMEOUT))
    pid=""
    while ((SECONDS < deadline)); do
        [[ -n "$pid" ]] || pid="$(cat "$G_PIDFILE" 2>/dev/null || true)"
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$G_LOG" >&2 || true
            rm -f "$G_PIDFILE" "$G_ENVFILE"
            svc_die "fake-gcs-server exited during startup (log above)"
        fi
        if [[ -n "$pid" ]] && g_answers "$G_PORT" "$G_TLS_PORT" "$G_CERTS/ca.pem"; then
            svc_log "fake-gcs-server up in $((SECONDS - t0))s (pid $pid)"
            cat "$G_ENVFILE"
            return 0
        fi
        sleep 0.1
    done
    tail -n 30 "$G_LOG" >&2 || true
    [[ -n "$pid" ]] && svc_kill_pid "$pid" "$G_STOP_TIMEOUT"
    rm -f "$G_PIDFILE" "$G_ENVFILE"
    svc_die "fake-gcs-server did not answer on $G_HOST:$G_PORT and localhost:$G_TLS_PORT within ${G_START_TIMEOUT}s (GCS_START_TIMEOUT)"
}

svc_stop() {
    local a
    for a in "$@"; do
        case "$a" in
            --keep-data) svc_log "fake-gcs-server keeps its data in memory only: --keep-data cannot keep it" ;;
            *) svc_die "unknown option '$a'" ;;
        esac
    done
    mkdir -p "$G_RUN"
    svc_lock "$G_LOCK"
    local pid
    if pid="$(g_pid)"; then
        svc_log "stopping fake-gcs-server (pid $pid)"
        svc_kill_pid "$pid" "$G_STOP_TIMEOUT"
    else
        svc_log "not running"
    fi
    rm -f "$G_PIDFILE" "$G_ENVFILE"
    rm -rf "$G_SEED"
}

svc_status() {
    local pid
    if pid="$(g_pid)"; then
        if g_healthy_stored; then
            echo "gcs: running (pid $pid, fake-gcs-server $G_VERSION, $(g_stored GCS_ENDPOINT) and $(g_stored GCS_TLS_ENDPOINT))"
            return 0
        fi
        echo "gcs: not running properly (pid $pid alive but not answering; log $G_LOG)"
        return 1
    fi
    echo "gcs: not running"
    return 1
}

svc_env() {
    if g_pid >/dev/null && [[ -f "$G_ENVFILE" ]]; then
        cat "$G_ENVFILE"
        return 0
    fi
    svc_die "gcs is not running (start it: scripts/services start gcs)"
}

svc_logs() {
    [[ -f "$G_LOG" ]] || svc_die "no log at $G_LOG"
    tail -n "${LINES_TO_SHOW:-100}" "$G_LOG"
}
