# SPDX-License-Identifier: Apache-2.0
# The seed's Flask app (a route per input binding, here /kafkaevent), plus a small control surface
# the integration tests use to read what arrived and to choose the answer:
#   GET  /_records            -> JSON list of {path, headers, body, t0, t1}
#   POST /_config  {"status": 200, "delayMs": 0, "failFirst": 0}
#   POST /_clear
# Usage: python3 seed_app.py <port>
import json
import sys
import threading
import time

from flask import Flask, request

app = Flask(__name__)
lock = threading.Lock()
records = []
config = {"status": 200, "delayMs": 0, "failFirst": 0}


@app.route("/kafkaevent", methods=["POST"])
def kafkaevent():
    return deliver("/kafkaevent")


@app.route("/<path:route>", methods=["POST"])
def any_route(route):
    return deliver("/" + route)


def deliver(path):
    t0 = time.time()
    body = request.get_data()
    with lock:
        cfg = dict(config)
        if config["failFirst"] > 0:
            config["failFirst"] -= 1
            cfg["status"] = 500
    if cfg["delayMs"]:
        time.sleep(cfg["delayMs"] / 1000.0)
    with lock:
        records.append({
            "path": path,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "t0": t0,
            "t1": time.time(),
            "status": cfg["status"],
        })
    return ("kafkaevent", cfg["status"])


@app.route("/_records", methods=["GET"])
def get_records():
    with lock:
        return app.response_class(json.dumps(records), mimetype="application/json")


@app.route("/_config", methods=["POST"])
def set_config():
    with lock:
        config.update(request.get_json(force=True))
    return "{}"


@app.route("/_clear", methods=["POST"])
def clear():
    with lock:
        records.clear()
    return "{}"


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
