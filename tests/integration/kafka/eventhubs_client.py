# SPDX-License-Identifier: Apache-2.0
# An independent Event Hubs client for tst_eventhubs_binding: confluent-kafka configured the way
# Microsoft documents it for Event Hubs' Kafka endpoint (SASL_SSL, PLAIN, user "$ConnectionString",
# the connection string as password, bootstrap <namespace>:9093), with the test CA.
#   eventhubs_client.py produce <hub>          stdin: JSON lines {"key", "value", "headers", "partition"}
#   eventhubs_client.py consume <hub> <group> <count> <seconds>
#                                              stdout: JSON lines {"key", "value", "headers", "partition", "offset"}
# Env: EVENTHUBS_CONNECTION_STRING, EVENTHUBS_CA_CERT.
import json
import os
import sys
import time
from urllib.parse import urlparse

from confluent_kafka import Consumer, Producer


def config():
    conn = os.environ["EVENTHUBS_CONNECTION_STRING"]
    endpoint = next(p.split("=", 1)[1] for p in conn.split(";") if p.lower().startswith("endpoint="))
    url = urlparse(endpoint)
    return {
        "bootstrap.servers": f"{url.hostname}:{url.port or 9093}",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "$ConnectionString",
        "sasl.password": conn,
        "ssl.ca.location": os.environ["EVENTHUBS_CA_CERT"],
        "client.id": "bindery-eventhubs-test",
    }


def produce(hub):
    p = Producer(config())
    failures = []

    def done(err, _msg):
        if err is not None:
            failures.append(str(err))

    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        kwargs = {"value": r["value"].encode(), "on_delivery": done}
        if r.get("key") is not None:
            kwargs["key"] = r["key"].encode()
        if r.get("headers"):
            kwargs["headers"] = [(k, v.encode()) for k, v in r["headers"].items()]
        if r.get("partition") is not None:
            kwargs["partition"] = r["partition"]
        p.produce(hub, **kwargs)
    p.flush(30)
    if failures:
        print(json.dumps({"errors": failures}), file=sys.stderr)
        sys.exit(1)


def consume(hub, group, count, seconds):
    conf = config()
    conf.update({"group.id": group, "auto.offset.reset": "earliest"})
    c = Consumer(conf)
    c.subscribe([hub])
    got = 0
    deadline = time.monotonic() + seconds
    while got < count and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        print(json.dumps({
            "key": m.key().decode() if m.key() is not None else None,
            "value": m.value().decode() if m.value() is not None else None,
            "headers": {k: v.decode() for k, v in (m.headers() or [])},
            "partition": m.partition(),
            "offset": m.offset(),
        }), flush=True)
        got += 1
    c.close()


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        produce(sys.argv[2])
    else:
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
