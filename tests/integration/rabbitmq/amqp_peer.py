# SPDX-License-Identifier: Apache-2.0
"""The other side of tst_rabbitmq_binding: pika (not Bindery, not rabbitmq-c) publishing to and
reading from the real broker, so that what Bindery sends and receives is checked independently.

    amqp_peer.py get <url> <queue> [max]      drain up to max (default all) messages; prints a
                                              JSON list of {body, properties, redelivered}
    amqp_peer.py count <url> <queue>          prints {"messages": n, "consumers": n}
    amqp_peer.py publish <url> <queue>        stdin: JSON list of {body, properties}; publishes
                                              each with a confirm; prints {"published": n}
    amqp_peer.py declare <url> <queue> [durable]  declares the queue (no arguments)
    amqp_peer.py fill <url> <queue> <n> <run> n persistent messages {"seq":i,"run":"<run>"}
    amqp_peer.py delete <url> <queue>         deletes the queue

<url> is an amqp:// URI; a trailing '/' means the vhost '/', as in daprd.
"""
import json
import sys

import pika


def connect(url):
    params = pika.URLParameters(url)
    params.connection_attempts, params.retry_delay, params.socket_timeout = 3, 1, 10
    return pika.BlockingConnection(params)


def props_to_json(p):
    out = {}
    for name in ("content_type", "content_encoding", "delivery_mode", "priority", "correlation_id",
                 "reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id"):
        v = getattr(p, name)
        if v is not None:
            out[name] = v
    if p.headers is not None:
        out["headers"] = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
                          for k, v in p.headers.items()}
    return out


def props_from_json(d):
    return pika.BasicProperties(**d) if d else None


def main():
    cmd, url, queue = sys.argv[1], sys.argv[2], sys.argv[3]
    conn = connect(url)
    ch = conn.channel()
    try:
        if cmd == "get":
            limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
            got = []
            while limit is None or len(got) < limit:
                method, props, body = ch.basic_get(queue, auto_ack=True)
                if method is None:
                    break
                got.append({"body": body.decode("utf-8", "replace"), "properties": props_to_json(props),
                            "redelivered": method.redelivered})
            print(json.dumps(got))
        elif cmd == "count":
            q = ch.queue_declare(queue, passive=True)
            print(json.dumps({"messages": q.method.message_count, "consumers": q.method.consumer_count}))
        elif cmd == "publish":
            ch.confirm_delivery()
            items = json.load(sys.stdin)
            for m in items:
                ch.basic_publish("", queue, m["body"].encode("utf-8"), props_from_json(m.get("properties")),
                                 mandatory=True)
            print(json.dumps({"published": len(items)}))
        elif cmd == "declare":
            ch.queue_declare(queue, durable=len(sys.argv) > 4 and sys.argv[4] == "durable")
            print("{}")
        elif cmd == "fill":
            n, run = int(sys.argv[4]), sys.argv[5]
            ch.confirm_delivery()
            persistent = pika.BasicProperties(delivery_mode=2)
            for i in range(n):
                body = json.dumps({"seq": i, "run": run}, separators=(",", ":")).encode()
                ch.basic_publish("", queue, body, persistent, mandatory=True)
            print(json.dumps({"published": n}))
        elif cmd == "delete":
            ch.queue_delete(queue)
            print("{}")
        else:
            raise SystemExit(f"unknown command {cmd}")
    finally:
        conn.close()


if __name__ == "__main__":
    main()
