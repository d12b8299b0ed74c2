# SPDX-License-Identifier: Apache-2.0
"""The other side of tst_aws_sqs_binding (issue 11): boto3, AWS's own SDK, talking to the same
SQS server (moto from scripts/services). Each command prints one JSON document on stdout.

  sqs_peer.py create-queue NAME [--fifo] [--visibility S] [--content-dedup]  -> {"url": ...}
  sqs_peer.py delete-queue URL
  sqs_peer.py send URL  (stdin: JSON list of {"body", "attributes", "group", "dedup", "delay"})
                                                                    -> {"ids": [...]}
  sqs_peer.py send-many URL COUNT PREFIX [--groups G] [--backlog N] -> {"ids": [...], "seconds"}
  sqs_peer.py receive URL [--max N] [--wait S] [--delete]           -> {"messages": [...]}
  sqs_peer.py counts URL               -> {"visible": n, "notVisible": n, "delayed": n}

Credentials, region and endpoint come from SQS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY (scripts/services env sqs).
"""
import argparse
import concurrent.futures
import json
import os
import sys
import time

import boto3
from botocore.config import Config


def client():
    return boto3.client(
        "sqs",
        endpoint_url=os.environ["SQS_ENDPOINT"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 5, "mode": "standard"},
                      max_pool_connections=16, read_timeout=60),
    )


def create_queue(args):
    attributes = {}
    name = args.name
    if args.fifo:
        attributes["FifoQueue"] = "true"
        if not name.endswith(".fifo"):
            name += ".fifo"
    if args.content_dedup:
        attributes["ContentBasedDeduplication"] = "true"
    if args.visibility is not None:
        attributes["VisibilityTimeout"] = str(args.visibility)
    url = client().create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return {"url": url}


def delete_queue(args):
    client().delete_queue(QueueUrl=args.url)
    return {}


def message_attributes(attributes):
    out = {}
    for name, value in (attributes or {}).items():
        if isinstance(value, dict):
            value = dict(value)
            if "BinaryValue" in value and isinstance(value["BinaryValue"], str):
                value["BinaryValue"] = value["BinaryValue"].encode()
            out[name] = value
        else:
            out[name] = {"DataType": "String", "StringValue": str(value)}
    return out


def send(args):
    sqs = client()
    ids = []
    for m in json.load(sys.stdin):
        kwargs = {"QueueUrl": args.url, "MessageBody": m["body"]}
        if m.get("attributes"):
            kwargs["MessageAttributes"] = message_attributes(m["attributes"])
        if m.get("group"):
            kwargs["MessageGroupId"] = m["group"]
        if m.get("dedup"):
            kwargs["MessageDeduplicationId"] = m["dedup"]
        if m.get("delay"):
            kwargs["DelaySeconds"] = int(m["delay"])
        ids.append(sqs.send_message(**kwargs)["MessageId"])
    return {"ids": ids}


def send_many(args):
    sqs = client()
    fifo = args.url.endswith(".fifo")
    batches = []
    for start in range(0, args.count, 10):
        entries = []
        for i in range(start, min(start + 10, args.count)):
            e = {"Id": str(i - start), "MessageBody": f"{args.prefix}-{i}"}
            if fifo:
                e["MessageGroupId"] = f"g{i % args.groups}"
                e["MessageDeduplicationId"] = f"{args.prefix}-{i}"
            entries.append(e)
        batches.append(entries)

    def put(entries):
        r = sqs.send_message_batch(QueueUrl=args.url, Entries=entries)
        if r.get("Failed"):
            raise RuntimeError(f"send_message_batch failed: {r['Failed']}")
        return [s["MessageId"] for s in r["Successful"]]

    def waiting():
        a = sqs.get_queue_attributes(
            QueueUrl=args.url,
            AttributeNames=["ApproximateNumberOfMessages",
                            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

    t0 = time.monotonic()
    ids = []
    if fifo:  # one sender keeps each group's order
        for b in batches:
            ids += put(b)
    else:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for start in range(0, len(batches), 20):
                # --backlog: wait while that many are queued (moto's calls slow down with each
                # message it holds, so a consumer running meanwhile keeps it fast)
                while args.backlog and waiting() > args.backlog:
                    time.sleep(0.2)
                for part in pool.map(put, batches[start:start + 20]):
                    ids += part
    return {"ids": ids, "seconds": time.monotonic() - t0}


def receive(args):
    sqs = client()
    r = sqs.receive_message(QueueUrl=args.url, MaxNumberOfMessages=args.max,
                            WaitTimeSeconds=args.wait, MessageAttributeNames=["All"],
                            MessageSystemAttributeNames=["All"])
    messages = []
    for m in r.get("Messages", []):
        attributes = {}
        for name, a in m.get("MessageAttributes", {}).items():
            a = dict(a)
            if "BinaryValue" in a:
                a["BinaryValue"] = a["BinaryValue"].decode("latin-1")
            attributes[name] = a
        messages.append({"id": m["MessageId"], "body": m["Body"], "attributes": attributes,
                         "system": m.get("Attributes", {})})
        if args.delete:
            sqs.delete_message(QueueUrl=args.url, ReceiptHandle=m["ReceiptHandle"])
    return {"messages": messages}


def counts(args):
    a = client().get_queue_attributes(
        QueueUrl=args.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return {"visible": int(a["ApproximateNumberOfMessages"]),
            "notVisible": int(a["ApproximateNumberOfMessagesNotVisible"]),
            "delayed": int(a["ApproximateNumberOfMessagesDelayed"])}


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create-queue")
    c.add_argument("name")
    c.add_argument("--fifo", action="store_true")
    c.add_argument("--content-dedup", action="store_true")
    c.add_argument("--visibility", type=int)
    c.set_defaults(run=create_queue)
    d = sub.add_parser("delete-queue")
    d.add_argument("url")
    d.set_defaults(run=delete_queue)
    s = sub.add_parser("send")
    s.add_argument("url")
    s.set_defaults(run=send)
    m = sub.add_parser("send-many")
    m.add_argument("url")
    m.add_argument("count", type=int)
    m.add_argument("prefix")
    m.add_argument("--groups", type=int, default=1)
    m.add_argument("--backlog", type=int, default=0)
    m.set_defaults(run=send_many)
    r = sub.add_parser("receive")
    r.add_argument("url")
    r.add_argument("--max", type=int, default=10)
    r.add_argument("--wait", type=int, default=0)
    r.add_argument("--delete", action="store_true")
    r.set_defaults(run=receive)
    n = sub.add_parser("counts")
    n.add_argument("url")
    n.set_defaults(run=counts)
    args = p.parse_args()
    json.dump(args.run(args), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
