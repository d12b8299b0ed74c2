# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the Python end-to-end tests: free ports, a real binderyd process, Kafka."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Binderyd:
    """Runs binderyd with the given flags; waits until /v1.0/healthz/outbound answers 204."""

    def __init__(self, args, dapr_port, env=None):
        exe = os.environ.get("BINDERYD", "")
        if not os.path.exists(exe):
            raise RuntimeError(f"BINDERYD does not point at binderyd: {exe!r}")
        self.port = dapr_port
        self.log_file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([exe, *args], stdout=self.log_file, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"binderyd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{dapr_port}/v1.0/healthz/outbound", timeout=1) as r:
                    if r.status == 204:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"binderyd did not become ready:\n{self.log()}")

    def log(self):
        self.log_file.seek(0)
        return self.log_file.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def serve_in_thread(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()


def skip_or_fail(why):
    """A missing server: exit code 77 (ctest's skip), or a failure under CI=true."""
    if os.environ.get("CI") == "true":
        print(f"FAIL: {why}", file=sys.stderr)
        return 1
    print(f"SKIP: {why}", file=sys.stderr)
    return 77


def kafka_brokers():
    """The shared Kafka broker (scripts/services): KAFKA_BROKERS, else `scripts/services env kafka`;
    None when nothing answers there."""
    brokers = os.environ.get("KAFKA_BROKERS")
    if not brokers:
        source = os.environ.get("BINDERY_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
        try:
            out = subprocess.run([os.path.join(source, "scripts", "services"), "env", "kafka"],
                                 capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        for line in out.splitlines():
            if line.startswith("KAFKA_BROKERS="):
                brokers = line.split("=", 1)[1].strip()
    if not brokers:
        return None
    host, _, port = brokers.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return brokers
    except (OSError, ValueError):
        return None
