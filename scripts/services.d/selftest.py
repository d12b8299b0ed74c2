# SPDX-License-Identifier: Apache-2.0
"""Checks the RabbitMQ, SQS, GCS and Event Hubs (Kafka) test servers with independent clients.

Run through scripts/services.d/selftest, which uses the end-to-end venv (tests/e2e/.venv: pika,
boto3, google-cloud-storage, confluent-kafka). Starts each service it checks if needed (and leaves
it running). Prints one line per check and ends with "N passed, N failed"; exit status 1 if any
check failed.

    selftest [--restart] [rabbitmq] [sqs] [gcs] [eventhubs]     (default: all four)
"""

import hashlib
import os
import shlex
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SERVICES = os.path.join(HERE, "..", "services")
RUN_ID = uuid.uuid4().hex[:8]
passed, failed = 0, 0


def ok(label):
    global passed
    passed += 1
    print(f"ok   {label}", flush=True)


def ko(label):
    global failed
    failed += 1
    print(f"FAIL {label}", flush=True)


def check(label, fn):
    try:
        fn()
        ok(label)
    except Exception as e:  # noqa: BLE001 - every failure is reported, the run goes on
        ko(f"{label}: {type(e).__name__}: {e}"[:300])


def refused(label, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        ok(f"{label}: refused ({type(e).__name__})")
        return
    ko(f"{label}: was accepted")


def services(*args):
    out = subprocess.run([SERVICES, *args], check=True, stdout=subprocess.PIPE, text=True).stdout
    env = {}
    for line in out.splitlines():
        # values are plain or POSIX single-quoted; shlex undoes the quoting as a shell would
        name, _, value = shlex.split(line)[0].partition("=")
        env[name] = value
    return env


def expect(got, want):
    if got != want:
        raise AssertionError(f"got {got!r}, want {want!r}")


# ----------------------------------------------------------------- rabbitmq ---
def rabbitmq(restart):
    import pika

    e = services("start", "rabbitmq")
    q = f"selftest-{RUN_ID}"

    def roundtrip(params, queue, body):
        c = pika.BlockingConnection(params)
        try:
            ch = c.channel()
            ch.confirm_delivery()
            ch.queue_declare(queue, auto_delete=True)
            ch.basic_publish("", queue, body)
            m = ch.basic_get(queue, auto_ack=True)
            expect(m[2], body)
            ch.queue_delete(queue)
        finally:
            c.close()

    def tls_ctx(cert=None, key=None, ca=e["RABBITMQ_CA_CERT"]):
        ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        if cert:
            ctx.load_cert_chain(cert, key)
        return pika.SSLOptions(ctx, "localhost")

    def url_params(url, ssl_options=None):
        p = pika.URLParameters(url)
        p.ssl_options = ssl_options
        p.connection_attempts, p.retry_delay, p.socket_timeout = 1, 0, 10
        return p

    def external(ssl_options, vhost="/"):
        return pika.ConnectionParameters(host="localhost", port=int(e["RABBITMQ_TLS_PORT"]), virtual_host=vhost,
                                         ssl_options=ssl_options, credentials=pika.credentials.ExternalCredentials(),
                                         connection_attempts=1, socket_timeout=10)

    check("rabbitmq: RABBITMQ_URL (vhost /) publish with confirm + get",
          lambda: roundtrip(url_params(e["RABBITMQ_URL"]), q, b"plain"))
    check(f"rabbitmq: RABBITMQ_VHOST_URL (vhost {e['RABBITMQ_VHOST']}) publish + get",
          lambda: roundtrip(url_params(e["RABBITMQ_VHOST_URL"]), q, b"vhost"))

    def amqp_tools():
        url = e["RABBITMQ_URL"].rstrip("/")  # rabbitmq-c reads a trailing "/" as the empty vhost
        subprocess.run(["amqp-declare-queue", "--url", url, "-q", q], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["amqp-publish", "--url", url, "-r", q, "-b", "amqp-tools"], check=True)
        got = subprocess.run(["amqp-consume", "--url", url, "-q", q, "-c", "1", "cat"], check=True, timeout=20,
                             stdout=subprocess.PIPE).stdout
        subprocess.run(["amqp-delete-queue", "--url", url, "-q", q], check=True, stdout=subprocess.DEVNULL)
        expect(got, b"amqp-tools")

    check("rabbitmq: amqp-tools (rabbitmq-c) publish + consume", amqp_tools)
    check("rabbitmq: TLS (test CA) + PLAIN via RABBITMQ_TLS_URL",
          lambda: roundtrip(url_params(e["RABBITMQ_TLS_URL"], tls_ctx()), q, b"tls"))
    check("rabbitmq: mutual TLS + PLAIN",
          lambda: roundtrip(url_params(e["RABBITMQ_TLS_URL"], tls_ctx(e["RABBITMQ_CLIENT_CERT"], e["RABBITMQ_CLIENT_KEY"])), q, b"mtls"))
    check(f"rabbitmq: mutual TLS + EXTERNAL (user {e['RABBITMQ_EXTERNAL_USER']})",
          lambda: roundtrip(external(tls_ctx(e["RABBITMQ_CLIENT_CERT"], e["RABBITMQ_CLIENT_KEY"]), e["RABBITMQ_VHOST"]), q, b"ext"))
    refused("rabbitmq: wrong password",
            lambda: pika.BlockingConnection(url_params(e["RABBITMQ_URL"].replace(":" + e["RABBITMQ_PASSWORD"] + "@", ":wrong@"))).close())
    refused("rabbitmq: unknown vhost", lambda: pika.BlockingConnection(url_params(e["RABBITMQ_URL"] + "no-such-vhost")).close())
    refused("rabbitmq: TLS without the test CA", lambda: pika.BlockingConnection(url_params(e["RABBITMQ_TLS_URL"], tls_ctx(ca=None))).close())
    refused("rabbitmq: EXTERNAL without a client certificate", lambda: pika.BlockingConnection(external(tls_ctx())).close())
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=" + e["RABBITMQ_EXTERNAL_USER"], "-keyout", f"{d}/k.pem", "-out", f"{d}/c.pem"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        refused("rabbitmq: client certificate from another CA",
                lambda: pika.BlockingConnection(external(tls_ctx(f"{d}/c.pem", f"{d}/k.pem"))).close())

    if restart:
        def survives():
            durable = f"selftest-durable-{RUN_ID}"
            c = pika.BlockingConnection(url_params(e["RABBITMQ_VHOST_URL"]))
            ch = c.channel()
            ch.confirm_delivery()
            ch.queue_declare(durable, durable=True)
            for i in range(100):
                ch.basic_publish("", durable, b"m%d" % i, pika.BasicProperties(delivery_mode=2))
            c.close()
            t = time.monotonic()
            subprocess.run([SERVICES, "restart", "rabbitmq", "--keep-data"], check=True, stdout=subprocess.DEVNULL)
            print(f"     (restart --keep-data took {time.monotonic() - t:.1f}s)", flush=True)
            c = pika.BlockingConnection(url_params(e["RABBITMQ_VHOST_URL"]))
            ch = c.channel()
            n = ch.queue_declare(durable, passive=True).method.message_count
            ch.queue_delete(durable)
            c.close()
            expect(n, 100)

        check("rabbitmq: a durable queue's 100 persistent messages survive restart --keep-data", survives)


# ---------------------------------------------------------------------- sqs ---
def sqs(_restart):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    e = services("start", "sqs")
    cfg = Config(retries={"max_attempts": 1})

    def client(key=e["AWS_ACCESS_KEY_ID"], secret=e["AWS_SECRET_ACCESS_KEY"]):
        return boto3.client("sqs", endpoint_url=e["SQS_ENDPOINT"], region_name=e["AWS_REGION"],
                            aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)

    def roundtrip():
        c = client()
        expect(c.meta.service_model.protocol, "json")
        url = c.create_queue(QueueName=f"selftest-{RUN_ID}")["QueueUrl"]
        c.send_message(QueueUrl=url, MessageBody="hello", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
        m = c.receive_message(QueueUrl=url, WaitTimeSeconds=5, MessageAttributeNames=["All"])["Messages"][0]
        expect((m["Body"], m["MessageAttributes"]["k"]["StringValue"]), ("hello", "v"))
        c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        c.delete_queue(QueueUrl=url)
        expect(c.get_queue_url(QueueName=e["SQS_QUEUE_NAME"])["QueueUrl"], e["SQS_QUEUE_URL"])

    def rejected(code, **kw):
        def fn():
            try:
                client(**kw).list_queues()
            except ClientError as ex:
                status = ex.response["ResponseMetadata"]["HTTPStatusCode"]
                err = ex.response.get("Error", {})
                if status == 403 and (err.get("Code") == code or f"<Code>{code}</Code>" in err.get("Message", "")):
                    return
                raise AssertionError(f"got {status} {err}") from ex
            raise AssertionError("was accepted")
        return fn

    check("sqs: boto3 (JSON protocol) with the printed key: create, send, receive, delete", roundtrip)
    check("sqs: wrong secret -> 403 SignatureDoesNotMatch", rejected("SignatureDoesNotMatch", secret="wrong-secret"))
    check("sqs: unknown key -> 403 InvalidClientTokenId", rejected("InvalidClientTokenId", key="AKIAIOSFODNN7EXAMPLE"))


# ---------------------------------------------------------------------- gcs ---
def gcs(_restart):
    import requests
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    e = services("start", "gcs")

    def exercise(endpoint, ca=None):
        # requests (under the client) trusts the test CA on the HTTPS endpoint
        saved = os.environ.get("REQUESTS_CA_BUNDLE")
        if ca:
            os.environ["REQUESTS_CA_BUNDLE"] = ca
        try:
            exercise_with(endpoint)
        finally:
            if saved is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = saved

    def exercise_with(endpoint):
        # anonymous, as for any emulator
        c = storage.Client(project="bindery-test", credentials=AnonymousCredentials(),
                           client_options={"api_endpoint": endpoint})
        b = c.bucket(e["GCS_BUCKET"])
        p = f"selftest-{RUN_ID}/"
        b.blob(p + "dir/a.txt").upload_from_string(b"alpha", content_type="text/plain")
        b.blob(p + "dir/b.txt").upload_from_string(b"beta")
        b.blob(p + "other.txt").upload_from_string(b"gamma")
        expect(b.blob(p + "dir/a.txt").download_as_bytes(), b"alpha")
        expect(b.get_blob(p + "dir/a.txt").content_type, "text/plain")
        expect([x.name for x in c.list_blobs(b, prefix=p + "dir/")], [p + "dir/a.txt", p + "dir/b.txt"])
        data = os.urandom(10 * 1024 * 1024 + 7)  # > 8 MiB: the client uses a resumable session
        b.blob(p + "big.bin", chunk_size=1024 * 1024).upload_from_string(data)
        got = b.get_blob(p + "big.bin")
        expect(got.size, len(data))
        expect(hashlib.sha256(got.download_as_bytes()).digest(), hashlib.sha256(data).digest())
        for blob in c.list_blobs(b, prefix=p):
            blob.delete()
        expect(list(c.list_blobs(b, prefix=p)), [])

    check(f"gcs: google-cloud-storage on {e['GCS_ENDPOINT']}: upload, download, list prefix, 10 MiB resumable",
          lambda: exercise(e["GCS_ENDPOINT"]))
    check(f"gcs: google-cloud-storage on {e['GCS_TLS_ENDPOINT']} (test CA): the same",
          lambda: exercise(e["GCS_TLS_ENDPOINT"], e["GCS_CA_CERT"]))
    refused("gcs: HTTPS without the test CA",
            lambda: requests.get(e["GCS_TLS_ENDPOINT"] + "/storage/v1/b", timeout=10).raise_for_status())


# ---------------------------------------------------------------- eventhubs ---
def eventhubs(_restart):
    from confluent_kafka import Consumer, KafkaException, Producer

    e = services("start", "kafka")
    conn = e["EVENTHUBS_CONNECTION_STRING"]
    fields = dict(part.split("=", 1) for part in conn.split(";") if part)
    bootstrap = fields["Endpoint"].removeprefix("sb://").rstrip("/")

    def conf(password=conn):
        # as Microsoft documents for Event Hubs' Kafka endpoint, plus the test CA
        return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                "sasl.username": "$ConnectionString", "sasl.password": password,
                "ssl.ca.location": e["EVENTHUBS_CA_CERT"]}

    def roundtrip():
        topic = f"selftest-eh-{RUN_ID}"
        errors = []
        p = Producer({**conf(), "error_cb": errors.append})
        p.produce(topic, key=b"k", value=b"event", headers=[("h", b"v")], on_delivery=lambda err, msg: err and errors.append(err))
        if p.flush(30) or errors:
            raise AssertionError(f"produce failed: {errors}")
        c = Consumer({**conf(), "group.id": f"selftest-{RUN_ID}", "auto.offset.reset": "earliest"})
        c.subscribe([topic])
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                m = c.poll(1)
                if m is None:
                    continue
                if m.error():
                    raise KafkaException(m.error())
                expect((m.key(), m.value(), m.headers()), (b"k", b"event", [("h", b"v")]))
                return
            raise AssertionError("nothing consumed in 30 s")
        finally:
            c.close()

    def wrong_key():
        bad = conn.replace("SharedAccessKey=" + fields["SharedAccessKey"], "SharedAccessKey=d3Jvbmcta2V5")
        errors = []
        p = Producer({**conf(bad), "error_cb": errors.append, "log_level": 0})
        p.produce(f"selftest-eh-{RUN_ID}", value=b"never")
        deadline = time.monotonic() + 15
        while not errors and time.monotonic() < deadline:
            p.poll(0.2)  # serves the error callback
        p.purge()
        text = " ".join(str(x) for x in errors)
        if "Authentication failed" not in text and "SASL authentication error" not in text:
            raise AssertionError(f"no authentication error reported: {text or 'nothing'}")

    check(f"eventhubs: confluent-kafka as Microsoft documents (SASL_SSL, PLAIN, $ConnectionString) on {bootstrap}", roundtrip)
    check("eventhubs: a wrong SharedAccessKey fails authentication", wrong_key)


def main(argv):
    restart = "--restart" in argv
    chosen = [a for a in argv if a != "--restart"] or ["rabbitmq", "sqs", "gcs", "eventhubs"]
    table = {"rabbitmq": rabbitmq, "sqs": sqs, "gcs": gcs, "eventhubs": eventhubs}
    for name in chosen:
        if name not in table:
            sys.exit(f"unknown service {name!r} (one of {', '.join(table)})")
        try:
            table[name](restart)
        except Exception as ex:  # noqa: BLE001 - e.g. the service did not start
            ko(f"{name}: {type(ex).__name__}: {ex}"[:300])
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
