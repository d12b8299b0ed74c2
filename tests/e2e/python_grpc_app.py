# SPDX-License-Identifier: Apache-2.0
"""A gRPC app written with the official Dapr Python SDK (dapr-ext-grpc's App) gets its input
binding events from binderyd run with --app-protocol grpc (issue 15).

- binderyd asks the app AppCallback.ListInputBindings instead of the OPTIONS probe: the app lists
  `tick` (cron), `orders-in` (Kafka) and `boom` (cron), not `ignored` (cron), which never gets an
  event;
- `tick` events arrive through AppCallback.OnBindingEvent with the cron's metadata;
- a record created with DaprClient().invoke_binding on `orders-out` (Kafka, over binderyd's gRPC
  API) reaches the app through `orders-in`, bytes untouched; the app raises the first time it sees
  it, so the first delivery fails (gRPC UNKNOWN) and the Kafka binding's failure rule
  (consumeRetryEnabled) delivers it again;
- every `boom` delivery fails (the handler raises): the traffic log records each with the gRPC
  status in place of the HTTP one, and the cron binding drops it as it does for an HTTP app.

Kafka comes from scripts/services; without it the test skips, or fails under CI=true.
"""
import json
import os
import sys
import tempfile
import threading
import time

from e2e_common import Binderyd, free_port, kafka_brokers, skip_or_fail, wait_for

RUN = str(int(time.time() * 1000))
OK, UNKNOWN = 0, 2


def component(name, type_, items):
    text = (f"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n"
            f"  type: {type_}\n  version: v1\n  metadata:\n")
    for k, v in items.items():
        text += f"  - name: {k}\n    value: {json.dumps(v)}\n"
    return text


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def traffic(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    brokers = kafka_brokers()
    if not brokers:
        return skip_or_fail("Kafka is not running: start it with scripts/services start kafka")
    folder = tempfile.mkdtemp(prefix="bindery-e2e-grpc-app-")
    components = os.path.join(folder, "components")
    os.makedirs(components)
    topic = f"bindery-e2e-grpc-app-{RUN}"
    files = {
        "tick.yaml": component("tick", "bindings.cron", {"schedule": "@every 1s"}),
        "boom.yaml": component("boom", "bindings.cron", {"schedule": "@every 1s"}),
        "ignored.yaml": component("ignored", "bindings.cron", {"schedule": "@every 1s"}),
        "orders-in.yaml": component("orders-in", "bindings.kafka", {
            "brokers": brokers, "topics": topic, "consumerGroup": f"e2e-{RUN}", "authType": "none",
            "initialOffset": "oldest", "consumeRetryEnabled": "true"}),
        "orders-out.yaml": component("orders-out", "bindings.kafka", {
            "brokers": brokers, "publishTopic": topic, "authType": "none", "direction": "output"}),
    }
    for name, text in files.items():
        with open(os.path.join(components, name), "w") as f:
            f.write(text)
    log_path = os.path.join(folder, "traffic.jsonl")

    app_port, http_port, grpc_port = free_port(), free_port(), free_port()
    os.environ.update({"DAPR_HTTP_PORT": str(http_port), "DAPR_GRPC_PORT": str(grpc_port),
                       "DAPR_HEALTH_TIMEOUT": "20"})
    from dapr.clients import DaprClient
    from dapr.ext.grpc import App, BindingRequest

    lock = threading.Lock()
    ticks, orders, booms = [], [], []
    app = App()

    @app.binding("tick")
    def on_tick(request: BindingRequest):
        with lock:
            ticks.append((request.data, dict(request.binding_metadata)))

    @app.binding("orders-in")
    def on_order(request: BindingRequest):
        with lock:
            orders.append((request.data, dict(request.binding_metadata)))
            first = len(orders) == 1
        if first:
            raise RuntimeError("not yet: the first delivery of each record fails")

    @app.binding("boom")
    def on_boom(request: BindingRequest):
        with lock:
            booms.append(time.time())
        raise ValueError("boom handler refuses every event")

    threading.Thread(target=app.run, args=(app_port, "127.0.0.1"), daemon=True).start()
    d = Binderyd(["--app-id", "grpc-app-e2e", "--app-protocol", "grpc", "--app-port", str(app_port),
                  "--dapr-http-port", str(http_port), "--dapr-grpc-port", str(grpc_port),
                  "--resources-path", components, "--traffic-log", log_path], http_port)
    try:
        wait_for(lambda: len(ticks) >= 2, 20, "2 cron events at the gRPC app")
        data, metadata = ticks[0]
        check(data == b"", f"cron events are empty, got {data!r}")
        check(metadata.get("timeZone") == "Local" and "readTimeUTC" in metadata,
              f"the cron's metadata reaches the app: {metadata}")

        marker = f"order-{RUN}".encode()
        payload = b"\x01\x02 raw " + marker
        with DaprClient() as c:
            c.invoke_binding("orders-out", "create", payload, {"x-order": "7"})
        wait_for(lambda: len(orders) >= 2, 30, "the Kafka record, delivered twice (first refused)")
        check(all(o[0] == payload for o in orders[:2]), f"record bytes: {orders[:2]}")
        check(orders[0][1].get("x-order") == "7", f"record headers as metadata: {orders[0][1]}")
        wait_for(lambda: len(booms) >= 2, 10, "2 deliveries to the raising boom handler")
        time.sleep(1.5)  # let the traffic log writer flush
        records = traffic(log_path)

        probes = {r["binding"]: r for r in records if r["kind"] == "probe"}
        check(set(probes) == {"tick", "boom", "ignored", "orders-in"},
              f"one ListInputBindings check per input binding: {sorted(probes)}")
        for name in ("tick", "boom", "orders-in"):
            p = probes[name]
            check(p["operation"] == "ListInputBindings" and p["status"] == OK and p["ok"],
                  f"{name} is subscribed: {p}")
        check(not probes["ignored"]["ok"], f"ignored is not listed: {probes['ignored']}")
        check(not [r for r in records if r["kind"] == "input" and r["binding"] == "ignored"],
              "no event is delivered to a binding the app does not list")

        delivered = [r for r in records if r["kind"] == "input"]
        tick = [r for r in delivered if r["binding"] == "tick"][0]
        check(tick["route"] == "/dapr.proto.runtime.v1.AppCallback/OnBindingEvent"
              and tick["status"] == OK and tick["ok"] and tick["outcome"] == "acked",
              f"a tick's delivery record: {tick}")
        boom = [r for r in delivered if r["binding"] == "boom"][0]
        check(boom["status"] == UNKNOWN and not boom["ok"] and boom["outcome"] == "dropped",
              f"a failed delivery keeps the record's shape with the gRPC status: {boom}")
        check(boom["error"].startswith("error invoking app: rpc error: code = Unknown desc = ")
              and "boom handler refuses every event" in boom["error"], f"the error says why: {boom}")
        attempts = [r for r in delivered if r["binding"] == "orders-in"]
        check([(r["status"], r["ok"], r["attempt"]) for r in attempts[:2]]
              == [(UNKNOWN, False, 1), (OK, True, 2)],
              f"the refused record is retried by the Kafka binding: {attempts}")
        check(attempts[0]["outcome"] == "retry" and attempts[1]["outcome"] == "acked", f"{attempts}")
    except AssertionError as e:
        print(f"python_grpc_app: FAIL: {e}\n--- binderyd log ---\n{d.log()}", file=sys.stderr)
        return 1
    finally:
        rc = d.stop()
        app.stop()
    if rc != 0:
        print(f"python_grpc_app: FAIL: binderyd exited with {rc}\n{d.log()}", file=sys.stderr)
        return 1
    print("python_grpc_app: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
