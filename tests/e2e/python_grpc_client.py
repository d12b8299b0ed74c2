# SPDX-License-Identifier: Apache-2.0
"""The official Dapr Python SDK's client against binderyd's gRPC API (issue 15).

`DaprClient` waits for binderyd's HTTP /v1.0/healthz/outbound, then speaks gRPC only:
- invoke_binding create/get/list/delete on localstorage, data as raw bytes (no JSON re-encoding);
- invoke_binding create on Kafka: the record read back with confluent-kafka holds the exact bytes
  and daprd's metadata (the call's gRPC metadata merged in, as daprd merges it);
- an unknown binding and a failing get: INTERNAL with daprd's message and a google.rpc.ErrorInfo
  detail whose reason is ERR_INVOKE_OUTPUT_BINDING;
- get_metadata, set_metadata; get_secret and get_bulk_secret on a local.file store;
- an unserved method (get_state) answers UNIMPLEMENTED naming Bindery;
- DAPR_API_TOKEN: a client with the token works, one without or with a wrong one is refused.

Kafka comes from scripts/services (KAFKA_BROKERS, else `scripts/services env kafka`); without it the
test skips, or fails under CI=true.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from e2e_common import Binderyd, free_port, kafka_brokers, skip_or_fail

RUN = str(int(time.time() * 1000))


def component(name, type_, items):
    lines = [f"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n"
             f"  type: {type_}\n  version: v1\n  metadata:\n"]
    for k, v in items.items():
        lines.append(f"  - name: {k}\n    value: {json.dumps(v)}\n")
    return "".join(lines)


def write_components(folder, store, brokers, topic, secrets_file):
    files = {
        "files.yaml": component("files", "bindings.localstorage", {"rootPath": store}),
        "orders.yaml": component("orders", "bindings.kafka", {
            "brokers": brokers, "publishTopic": topic, "authType": "none", "direction": "output"}),
        "secrets.yaml": component("vault", "secretstores.local.file", {"secretsFile": secrets_file}),
    }
    for name, text in files.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def sdk_error(raw):
    """Some SDK calls raise DaprGrpcError, invoke_binding the bare grpc.RpcError: read both with the
    SDK's own parser of the status details."""
    from dapr.clients.exceptions import DaprGrpcError
    return raw if isinstance(raw, DaprGrpcError) else DaprGrpcError(raw)


def error_info(err):
    """The SDK's reading of grpc-status-details-bin: (google.rpc.Status, its ErrorInfo as a dict).
    grpc_status checks that the detail's code and message are the call's."""
    info = dict(err.status_details().error_info or {})
    check(info.pop("@type", None) == "type.googleapis.com/google.rpc.ErrorInfo", f"detail type {info}")
    return err.get_grpc_status(), info


def read_record(brokers, topic, marker, timeout=30):
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": brokers, "group.id": f"bindery-e2e-grpc-{RUN}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        c.subscribe([topic])
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            if marker in (m.value() or b""):
                return m
    finally:
        c.close()
    return None


def run(grpc_port, http_port, brokers, topic, store):
    import grpc
    from dapr.clients import DaprClient

    with DaprClient() as c:
        # localstorage: bytes go through untouched (HTTP would JSON-encode them).
        payload = b'{"n": 1}\x00\xffraw'
        r = c.invoke_binding("files", "create", payload, {"fileName": "a.bin"})
        check(json.loads(r.data) == {"fileName": "a.bin"}, f"create answered {r.data!r}")
        with open(os.path.join(store, "a.bin"), "rb") as f:
            check(f.read() == payload, "the file holds the exact bytes sent")
        r = c.invoke_binding("files", "get", binding_metadata={"fileName": "a.bin"})
        check(r.data == payload, f"get returned {r.data!r}")
        c.invoke_binding("files", "create", "second", {"fileName": "b.txt"})
        r = c.invoke_binding("files", "list")
        listed = sorted(json.loads(r.data))
        check(listed == [os.path.join(store, "a.bin"), os.path.join(store, "b.txt")],
              f"list returned {r.data!r}")
        r = c.invoke_binding("files", "delete", binding_metadata={"fileName": "a.bin"})
        check(r.data == b"", f"delete answered {r.data!r}")
        check(not os.path.exists(os.path.join(store, "a.bin")), "delete removed the file")

        # Failures: INTERNAL, daprd's message, ErrorInfo ERR_INVOKE_OUTPUT_BINDING in dapr.io.
        for name, op, md, message in [
            ("nope", "create", {}, "error invoking output binding nope: couldn't find output binding nope"),
            ("files", "get", {"fileName": "a.bin"}, "error invoking output binding files: "),
            ("files", "frobnicate", {}, "error invoking output binding files: binding files does not "
                                        "support operation frobnicate. supported operations:"),
        ]:
            try:
                c.invoke_binding(name, op, binding_metadata=md)
                raise AssertionError(f"{name}/{op} should fail")
            except grpc.RpcError as raw:
                e = sdk_error(raw)
                check(e.code() == grpc.StatusCode.INTERNAL, f"{name}/{op}: {e.code()}")
                check(e.details().startswith(message), f"{name}/{op}: {e.details()!r}")
                st, info = error_info(e)
                check(st is not None and st.code == 13 and st.message == e.details(),
                      f"{name}/{op}: status detail {st}")
                check(e.error_code() == "ERR_INVOKE_OUTPUT_BINDING"
                      and info == {"reason": "ERR_INVOKE_OUTPUT_BINDING", "domain": "dapr.io"},
                      f"{name}/{op}: ErrorInfo {info}")

        # Kafka create: the exact bytes, and daprd's merge of the call's metadata.
        marker = f"grpc-e2e-{RUN}".encode()
        data = b"\x00binary " + marker
        c.invoke_binding("orders", "create", data, {"key": "k-1", "x-from-request": "yes"})
        rec = read_record(brokers, topic, marker)
        check(rec is not None, f"the record reached topic {topic}")
        check(rec.value() == data, f"record value {rec.value()!r}")
        headers = {k: v.decode() for k, v in rec.headers() or []}
        check(headers.get("x-from-request") == "yes", f"request metadata as a header: {headers}")
        # daprd writes the all-zero traceparent of an untraced call; Bindery starts a real
        # trace there (README, "Where Bindery deliberately differs"), so records can be linked.
        tp = headers.get("traceparent", "")
        check(re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", tp) is not None
              and tp[3:35] != "0" * 32, f"a fresh traceparent on the record: {headers}")
        check(headers.get("dapr-authority") == f"127.0.0.1:{grpc_port}", f"dapr-authority: {headers}")
        check(headers.get("content-type") == "application/grpc", f"content-type: {headers}")
        check(headers.get("user-agent", "").startswith("dapr-sdk-python/"), f"user-agent: {headers}")

        # Metadata.
        m = c.get_metadata()
        check(m.application_id == "grpc-e2e", f"app id {m.application_id}")
        comps = {x.name: (x.type, sorted(x.capabilities)) for x in m.registered_components}
        check(comps.get("files") == ("bindings.localstorage", ["OUTPUT_BINDING"]), f"components {comps}")
        check(comps.get("orders") == ("bindings.kafka", ["OUTPUT_BINDING"]), f"components {comps}")
        check(m.extended_metadata.get("daprRuntimeVersion") == "1.18.0-bindery", f"{m.extended_metadata}")
        check("daprRuntimeVersion" in m.extended_metadata, f"extended {m.extended_metadata}")
        c.set_metadata("who", "python")
        check(c.get_metadata().extended_metadata.get("who") == "python", "set_metadata is kept")

        # Secrets.
        s = c.get_secret("vault", "db-password")
        check(s.secret == {"db-password": "s3cret"}, f"get_secret {s.secret}")
        b = c.get_bulk_secret("vault")
        check(b.secrets == {"db-password": {"db-password": "s3cret"}, "api-key": {"api-key": "k-42"}},
              f"get_bulk_secret {b.secrets}")
        try:
            c.get_secret("no-such-store", "x")
            raise AssertionError("an unknown store should fail")
        except grpc.RpcError as raw:
            e = sdk_error(raw)
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT
                  and e.details() == "failed finding secret store with key no-such-store",
                  f"unknown store: {e.code()} {e.details()!r}")

        # What Bindery does not serve.
        try:
            c.get_state("statestore", "k")
            raise AssertionError("get_state should be UNIMPLEMENTED")
        except grpc.RpcError as raw:
            e = sdk_error(raw)
            check(e.code() == grpc.StatusCode.UNIMPLEMENTED
                  and e.details() == "Bindery is a bindings-only Dapr runtime: GetState is not served",
                  f"get_state: {e.code()} {e.details()!r}")


def run_token(grpc_port):
    """DAPR_API_TOKEN: the SDK sends it as dapr-api-token metadata."""
    import grpc
    from dapr.clients import DaprClient
    from dapr.conf import settings

    settings.DAPR_API_TOKEN = "t0ken"
    with DaprClient() as c:
        check(c.get_metadata().application_id == "grpc-e2e-token", "the token is accepted")
    for token in (None, "wrong"):
        settings.DAPR_API_TOKEN = token
        with DaprClient() as c:
            try:
                c.invoke_binding("files", "list")
                raise AssertionError(f"token {token!r} should be refused")
            except grpc.RpcError as raw:
                e = sdk_error(raw)
                check(e.code() == grpc.StatusCode.UNAUTHENTICATED and e.details() == "Unauthorized",
                      f"token {token!r}: {e.code()} {e.details()!r}")
                _, info = error_info(e)
                want = "missing api token in request metadata" if token is None \
                    else "authentication error: api token mismatch"
                check(info == {"reason": "Unauthorized", "domain": "dapr.io",
                               "metadata": {"http.code": "401", "http.error_message": want}},
                      f"token {token!r}: {info}")


def main():
    brokers = kafka_brokers()
    if not brokers:
        return skip_or_fail("Kafka is not running: start it with scripts/services start kafka")
    folder = tempfile.mkdtemp(prefix="bindery-e2e-grpc-")
    store = os.path.join(folder, "store")
    os.makedirs(store)
    secrets_file = os.path.join(folder, "secrets.json")
    with open(secrets_file, "w") as f:
        json.dump({"db-password": "s3cret", "api-key": "k-42"}, f)
    components = os.path.join(folder, "components")
    os.makedirs(components)
    topic = f"bindery-e2e-grpc-{RUN}"
    write_components(components, store, brokers, topic, secrets_file)

    http_port, grpc_port = free_port(), free_port()
    # The SDK reads these when it is imported.
    os.environ.update({"DAPR_HTTP_PORT": str(http_port), "DAPR_GRPC_PORT": str(grpc_port),
                       "DAPR_HEALTH_TIMEOUT": "20"})
    args = ["--dapr-http-port", str(http_port), "--dapr-grpc-port", str(grpc_port),
            "--resources-path", components]
    d = Binderyd(["--app-id", "grpc-e2e", *args], http_port)
    try:
        run(grpc_port, http_port, brokers, topic, store)
    except AssertionError as e:
        print(f"python_grpc_client: FAIL: {e}\n--- binderyd log ---\n{d.log()}", file=sys.stderr)
        return 1
    finally:
        rc = d.stop()
    if rc != 0:
        print(f"python_grpc_client: FAIL: binderyd exited with {rc}\n{d.log()}", file=sys.stderr)
        return 1

    d = Binderyd(["--app-id", "grpc-e2e-token", *args], http_port, env={"DAPR_API_TOKEN": "t0ken"})
    try:
        run_token(grpc_port)
    except AssertionError as e:
        print(f"python_grpc_client: FAIL: {e}\n--- binderyd log ---\n{d.log()}", file=sys.stderr)
        return 1
    finally:
        d.stop()
    print("python_grpc_client: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
