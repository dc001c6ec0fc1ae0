"""An in-process fake of the tracker's job API (JOB-API.md v1) for the client tests, on 127.0.0.1 or a Unix socket.

It records every request and answers like the contract says: 409 for a start of an open id, 404 for an end of an
unknown id, 400 for a counter that goes down, 401 without the bearer token on TCP. ``hang()`` makes it read
requests and never answer; ``stop()`` also cuts established keep-alive connections, like a tracker that exits.
"""

import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_ROOT = os.path.dirname(HERE)  # clients/python
if CLIENT_ROOT not in sys.path:
    sys.path.insert(0, CLIENT_ROOT)

NAME_RE = re.compile(r"[A-Za-z0-9_.:/ -]{1,64}\Z")


class Request(object):
    def __init__(self, method, path, headers, body, received_at):
        self.method = method
        self.path = path
        self.headers = headers  # lower-cased names
        self.body = body
        self.received_at = received_at

    def __repr__(self):
        return "Request(%s %s %r)" % (self.method, self.path, self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Node's server
    timeout = 10  # an idle keep-alive handler thread goes away eventually

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self):
        tracker = self.server.tracker
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = raw
        req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
        tracker._record(req)
        if tracker._hanging.is_set():
            tracker._released.wait()
            self.close_connection = True
            return
        status, answer = tracker._answer(req, self.server.is_unix)
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _TCPHandler(_Handler):
    # The handler writes headers and body in two sends; without TCP_NODELAY, Nagle's algorithm holds the body back
    # until the client's delayed ACK (40 ms). Node's server sends them together with no delay; so must the fake.
    disable_nagle_algorithm = True


class _ServerMixin(object):
    daemon_threads = True

    def process_request(self, request, client_address):
        with self.tracker._lock:
            self.tracker._connections.append(request)
        socketserver.ThreadingMixIn.process_request(self, request, client_address)


class _TCPServer(_ServerMixin, socketserver.ThreadingMixIn, socketserver.TCPServer):
    # socketserver.TCPServer, not http.server.HTTPServer: HTTPServer.server_bind does a reverse DNS lookup.
    allow_reuse_address = True
    is_unix = False


class _UnixServer(_ServerMixin, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    is_unix = True


class FakeTracker(object):
    def __init__(self, unix_path=None, token=None):
        self.unix_path = unix_path
        self.token = token
        self.requests = []
        self.overrides = {}  # path -> (status, answer dict) answered instead of the contract's behaviour
        self.snapshot_body = {"runId": "fake-run", "itEnergyJoules": 12.5, "co2eGrams": {"location": 1.0}}
        self.open_phases = {}
        self.phases = {}  # id -> {"name", "startedAt", "endedAt"}
        self.progress = {}
        self._lock = threading.Lock()
        self._connections = []
        self._hanging = threading.Event()
        self._released = threading.Event()
        self._server = None
        self._thread = None

    # ----- lifecycle ---------------------------------------------------------------------------------------------

    def start(self):
        if self.unix_path:
            if os.path.exists(self.unix_path):
                os.unlink(self.unix_path)
            server = _UnixServer(self.unix_path, _Handler)
        else:
            server = _TCPServer(("127.0.0.1", 0), _TCPHandler)
        server.tracker = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
        self._thread.daemon = True
        self._thread.start()
        return self

    @property
    def url(self):
        host, port = self._server.server_address
        return "http://%s:%d" % (host, port)

    def hang(self):
        """From now on, read each request and never answer (until stop())."""
        self._hanging.set()

    def stop(self):
        """Stops listening, cuts open connections and removes the socket file: the tracker is gone."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(2)
        self.drop_connections()
        if self.unix_path and os.path.exists(self.unix_path):
            os.unlink(self.unix_path)

    def drop_connections(self):
        """Closes every accepted connection, as a server does with idle keep-alive sockets (Node: after 5 s)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                conn.close()
            except OSError:
                pass

    def adopt_open_phase(self, phase_id, name, started_at=None):
        """Pretends a phase was opened earlier (a tracker that came back with its state)."""
        with self._lock:
            self.open_phases[phase_id] = name
            self.phases[phase_id] = {"name": name, "startedAt": started_at or time.time()}

    def connection_count(self):
        """Connections accepted since the last drop (a keep-alive client makes one per thread that sends)."""
        with self._lock:
            return len(self._connections)

    # ----- queries for tests -------------------------------------------------------------------------------------

    def _record(self, req):
        with self._lock:
            self.requests.append(req)

    def posts(self, path):
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == path]

    def phase_bodies(self):
        return [r.body for r in self.posts("/api/v1/phase")]

    def progress_bodies(self):
        return [r.body for r in self.posts("/api/v1/progress")]

    def wait_for(self, predicate, timeout_s=3.0):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.005)
        return predicate()

    # ----- the contract ------------------------------------------------------------------------------------------

    def _answer(self, req, is_unix):
        if self.token and not is_unix and req.headers.get("authorization") != "Bearer " + self.token:
            return 401, {"error": "send Authorization: Bearer <token> (the job gets it in WATTPRINT_TOKEN)"}
        if req.path in self.overrides:
            return self.overrides[req.path]
        body = req.body if isinstance(req.body, dict) else None
        if req.method == "GET" and req.path in ("/api/v1/snapshot", "/api/snapshot"):
            return 200, self.snapshot_body
        if req.method != "POST" or body is None:
            return 404, {"error": "no route %s %s" % (req.method, req.path)}
        if body.get("v", 1) != 1:
            return 400, {"error": "\"v\" must be 1"}
        with self._lock:
            if req.path == "/api/v1/phase":
                return self._phase(body)
            if req.path == "/api/v1/progress":
                return self._progress(body)
        return 404, {"error": "no route POST %s" % req.path}

    def _phase(self, body):
        pid, event = body.get("id"), body.get("event")
        at = body.get("at", time.time())
        if not isinstance(pid, str) or not 1 <= len(pid) <= 64:
            return 400, {"error": "\"id\" must be a string of 1-64 chars"}
        if event == "start":
            name = body.get("name")
            if not isinstance(name, str) or not NAME_RE.match(name):
                return 400, {"error": "\"name\" must be 1-64 chars of [A-Za-z0-9_.:/ -]"}
            if pid in self.open_phases:
                return 409, {"error": "phase %s is already open" % pid}
            self.open_phases[pid] = name
            self.phases[pid] = {"name": name, "startedAt": at}
            return 200, {"ok": True, "id": pid, "name": name}
        if event == "end":
            if pid not in self.open_phases:
                return 404, {"error": "no open phase %s" % pid}
            name = self.open_phases.pop(pid)
            self.phases[pid]["endedAt"] = at
            return 200, {"ok": True, "id": pid, "name": name}
        return 400, {"error": "\"event\" must be start or end"}

    def _progress(self, body):
        fields = {k: v for k, v in body.items() if k in ("step", "totalSteps", "samples", "tokens", "fraction")}
        if not fields:
            return 400, {"error": "send any of step, totalSteps, samples, tokens, fraction"}
        for k in ("step", "samples", "tokens"):
            if k in fields and fields[k] < self.progress.get(k, 0):
                return 400, {"error": "counters are cumulative"}
        if "step" in fields and "totalSteps" in fields and fields["step"] > fields["totalSteps"]:
            return 400, {"error": "\"step\" exceeds \"totalSteps\""}
        self.progress.update(fields)
        answer = {"ok": True}
        answer.update(fields)
        return 200, answer
