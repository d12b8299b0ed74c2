# SPDX-License-Identifier: Apache-2.0
"""A Flask app in the seed's style receives cron events from binderyd (issue 2).

Flask answers binderyd's OPTIONS probe by itself (200), so the app is subscribed; each tick is an
empty POST to /<binding> with daprd's headers.
"""
import os
import sys
import tempfile
import threading
import time

from flask import Flask, request
from werkzeug.serving import make_server

from e2e_common import Binderyd, free_port, serve_in_thread, wait_for

app = Flask(__name__)
seen = []
lock = threading.Lock()


@app.before_request
def record():
    with lock:
        seen.append((request.method, request.path, dict(request.headers), request.get_data(), time.time()))


@app.route("/tick", methods=["POST"])
def tick():
    return "", 200


def main():
    components = tempfile.mkdtemp(prefix="bindery-e2e-flask-")
    with open(os.path.join(components, "tick.yaml"), "w") as f:
        f.write(
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: tick\nspec:\n"
            "  type: bindings.cron\n  version: v1\n  metadata:\n  - name: schedule\n    value: \"@every 1s\"\n"
        )
    app_port = free_port()
    dapr_port = free_port()
    server = make_server("127.0.0.1", app_port, app, threaded=True)
    serve_in_thread(server)
    d = Binderyd(["--app-id", "flask-e2e", "--app-port", str(app_port), "--dapr-http-port", str(dapr_port),
                  "--resources-path", components], dapr_port)
    try:
        posts = lambda: [s for s in seen if s[0] == "POST" and s[1] == "/tick"]
        wait_for(lambda: len(posts()) >= 3, 15, "3 cron events at the Flask app")
        options = [s for s in seen if s[0] == "OPTIONS"]
        assert [o[1] for o in options] == ["/tick"], f"one OPTIONS probe on /tick, got {options}"
        assert options[0][4] < posts()[0][4], "the probe comes before the first event"
        method, path, headers, body, _ = posts()[0]
        assert body == b"", f"cron events are empty, got {body!r}"
        assert headers.get("Content-Type") == "application/json", headers
        assert headers.get("Timezone") == "Local", headers
        assert headers.get("Readtimeutc", "").endswith(" +0000 UTC"), headers
        gap = posts()[2][4] - posts()[1][4]
        assert 0.5 < gap < 1.6, f"ticks are about 1 s apart, got {gap:.3f} s"
    except AssertionError as e:
        print(f"flask_cron: FAIL: {e}\n--- binderyd log ---\n{d.log()}", file=sys.stderr)
        return 1
    finally:
        rc = d.stop()
        server.shutdown()
    if rc != 0:
        print(f"flask_cron: FAIL: binderyd exited with {rc} on Ctrl-C\n{d.log()}", file=sys.stderr)
        return 1
    print("flask_cron: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
