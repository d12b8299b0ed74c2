#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The other side of tst_gcp_bucket_binding: Google's own google-cloud-storage client (PyPI, in
tests/e2e/.venv) against the same fake-gcs-server, anonymously as for any emulator.

Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "bucket", "name": b}                              create the bucket (if missing)
  {"op": "put", "bucket": b, "name": n, "file"|"b64": ..., "contentType": t}
  {"op": "stat", "bucket": b, "name": n}                   exists, size, contentType, md5, crc32c, generation
  {"op": "read", "bucket": b, "name": n}                   size, sha256 (streamed), b64 when <= 1 MiB
  {"op": "list", "bucket": b, "prefix": p}                 names
  {"op": "delete", "bucket": b, "name": n}
  {"op": "empty", "bucket": b}                             delete every object (the server keeps them in memory)
Every answer has "ok"; a failure has "error".
Usage: gcs_peer.py ENDPOINT
"""
import base64
import hashlib
import json
import sys

from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage


def main():
    client = storage.Client(project="bindery-test", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": sys.argv[1]})

    def run(c):
        op = c["op"]
        if op == "bucket":
            try:
                client.create_bucket(c["name"])
            except exceptions.Conflict:
                pass
            return {}
        bucket = client.bucket(c["bucket"])
        if op == "put":
            blob = bucket.blob(c["name"], chunk_size=8 * 1024 * 1024)
            if "file" in c:
                blob.upload_from_filename(c["file"], content_type=c.get("contentType"))
            else:
                blob.upload_from_string(base64.b64decode(c["b64"]), content_type=c.get("contentType"))
            return {}
        if op == "stat":
            blob = bucket.get_blob(c["name"])
            if blob is None:
                return {"exists": False}
            return {"exists": True, "size": blob.size, "contentType": blob.content_type,
                    "md5": blob.md5_hash, "crc32c": blob.crc32c, "generation": blob.generation,
                    "etag": blob.etag}
        if op == "read":
            blob = bucket.blob(c["name"])
            digest = hashlib.sha256()
            size = 0
            small = bytearray()
            with blob.open("rb", chunk_size=8 * 1024 * 1024) as f:
                while True:
                    chunk = f.read(8 * 1024 * 1024)
                    if not chunk:
                        break
                    digest.update(chunk)
                    size += len(chunk)
                    if size <= 1024 * 1024:
                        small += chunk
            out = {"size": size, "sha256": digest.hexdigest()}
            if size <= 1024 * 1024:
                out["b64"] = base64.b64encode(bytes(small)).decode()
            return out
        if op == "list":
            return {"names": [b.name for b in client.list_blobs(bucket, prefix=c.get("prefix"))]}
        if op == "delete":
            bucket.blob(c["name"]).delete()
            return {}
        if op == "empty":
            blobs = list(client.list_blobs(bucket))
            for blob in blobs:
                blob.delete()
            return {"deleted": len(blobs)}
        raise ValueError("unknown op " + op)

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = run(json.loads(line))
            answer["ok"] = True
        except Exception as e:  # the test prints it
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
