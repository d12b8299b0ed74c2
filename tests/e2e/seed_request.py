# SPDX-License-Identifier: Apache-2.0
"""Issue 2's "Done when": binderyd on the bundled samples serves the seed's curl request against
localstorage, and an app on --app-port gets the OPTIONS probe and the cron events.

Uses only the standard library and the curl command line, as a user would.
"""
import http.server
import json
import os
import subprocess
import sys
import threading
import time

from e2e_common import Binderyd, free_port, serve_in_thread, wait_for

seen = []
lock = threading.Lock()


class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            seen.append((self.command, self.path, body, time.time()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_OPTIONS = _answer
    do_POST = _answer

    def log_message(self, *args):
        pass


def main():
    source = os.environ["BINDERY_SOURCE_DIR"]
    app_port = free_port()
    dapr_port = free_port()
    app = http.server.ThreadingHTTPServer(("127.0.0.1", app_port), App)
    serve_in_thread(app)
    d = Binderyd(["--resources-path", os.path.join(source, "resources/samples/components"),
                  "--app-port", str(app_port), "--dapr-http-port", str(dapr_port)], dapr_port)
    created = None
    try:
        # The seed's request, verbatim apart from the port.
        out = subprocess.run(
            ["curl", "-sS", "-w", "\n%{http_code}", "-X", "POST", f"http://localhost:{dapr_port}/v1.0/bindings/files",
             "-H", "Content-Type: application/json", "-d", '{"data": {"message": "Hi"}, "metadata": {"key": "redis-key-1"}}'],
            check=True, capture_output=True, text=True, timeout=10).stdout
        body, status = out.rsplit("\n", 1)
        assert status == "200", f"seed request: status {status}, body {body}"
        created = json.loads(body)["fileName"]
        path = os.path.join("/tmp/bindery-storage", created)
        with open(path) as f:
            content = f.read()
        assert content == '{"message":"Hi"}', f"file content {content!r}"

        wait_for(lambda: any(s[0] == "POST" and s[1] == "/tick" for s in seen), 8, "a cron event at the app")
        probes = [s for s in seen if s[0] == "OPTIONS"]
        assert [p[1] for p in probes] == ["/tick"], f"the OPTIONS probe on /tick, got {probes}"
        first_post = min(s[3] for s in seen if s[0] == "POST")
        assert probes[0][3] <= first_post, "the probe comes before the events"
    except AssertionError as e:
        print(f"seed_request: FAIL: {e}\n--- binderyd log ---\n{d.log()}", file=sys.stderr)
        return 1
    finally:
        if created:
            try:
                os.remove(os.path.join("/tmp/bindery-storage", created))
            except OSError:
                pass
        rc = d.stop()
        app.shutdown()
    if rc != 0:
        print(f"seed_request: FAIL: binderyd exited with {rc} on Ctrl-C\n{d.log()}", file=sys.stderr)
        return 1
    print("seed_request: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
