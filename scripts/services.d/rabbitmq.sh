# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# RabbitMQ service for scripts/services: Debian 12's rabbitmq-server (apt) run
# as a private node owned by this script, on 127.0.0.1 only, with its own
# node name, epmd, ports, data, log and Erlang cookie, so it never meets a
# system node (5672/4369/25672).
#
# Environment (all optional):
#   RABBITMQ_PORT            AMQP 0-9-1                     (default 5680)
#   RABBITMQ_TLS_PORT        AMQP over TLS (client certs
#                            verified when sent; EXTERNAL)  (default 5681)
#   RABBITMQ_EPMD_PORT       the node's own epmd            (default 5689)
#   RABBITMQ_DIST_PORT       Erlang distribution            (default 25680)
#   RABBITMQ_CTL_PORTS       CLI tools' distribution ports  (default 25681-25689)
#   RABBITMQ_USERNAME / RABBITMQ_PASSWORD  (default bindery / bindery-secret)
#   RABBITMQ_VHOST           test vhost besides "/"         (default bindery)
#   RABBITMQ_START_TIMEOUT   seconds to wait for the node   (default 120)
#   RABBITMQ_STOP_TIMEOUT    seconds between SIGTERM and SIGKILL (default 30)
#   BINDERY_RUN              run folder root (default /tmp/bindery-services)

R_HOST=127.0.0.1
R_PORT="${RABBITMQ_PORT:-5680}"
R_TLS_PORT="${RABBITMQ_TLS_PORT:-5681}"
R_EPMD_PORT="${RABBITMQ_EPMD_PORT:-5689}"
R_DIST_PORT="${RABBITMQ_DIST_PORT:-25680}"
R_CTL_PORTS="${RABBITMQ_CTL_PORTS:-25681-25689}"
R_USER="${RABBITMQ_USERNAME:-bindery}"
R_PASS="${RABBITMQ_PASSWORD:-bindery-secret}"
R_VHOST="${RABBITMQ_VHOST:-bindery}"
# the client certificate's CN; EXTERNAL signs in as the user of that name
R_EXT_USER=bindery-client
R_START_TIMEOUT="${RABBITMQ_START_TIMEOUT:-120}"
R_STOP_TIMEOUT="${RABBITMQ_STOP_TIMEOUT:-30}"
R_NODE=bindery@localhost

R_RUN="$BINDERY_RUN/rabbitmq"
R_DATA="$R_RUN/data"
R_CONF="$R_RUN/config"
R_CERTS="$R_RUN/certs"
R_HOME="$R_RUN/home"
R_LOGDIR="$R_RUN/log"
R_LOG="$R_RUN/rabbitmq.log"
R_PIDFILE="$R_RUN/rabbitmq.pid"
R_EPMD_PIDFILE="$R_RUN/epmd.pid"
R_ENVFILE="$R_RUN/env"
R_LOCK="$BINDERY_RUN/.rabbitmq.lock"
R_SBIN=/usr/lib/rabbitmq/bin

# ------------------------------------------------------------- install ---

# Installs rabbitmq-server without letting the package start a system node:
# on a fresh Debian machine its postinst starts one on 5672 (invoke-rc.d /
# deb-systemd-invoke); a policy-rc.d that exits 101 forbids that. An existing
# policy-rc.d (containers ship one) is left as it is. The unit is also
# disabled, so no system node appears at the next boot either.
r_install() {
    local pkgs=() p
    for p in rabbitmq-server amqp-tools openssl; do
        svc_pkg_installed "$p" || pkgs+=("$p")
    done
    ((${#pkgs[@]})) || return 0
    if svc_pkg_installed rabbitmq-server; then
        svc_apt_install "${pkgs[@]}"
        return 0
    fi
    [[ "${BINDERY_NO_APT:-0}" != 1 && "$(id -u)" == 0 ]] \
        || svc_die "Debian package(s) needed but not installed: ${pkgs[*]} (install them as root with a /usr/sbin/policy-rc.d that exits 101, so no system node starts)"
    local guard=/usr/sbin/policy-rc.d rc=0
    # a subshell whose EXIT trap removes the guard it made, even when the
    # install fails or is interrupted
    (
        if [[ ! -e "$guard" ]]; then
            trap 'rm -f "$guard"' EXIT
            printf '#!/bin/sh\n# temporary, from bindery scripts/services (rabbitmq): no service starts during apt-get install\nexit 101\n' >"$guard"
            chmod 755 "$guard"
            svc_log "installing with a temporary $guard, so the package does not start a system node on 5672"
        fi
        svc_apt_install "${pkgs[@]}"
    ) || rc=$?
    ((rc == 0)) || svc_die "installing ${pkgs[*]} failed"
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now rabbitmq-server.service >&2 2>/dev/null || true
    fi
    if svc_port_open 127.0.0.1 5672; then
        svc_log "WARNING: something listens on 5672 (a system RabbitMQ node?); this service does not use that port"
    fi
}

r_need_server() {
    [[ -x "$R_SBIN/rabbitmq-server" ]] && svc_pkg_installed amqp-tools && return 0
    r_install
    [[ -x "$R_SBIN/rabbitmq-server" ]] || svc_die "$R_SBIN/rabbitmq-server missing after installing rabbitmq-server"
}

r_epmd_bin() {
    local e f
    e="$(command -v epmd 2>/dev/null)" || for f in /usr/lib/erlang/erts-*/bin/epmd; do e="$f"; done
    [[ -n "$e" && -x "$e" ]] || svc_die "epmd not found (Debian package erlang-base)"
    printf '%s\n' "$e"
}

# --------------------------------------------------------------- config ---

# The node's environment: every path and port is ours. Exported for the
# server and for the CLI tools (rabbitmq-diagnostics, rabbitmqctl).
r_export_env() {
    export HOME="$R_HOME"    # the Erlang cookie is $HOME/.erlang.cookie
    export RABBITMQ_CONF_ENV_FILE="$R_CONF/rabbitmq-env.conf"
    export RABBITMQ_NODENAME="$R_NODE"
    export RABBITMQ_USE_LONGNAME=false
    export RABBITMQ_NODE_IP_ADDRESS="$R_HOST"
    export RABBITMQ_NODE_PORT="$R_PORT"
    export RABBITMQ_DIST_PORT="$R_DIST_PORT"
    export RABBITMQ_CTL_DIST_PORT_MIN="${R_CTL_PORTS%-*}"
    export RABBITMQ_CTL_DIST_PORT_MAX="${R_CTL_PORTS#*-}"
    export ERL_EPMD_PORT="$R_EPMD_PORT"
    export ERL_EPMD_ADDRESS="$R_HOST"
    export RABBITMQ_CONFIG_FILE="$R_CONF/rabbitmq.conf"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$R_CONF/advanced.config"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$R_CONF/enabled_plugins"
    export RABBITMQ_MNESIA_BASE="$R_DATA"
    export RABBITMQ_LOG_BASE="$R_LOGDIR"
    export RABBITMQ_PID_FILE="$R_RUN/beam.pid"
    export ERL_CRASH_DUMP="$R_LOGDIR/erl_crash.dump"
    # distribution on loopback only, for the node and for the CLI tools
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# definitions.json escapes: JSON string without the quotes
r_json() { local s="${1//\\/\\\\}"; printf '%s' "${s//\"/\\\"}"; }

r_write_config() {
    mkdir -p "$R_CONF" "$R_DATA" "$R_HOME" "$R_LOGDIR"
    : >"$R_CONF/rabbitmq-env.conf" # so /etc/rabbitmq/rabbitmq-env.conf is not read
    printf '[rabbitmq_auth_mechanism_ssl].\n' >"$R_CONF/enabled_plugins"
    printf '[].\n' >"$R_CONF/advanced.config"
    if [[ ! -s "$R_HOME/.erlang.cookie" ]]; then
        (umask 077 && head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$R_HOME/.erlang.cookie")
        chmod 400 "$R_HOME/.erlang.cookie"
    fi
    cat >"$R_CONF/rabbitmq.conf" <<EOF
# generated by scripts/services (rabbitmq) — do not edit, rewritten at each start
listeners.tcp.default = $R_HOST:$R_PORT
listeners.ssl.default = $R_HOST:$R_TLS_PORT
ssl_options.cacertfile = $R_CERTS/ca.pem
ssl_options.certfile = $R_CERTS/server.crt
ssl_options.keyfile = $R_CERTS/server.key
# a client certificate is optional, but when sent it must come from the CA
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
# EXTERNAL (rabbitmq_auth_mechanism_ssl): the user is the certificate's CN
ssl_cert_login_from = common_name
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
# users, vhosts and permissions (idempotent; imported at every boot)
load_definitions = $R_CONF/definitions.json
log.file = rabbit.log
log.file.level = info
log.console = false
EOF
    local u p v e
    u="$(r_json "$R_USER")" p="$(r_json "$R_PASS")" v="$(r_json "$R_VHOST")" e="$(r_json "$R_EXT_USER")"
    (umask 077 && cat >"$R_CONF/definitions.json" <<EOF
{
  "users": [
    {"name": "$u", "password": "$p", "tags": ["administrator"]},
    {"name": "$e", "password_hash": "", "tags": []}
  ],
  "vhosts": [{"name": "/"}, {"name": "$v"}],
  "permissions": [
    {"user": "$u", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
    {"user": "$u", "vhost": "$v", "configure": ".*", "write": ".*", "read": ".*"},
    {"user": "$e", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},
    {"user": "$e", "vhost": "$v", "configure": ".*", "write": ".*", "read": ".*"}
  ]
}
EOF
    )
}

# ---------------------------------------------------------------- health ---

# r_pid_of <pidfile>: the pid if alive and started with our data folder.
r_pid_of() {
    local pid
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "BINDERY_RABBITMQ_RUN=$R_RUN" || return 1
    printf '%s\n' "$pid"
}

r_pid() { r_pid_of "$R_PIDFILE"; }

# r_amqp_answers <port>: an AMQP 0-9-1 handshake gets connection.start back
# (frame type 1, channel 0, class 10 method 10): the node is up and serving.
r_amqp_answers() {
    local got
    # shellcheck disable=SC2016
    got="$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "AMQP\x00\x00\x09\x01" >&3
        head -c 11 <&3 | od -An -tx1 | tr -d " \n"' "$R_HOST" "$1" 2>/dev/null 9>&-)" || return 1
    [[ "$got" == 010000????????000a000a ]]
}

r_healthy() {
    r_amqp_answers "$R_PORT" && svc_port_open "$R_HOST" "$R_TLS_PORT"
}

r_stored_port() {
    local line
    line="$(grep '^RABBITMQ_PORT=' "$R_ENVFILE" 2>/dev/null)" || return 1
    printf '%s\n' "${line#*=}"
}

r_healthy_stored() {
    local port
    port="$(r_stored_port)" || return 1
    r_amqp_answers "$port"
}

r_env_lines() {
    local kv
    for kv in \
        "RABBITMQ_URL=amqp://$R_USER:$R_PASS@$R_HOST:$R_PORT/" \
        "RABBITMQ_VHOST_URL=amqp://$R_USER:$R_PASS@$R_HOST:$R_PORT/$R_VHOST" \
        "RABBITMQ_TLS_URL=amqps://$R_USER:$R_PASS@localhost:$R_TLS_PORT/" \
        "RABBITMQ_HOST=$R_HOST" \
        "RABBITMQ_PORT=$R_PORT" \
        "RABBITMQ_TLS_PORT=$R_TLS_PORT" \
        "RABBITMQ_USERNAME=$R_USER" \
        "RABBITMQ_PASSWORD=$R_PASS" \
        "RABBITMQ_VHOST=$R_VHOST" \
        "RABBITMQ_CA_CERT=$R_CERTS/ca.pem" \
        "RABBITMQ_CLIENT_CERT=$R_CERTS/client.pem" \
        "RABBITMQ_CLIENT_KEY=$R_CERTS/client.key" \
        "RABBITMQ_EXTERNAL_USER=$R_EXT_USER" \
        "RABBITMQ_NODENAME=$R_NODE" \
        "RABBITMQ_EPMD_PORT=$R_EPMD_PORT"; do
        svc_env_line "${kv%%=*}" "${kv#*=}"
    done
}

# r_kill_group <pid> <seconds>: SIGTERM to <pid> (the rabbitmq-server script
# passes it on to the Erlang VM and waits for it), then SIGKILL to its whole
# process group (setsid made <pid> its leader) if anything is left.
r_kill_group() {
    local pid="$1" bound="$2" i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < bound * 5; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    svc_log "process group $pid still alive after ${bound}s; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    svc_die "process group $pid did not exit even after SIGKILL"
}

# ------------------------------------------------------------- commands ---

# rabbitmq-server (kept from starting a system node), amqp-tools, openssl.
svc_deps() {
    r_need_server
    r_epmd_bin >/dev/null
    svc_log "ready: $(dpkg-query -W -f='rabbitmq-server ${Version}' rabbitmq-server)"
}

svc_start() {
    mkdir -p "$R_RUN"
    svc_lock "$R_LOCK"

    local pid
    if pid="$(r_pid)"; then
        local wait_until=$((SECONDS + R_START_TIMEOUT))
        until r_healthy_stored; do
            kill -0 "$pid" 2>/dev/null || break
            ((SECONDS < wait_until)) \
                || svc_die "rabbitmq (pid $pid) is running but not answering (log $R_LOGDIR/rabbit.log); try: scripts/services restart rabbitmq"
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            svc_log "already running (pid $pid)"
            if [[ "$(r_env_lines)" != "$(cat "$R_ENVFILE")" ]]; then
                svc_log "WARNING: it runs with other settings than the current RABBITMQ_* variables ask for; printing the running ones (stop it first to change them)"
            fi
            cat "$R_ENVFILE"
            return 0
        fi
    fi
    rm -f "$R_PIDFILE" "$R_ENVFILE"

    local p
    for p in "$R_PORT" "$R_TLS_PORT" "$R_DIST_PORT"; do
        [[ "$p" =~ ^[0-9]+$ ]] || svc_die "port '$p' is not a number"
        ! svc_port_open "$R_HOST" "$p" \
            || svc_die "port $R_HOST:$p is already in use by another process (not a node this script started); free it or set RABBITMQ_*PORT"
    done
    [[ "$R_CTL_PORTS" =~ ^[0-9]+-[0-9]+$ ]] || svc_die "RABBITMQ_CTL_PORTS must look like 25681-25689"

    r_need_server
    svc_tls_certs "$R_CERTS" "$R_EXT_USER"
    r_write_config
    r_export_env
    export BINDERY_RABBITMQ_RUN="$R_RUN" # marks our processes (r_pid_of)

    # our own epmd on loopback, in its own session, kept while the node runs
    if ! r_pid_of "$R_EPMD_PIDFILE" >/dev/null; then
        ! svc_port_open "$R_HOST" "$R_EPMD_PORT" \
            || svc_die "port $R_HOST:$R_EPMD_PORT (epmd) is already in use by another process; free it or set RABBITMQ_EPMD_PORT"
        local epmd
        epmd="$(r_epmd_bin)"
        # shellcheck disable=SC2016
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$R_EPMD_PIDFILE" \
            "$epmd" -address "$R_HOST" -port "$R_EPMD_PORT" \
            </dev/null >"$R_RUN/epmd.log" 2>&1 9>&- &
        local i
        for ((i = 0; i < 50; i++)); do
            svc_port_open "$R_HOST" "$R_EPMD_PORT" && break
            sleep 0.1
        done
        svc_port_open "$R_HOST" "$R_EPMD_PORT" || svc_die "epmd did not listen on $R_HOST:$R_EPMD_PORT (log $R_RUN/epmd.log)"
    fi

    [[ -f "$R_LOG" ]] && mv -f "$R_LOG" "$R_LOG.prev"
    svc_log "starting RabbitMQ node $R_NODE (log: $R_LOGDIR/rabbit.log, console: $R_LOG)"
    local t0=$SECONDS
    # shellcheck disable=SC2016
    setsid bash -c 'echo $$ >"$0"; cd "$1" || exit 1; shift; exec "$@"' "$R_PIDFILE" "$R_RUN" \
        "$R_SBIN/rabbitmq-server" </dev/null >"$R_LOG" 2>&1 9>&- &
    r_env_lines >"$R_ENVFILE"

    local deadline=$((SECONDS + R_START_TIMEOUT))
    pid=""
    while ((SECONDS < deadline)); do
        [[ -n "$pid" ]] || pid="$(cat "$R_PIDFILE" 2>/dev/null || true)"
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            svc_log "node process $pid exited during startup; last lines of $R_LOG and rabbit.log:"
            tail -n 20 "$R_LOG" >&2 || true
            tail -n 30 "$R_LOGDIR/rabbit.log" >&2 2>/dev/null || true
            rm -f "$R_PIDFILE" "$R_ENVFILE"
            svc_die "RabbitMQ failed to start"
        fi
        if [[ -n "$pid" ]] && r_healthy; then
            svc_log "RabbitMQ up in $((SECONDS - t0))s (pid $pid)"
            cat "$R_ENVFILE"
            return 0
        fi
        sleep 0.3
    done
    svc_log "node did not answer on $R_HOST:$R_PORT within ${R_START_TIMEOUT}s; last lines of rabbit.log:"
    tail -n 40 "$R_LOGDIR/rabbit.log" >&2 2>/dev/null || tail -n 40 "$R_LOG" >&2 || true
    [[ -n "$pid" ]] && r_kill_group "$pid" "$R_STOP_TIMEOUT"
    rm -f "$R_PIDFILE" "$R_ENVFILE"
    svc_die "RabbitMQ did not become ready within ${R_START_TIMEOUT}s (RABBITMQ_START_TIMEOUT)"
}

svc_stop() {
    local keep=0 a
    for a in "$@"; do
        case "$a" in
            --keep-data) keep=1 ;;
            *) svc_die "unknown option '$a'" ;;
        esac
    done
    mkdir -p "$R_RUN"
    svc_lock "$R_LOCK"
    local pid
    if pid="$(r_pid)"; then
        svc_log "stopping RabbitMQ (pid $pid)"
        r_kill_group "$pid" "$R_STOP_TIMEOUT"
    else
        svc_log "not running"
    fi
    if pid="$(r_pid_of "$R_EPMD_PIDFILE")"; then
        svc_kill_pid "$pid" 10
    fi
    rm -f "$R_PIDFILE" "$R_EPMD_PIDFILE" "$R_ENVFILE" "$R_RUN/beam.pid"
    if ((keep)); then
        svc_log "kept data in $R_DATA"
    else
        rm -rf "$R_DATA" "$R_CONF" "$R_HOME" "$R_LOGDIR"
        svc_log "removed data in $R_DATA"
    fi
}

svc_status() {
    local pid
    if pid="$(r_pid)"; then
        if r_healthy_stored; then
            echo "rabbitmq: running (pid $pid, node $R_NODE, $(grep '^RABBITMQ_URL=' "$R_ENVFILE" | sed 's/^RABBITMQ_URL=amqp:\/\/[^@]*@//'))"
            return 0
        fi
        echo "rabbitmq: not running properly (pid $pid alive but not answering; log $R_LOGDIR/rabbit.log)"
        return 1
    fi
    echo "rabbitmq: not running"
    return 1
}

svc_env() {
    if r_pid >/dev/null && [[ -f "$R_ENVFILE" ]]; then
        cat "$R_ENVFILE"
        return 0
    fi
    svc_die "rabbitmq is not running (start it: scripts/services start rabbitmq)"
}

svc_logs() {
    local f="$R_LOGDIR/rabbit.log"
    [[ -f "$f" ]] || f="$R_LOG"
    [[ -f "$f" ]] || svc_die "no log at $R_LOGDIR/rabbit.log"
    tail -n "${LINES_TO_SHOW:-100}" "$f"
}
