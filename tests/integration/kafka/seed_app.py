# SPDX-License-Identifier: Apache-2.0
# The seed's Flask app (a route per input binding, here /kafkaevent), plus a small control surface
# the integration tests use to read what arrived and to choose the answer:
#   GET  /_records            -> JSON list of {path, headers, body, t0, t1}
#                                (t0/t1: arrival and answer, time.monotonic(): immune to clock steps)
#   POST /_config  {"status": 200, "delayMs": 0, "failFirst": 0}
#   POST /_clear
# Usage: python3 seed_app.py <port> [<journal>]
#   <journal>: every delivery is also appended to this file as one JSON line {body, status,
#   headers} and flushed before the answer, so a test that stops and restarts the app (issue 14's
#   fault tests) still knows every record an app instance acknowledged.
import json
import sys
import threading
import time

from flask import Flask, request

app = Flask(__name__)
lock = threading.Lock()
records = []
config = {"status": 200, "delayMs": 0, "failFirst": 0}
journal = None


@app.route("/kafkaevent", methods=["POST"])
def kafkaevent():
    return deliver("/kafkaevent")


@app.route("/<path:route>", methods=["POST"])
def any_route(route):
    return deliver("/" + route)


def environ_headers(environ):
    # WSGI folds '-' and '_' together (HTTP___KEY); Bindery and daprd send names such as
    # __key and __offset, so keep leading underscores and turn the rest back into '-'.
    out = {}
    for k, v in environ.items():
        if not k.startswith("HTTP_"):
            continue
        name = k[5:].lower()
        stripped = name.lstrip("_")
        out[name[: len(name) - len(stripped)] + stripped.replace("_", "-")] = v
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


def deliver(path):
    t0 = time.monotonic()
    body = request.get_data()
    with lock:
        cfg = dict(config)
        if config["failFirst"] > 0:
            config["failFirst"] -= 1
            cfg["status"] = 500
    if cfg["delayMs"]:
        time.sleep(cfg["delayMs"] / 1000.0)
    with lock:
        if journal is not None:
            journal.write(json.dumps({"body": body.decode("utf-8", "replace"),
                                      "status": cfg["status"],
                                      "headers": environ_headers(request.environ)}) + "\n")
            journal.flush()
        records.append({
            "path": path,
            "headers": environ_headers(request.environ),
            "body": body.decode("utf-8", "replace"),
            "t0": t0,
            "t1": time.monotonic(),
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
    # app.run() (werkzeug's dev server) silently drops every request header whose name contains
    # '_', i.e. all of __key, __offset, __topic, __partition and __timestamp. Serve the same Flask
    # app with the standard library's WSGI server, which keeps them.
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    if len(sys.argv) > 2:
        journal = open(sys.argv[2], "a", encoding="utf-8")
    make_server("127.0.0.1", int(sys.argv[1]), app, server_class=ThreadingWSGIServer,
                handler_class=QuietHandler).serve_forever()
