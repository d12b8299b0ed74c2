# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# SQS service for scripts/services: moto (PyPI moto[server], pinned) in server
# mode on 127.0.0.1, with AWS Signature V4 checking ON, so a signing bug
# fails against it.
#
# moto checks signatures only when started with INITIAL_NO_AUTH_ACTION_COUNT=N:
# its first N requests that reach an AWS action go through unchecked (health
# polls here only open a TCP connection, which moto does not count). This
# script spends exactly those N on IAM, then hands out the key pair it made:
#   1. iam CreateUser      bindery
#   2. iam CreateAccessKey bindery          -> AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
#   3. iam PutUserPolicy   bindery sqs:* on *
# so N = 3 (S_NO_AUTH_COUNT below; boto3 retries are off so none is re-sent).
# Every later request must be signed by that key: a wrong secret gets 403
# SignatureDoesNotMatch, an unknown key 403 InvalidClientTokenId. Each start
# checks both, then creates the queue "bindery" with the new key.
#
# moto keeps everything in memory: a stop, with or without --keep-data, loses
# the queues, and each start makes a new key pair.
#
# Environment (all optional):
#   SQS_PORT             HTTP port                      (default 5070)
#   SQS_REGION           region of the key and queues   (default us-east-1)
#   SQS_START_TIMEOUT    seconds to wait for moto       (default 60)
#   MOTO_VERSION         moto version                   (default 5.2.5)
#   BINDERY_CACHE        venv cache root (default ~/.cache/bindery)
#   BINDERY_RUN          run folder root (default /tmp/bindery-services)

S_HOST=127.0.0.1
S_PORT="${SQS_PORT:-5070}"
S_REGION="${SQS_REGION:-us-east-1}"
S_START_TIMEOUT="${SQS_START_TIMEOUT:-60}"
S_STOP_TIMEOUT=10
S_MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
S_NO_AUTH_COUNT=3 # CreateUser + CreateAccessKey + PutUserPolicy, see above
S_QUEUE=bindery

S_VENV="$BINDERY_CACHE/moto-$S_MOTO_VERSION/venv"
S_RUN="$BINDERY_RUN/sqs"
S_LOG="$S_RUN/moto.log"
S_PIDFILE="$S_RUN/moto.pid"
S_ENVFILE="$S_RUN/env"
S_LOCK="$BINDERY_RUN/.sqs.lock"

# ------------------------------------------------------------------ venv ---

# moto[server] in a venv of its own under $BINDERY_CACHE, made once.
s_venv() {
    [[ -f "$S_VENV/.complete" && -x "$S_VENV/bin/moto_server" ]] && return 0
    local py
    py="$(command -v python3 2>/dev/null)" || { svc_need_pkgs python3 python3-venv; py=python3; }
    if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        svc_need_pkgs python3-venv
    fi
    svc_log "installing moto[server]==$S_MOTO_VERSION from PyPI into $S_VENV (once) ..."
    rm -rf "$S_VENV"
    mkdir -p "$(dirname "$S_VENV")"
    local log
    log="$(dirname "$S_VENV")/pip.log"
    if ! { "$py" -m venv "$S_VENV" \
        && "$S_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$S_MOTO_VERSION"; } \
        </dev/null >"$log" 2>&1 9>&-; then
        tail -n 30 "$log" >&2
        rm -rf "$S_VENV"
        svc_die "could not install moto[server]==$S_MOTO_VERSION with pip (output above, $log)"
    fi
    touch "$S_VENV/.complete"
}

# ---------------------------------------------------------------- health ---

s_pid() {
    local pid
    pid="$(cat "$S_PIDFILE" 2>/dev/null)" || return 1
    svc_pid_matches "$pid" "$S_VENV/bin/" || return 1
    printf '%s\n' "$pid"
}

# Spends the N unchecked requests on IAM, checks that signatures are now
# enforced, creates the queue, and prints the env lines (Python, boto3 from
# moto's own venv).
s_setup() {
    S_ENDPOINT="http://$S_HOST:$S_PORT" S_REGION="$S_REGION" S_QUEUE="$S_QUEUE" \
        timeout 60 "$S_VENV/bin/python" - 9>&- <<'EOF'
import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, region, queue = os.environ["S_ENDPOINT"], os.environ["S_REGION"], os.environ["S_QUEUE"]
# one attempt per call: a retry would spend one more unchecked request
cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=20)

def client(service, key, secret):
    return boto3.client(service, endpoint_url=endpoint, region_name=region, config=cfg,
                        aws_access_key_id=key, aws_secret_access_key=secret)

# the N = 3 unchecked requests
iam = client("iam", "setup", "setup")
iam.create_user(UserName="bindery")
key = iam.create_access_key(UserName="bindery")["AccessKey"]
iam.put_user_policy(UserName="bindery", PolicyName="bindery-sqs-all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
kid, secret = key["AccessKeyId"], key["SecretAccessKey"]

def refused(label, k, s, code):
    try:
        client("sqs", k, s).list_queues()
    except ClientError as e:
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # moto answers auth errors with an XML body even on the JSON protocol,
        # so boto3 reports Code "403" and the XML as the message
        if status == 403 and (err.get("Code") == code or f"<Code>{code}</Code>" in err.get("Message", "")):
            return
        sys.exit(f"{label}: expected 403 {code}, got {status} {err}")
    sys.exit(f"{label}: was accepted: moto is not checking signatures")

refused("wrong secret", kid, secret[:-1] + ("A" if secret[-1] != "A" else "B"), "SignatureDoesNotMatch")
refused("unknown key", "AKIAIOSFODNN7EXAMPLE", secret, "InvalidClientTokenId")
url = client("sqs", kid, secret).create_queue(QueueName=queue)["QueueUrl"]
print(f"AWS_ACCESS_KEY_ID={kid}\nAWS_SECRET_ACCESS_KEY={secret}\nSQS_QUEUE_URL={url}")
EOF
}

# the lines s_setup prints, plus the fixed ones
s_env_lines() {
    local setup="$1" line
    svc_env_line SQS_ENDPOINT "http://$S_HOST:$S_PORT"
    svc_env_line AWS_REGION "$S_REGION"
    svc_env_line AWS_DEFAULT_REGION "$S_REGION"
    while IFS= read -r line; do
        [[ "$line" == *=* ]] && svc_env_line "${line%%=*}" "${line#*=}"
    done <<<"$setup"
    svc_env_line SQS_QUEUE_NAME "$S_QUEUE"
    svc_env_line SQS_PORT "$S_PORT"
}

# ------------------------------------------------------------- commands ---

svc_deps() {
    mkdir -p "$S_RUN"
    svc_lock "$S_LOCK"
    s_venv
    svc_log "ready: moto $S_MOTO_VERSION in $S_VENV"
}

svc_start() {
    mkdir -p "$S_RUN"
    svc_lock "$S_LOCK"

    local pid
    if pid="$(s_pid)" && [[ -s "$S_ENVFILE" ]]; then
        svc_log "already running (pid $pid, moto $S_MOTO_VERSION)"
        cat "$S_ENVFILE"
        return 0
    fi
    if [[ -n "$pid" ]]; then
        # alive but its setup never finished: its unchecked requests may be spent
        svc_log "moto (pid $pid) never finished its setup; restarting it"
        svc_kill_pid "$pid" "$S_STOP_TIMEOUT"
    fi
    rm -f "$S_PIDFILE" "$S_ENVFILE"

    [[ "$S_PORT" =~ ^[0-9]+$ ]] || svc_die "port '$S_PORT' is not a number"
    ! svc_port_open "$S_HOST" "$S_PORT" \
        || svc_die "port $S_HOST:$S_PORT is already in use by another process (not a moto this script started); free it or set SQS_PORT"

    s_venv
    [[ -f "$S_LOG" ]] && mv -f "$S_LOG" "$S_LOG.prev"
    svc_log "starting moto $S_MOTO_VERSION with signature checking (log: $S_LOG)"
    local t0=$SECONDS
    # shellcheck disable=SC2016
    INITIAL_NO_AUTH_ACTION_COUNT="$S_NO_AUTH_COUNT" \
        setsid bash -c 'echo $$ >"$0"; exec "$@"' "$S_PIDFILE" \
        "$S_VENV/bin/python" "$S_VENV/bin/moto_server" -H "$S_HOST" -p "$S_PORT" \
        </dev/null >"$S_LOG" 2>&1 9>&- &

    local deadline=$((SECONDS + S_START_TIMEOUT))
    pid=""
    while ((SECONDS < deadline)); do
        [[ -n "$pid" ]] || pid="$(cat "$S_PIDFILE" 2>/dev/null || true)"
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$S_LOG" >&2 || true
            rm -f "$S_PIDFILE"
            svc_die "moto exited during startup (log above)"
        fi
        [[ -n "$pid" ]] && svc_port_open "$S_HOST" "$S_PORT" && break
        sleep 0.2
    done
    if ! svc_port_open "$S_HOST" "$S_PORT"; then
        tail -n 30 "$S_LOG" >&2 || true
        [[ -n "$pid" ]] && svc_kill_pid "$pid" "$S_STOP_TIMEOUT"
        rm -f "$S_PIDFILE"
        svc_die "moto did not listen on $S_HOST:$S_PORT within ${S_START_TIMEOUT}s (SQS_START_TIMEOUT)"
    fi

    local setup
    if ! setup="$(s_setup 2>"$S_RUN/setup.err")"; then
        cat "$S_RUN/setup.err" >&2
        tail -n 20 "$S_LOG" >&2 || true
        svc_kill_pid "$pid" "$S_STOP_TIMEOUT"
        rm -f "$S_PIDFILE"
        svc_die "moto's IAM setup or its signature check failed (output above)"
    fi
    rm -f "$S_RUN/setup.err"
    (umask 077 && s_env_lines "$setup" >"$S_ENVFILE")
    svc_log "moto up in $((SECONDS - t0))s (pid $pid; signatures checked: a wrong secret and an unknown key were refused)"
    cat "$S_ENVFILE"
}

svc_stop() {
    local a
    for a in "$@"; do
        case "$a" in
            --keep-data) svc_log "moto keeps its data in memory only: --keep-data cannot keep it" ;;
            *) svc_die "unknown option '$a'" ;;
        esac
    done
    mkdir -p "$S_RUN"
    svc_lock "$S_LOCK"
    local pid
    if pid="$(s_pid)"; then
        svc_log "stopping moto (pid $pid)"
        svc_kill_pid "$pid" "$S_STOP_TIMEOUT"
    else
        svc_log "not running"
    fi
    rm -f "$S_PIDFILE" "$S_ENVFILE"
}

svc_status() {
    local pid
    if pid="$(s_pid)" && [[ -s "$S_ENVFILE" ]]; then
        if svc_port_open "$S_HOST" "$(sed -n 's/^SQS_PORT=//p' "$S_ENVFILE")"; then
            echo "sqs: running (pid $pid, moto $S_MOTO_VERSION, $(sed -n 's/^SQS_ENDPOINT=//p' "$S_ENVFILE"), signatures checked)"
            return 0
        fi
        echo "sqs: not running properly (pid $pid alive but not listening; log $S_LOG)"
        return 1
    fi
    echo "sqs: not running"
    return 1
}

svc_env() {
    if s_pid >/dev/null && [[ -s "$S_ENVFILE" ]]; then
        cat "$S_ENVFILE"
        return 0
    fi
    svc_die "sqs is not running (start it: scripts/services start sqs)"
}

svc_logs() {
    [[ -f "$S_LOG" ]] || svc_die "no log at $S_LOG"
    tail -n "${LINES_TO_SHOW:-100}" "$S_LOG"
}
