#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A real HTTP/1.1 server (Python's http.server) for tst_rest_client, plain or TLS.

Prints its port on the first line of stdout, then serves until killed. Routes:
  /hello              200 "hello", Content-Length, headers X-First then X-Second
  /chunked?parts=N    200, Transfer-Encoding: chunked, N parts "part<i>;"
  /stats              {"connections": accepted TCP connections so far}
  /flaky?key=K&fail=N[&status=S][&retryAfter=R]
                      the first N hits on key K answer S (503), with Retry-After R if given;
                      later hits answer 200 "ok after <hits>; x-attempt=<X-Attempt header>"
  /slow?ms=M          waits M ms, then 200
  /bytes?n=N          N bytes, byte i = i % 251, Content-Length, written in 64 KiB pieces
  /upload             reads the body (Content-Length or chunked) without keeping it; answers
                      {"bytes": n, "sha256": hex, "chunked": bool}
  /echo               {"method", "headers": [[name, value], ...], "body": text}
  /whoami             {"peer": client certificate subject CN or ""}
"""
import argparse
import hashlib
import http.server
import json
import ssl
import sys
import threading
import time
import urllib.parse

BLOCK = bytes(range(251)) * 261  # 65511 bytes, a multiple of 251: blocks keep the pattern


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address, handler, context):
        super().__init__(address, handler)
        self.context = context
        self.lock = threading.Lock()
        self.connections = 0
        self.hits = {}

    def handle_error(self, request, client_address):
        # Expected in these tests (refused handshakes, clients that hang up): one line, no trace.
        print("rest_peer: %s: %s" % (client_address, sys.exc_info()[1]), file=sys.stderr)

    def get_request(self):
        sock, addr = super().get_request()
        with self.lock:
            self.connections += 1
        if self.context is not None:
            # The handshake runs on the connection's own thread (Handler.setup).
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def log_message(self, *args):
        pass

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body_pieces(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    piece = self.rfile.read(min(left, 65536))
                    if not piece:
                        raise ConnectionError("short chunk")
                    left -= len(piece)
                    yield piece
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                piece = self.rfile.read(min(left, 65536))
                if not piece:
                    raise ConnectionError("short body")
                left -= len(piece)
                yield piece

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        if path == "/upload":
            digest = hashlib.sha256()
            n = 0
            for piece in self.body_pieces():
                digest.update(piece)
                n += len(piece)
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            self.send(200, json.dumps({"bytes": n, "sha256": digest.hexdigest(), "chunked": chunked}).encode(),
                      [("Content-Type", "application/json")])
            return
        body = b"".join(self.body_pieces())
        if path == "/hello":
            self.send(200, b"hello", [("Content-Type", "text/plain"), ("X-First", "1"), ("X-Second", "2")])
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(q.get("parts", "3"))):
                piece = ("part%d;" % i).encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/stats":
            with self.server.lock:
                n = self.server.connections
            self.send(200, json.dumps({"connections": n}).encode(), [("Content-Type", "application/json")])
        elif path == "/flaky":
            key = q.get("key", "")
            with self.server.lock:
                hits = self.server.hits[key] = self.server.hits.get(key, 0) + 1
            if hits <= int(q.get("fail", "0")):
                headers = [("Retry-After", q["retryAfter"])] if "retryAfter" in q else []
                self.send(int(q.get("status", "503")), b"busy", headers)
            else:
                text = "ok after %d; x-attempt=%s" % (hits, self.headers.get("X-Attempt", ""))
                self.send(200, text.encode())
        elif path == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000.0)
            self.send(200, b"slow")
        elif path == "/bytes":
            n = int(q.get("n", "0"))
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            while n:
                piece = BLOCK[: min(n, len(BLOCK))]
                self.wfile.write(piece)
                n -= len(piece)
        elif path == "/stall":
            # Headers and one byte of the body, then nothing for `ms`.
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(int(q.get("ms", "5000")) / 1000.0)
        elif path == "/echo":
            self.send(200, json.dumps({"method": self.command, "headers": list(self.headers.items()),
                                       "body": body.decode("latin-1")}).encode(),
                      [("Content-Type", "application/json")])
        elif path == "/whoami":
            peer = ""
            if isinstance(self.connection, ssl.SSLSocket):
                cert = self.connection.getpeercert() or {}
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            peer = v
            self.send(200, json.dumps({"peer": peer}).encode(), [("Content-Type", "application/json")])
        else:
            self.send(404, b"no route " + path.encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = route


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca", help="require a client certificate signed by this CA")
    args = ap.parse_args()
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
    server = Server(("127.0.0.1", 0), Handler, context)
    print(server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    sys.exit(main())
