"""HTTP/1.1 transport to the wattprint tracker, over a Unix socket or TCP, with the standard library only.

Nothing here swallows errors: callers (the client in ``_client.py``) decide what a failure means. Nothing here
ever formats the bearer token into a message either: ``Endpoint.describe()`` is what messages use.
"""

import errno
import http.client
import json
import os
import select
import socket
from urllib.parse import urlsplit

from ._version import __version__

USER_AGENT = "wattprint-python/" + __version__

# Errors that mean "the tracker did not answer this request"; the request may be retried later.
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)

# Errors on a reused keep-alive connection that mean the server closed it while it sat idle (Node closes idle
# keep-alive sockets after 5 s). The request never reached a handler, so sending it again on a fresh connection is
# safe; a timeout is deliberately not in this list, because retrying it would double the caller's wait.
_STALE_CONNECTION_ERRORS = (
    http.client.RemoteDisconnected,
    http.client.BadStatusLine,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTPConnection over an AF_UNIX stream socket (the tracker's ``WATTPRINT_SOCKET``)."""

    def __init__(self, socket_path, timeout):
        # The Host header is required by HTTP/1.1 but meaningless on a Unix socket.
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Endpoint(object):
    """Where the tracker listens: a Unix socket path, or an http(s) base URL with an optional bearer token."""

    def __init__(self, socket_path=None, scheme="http", host=None, port=None, base_path="", token=None):
        self.socket_path = socket_path
        self.scheme = scheme
        self.host = host
        self.port = port
        self.base_path = base_path
        # Never sent over the Unix socket: the contract says the socket (mode 0600) needs no token.
        self._token = token if socket_path is None else None

    @property
    def is_unix(self):
        return self.socket_path is not None

    def describe(self):
        """A human description for messages: never the token, never URL user info."""
        if self.is_unix:
            return "unix socket %s" % self.socket_path
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d%s" % (self.scheme, host, self.port, self.base_path)

    def __repr__(self):
        return "Endpoint(%s%s)" % (self.describe(), ", token set" if self._token else "")

    def new_connection(self, timeout_s):
        if self.is_unix:
            return UnixHTTPConnection(self.socket_path, timeout_s)
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout_s)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout_s)

    def headers(self, has_body):
        h = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if has_body:
            h["Content-Type"] = "application/json"
        if self._token:
            h["Authorization"] = "Bearer " + self._token
        return h


def endpoint_from_env(environ=None):
    """Finds the tracker from the environment.

    Returns ``(endpoint, problem)``: ``endpoint`` is None outside wattprint (neither ``WATTPRINT_SOCKET`` nor
    ``WATTPRINT_URL`` set) or when the settings are unusable, and ``problem`` is then a one-line reason worth a
    warning (None when simply not running under wattprint, which deserves no warning at all).

    ``WATTPRINT_SOCKET`` is preferred. It is skipped for ``WATTPRINT_URL`` only when the socket file does not exist
    and a URL is also given: ``wattprint run`` creates the socket before it starts the job, so a missing file means
    a stale variable (e.g. inherited by a job started from another job), and the URL is the better bet.
    """
    env = os.environ if environ is None else environ
    socket_path = (env.get("WATTPRINT_SOCKET") or "").strip()
    url = (env.get("WATTPRINT_URL") or "").strip()
    token = env.get("WATTPRINT_TOKEN") or None
    if socket_path and (not url or os.path.exists(socket_path)):
        return Endpoint(socket_path=socket_path), None
    if not url:
        return None, None
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError as e:
        return None, "WATTPRINT_URL is not a valid URL (%s); wattprint calls are no-ops" % e
    if scheme not in ("http", "https") or not host:
        return None, "WATTPRINT_URL must look like http://127.0.0.1:9477; wattprint calls are no-ops"
    if port is None:
        port = 443 if scheme == "https" else 80
    return Endpoint(scheme=scheme, host=host, port=port, base_path=parts.path.rstrip("/"), token=token), None


class Response(object):
    """A complete HTTP answer: status and body bytes."""

    __slots__ = ("status", "body")

    def __init__(self, status, body):
        self.status = status
        self.body = body

    def json(self):
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def error_line(self):
        """The server's one-line reason: the contract's ``{"error": "..."}``, else the body's first line."""
        value = self.json()
        if isinstance(value, dict) and isinstance(value.get("error"), str):
            text = value["error"]
        else:
            text = self.body.decode("utf-8", "replace")
        lines = text.strip().splitlines()
        line = lines[0] if lines else "(empty body)"
        return line if len(line) <= 300 else line[:297] + "..."


def _peer_closed(sock):
    """True when an idle keep-alive socket is readable, i.e. the server closed it (EOF) or sent garbage.
    poll(), not select(): a training process can hold more than 1024 descriptors (DataLoader workers, datasets)."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


class Connection(object):
    """One keep-alive connection to the tracker, used by one thread at a time (callers hold a lock).

    Keep-alive matters for the synchronous phase edges: a fresh TCP connection per edge would add a handshake to
    every ``with wattprint.phase(...)``. Any error closes the connection, so the next request starts clean.
    """

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self._conn = None

    def close(self):
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def request(self, method, path, body_obj, timeout_s):
        """Sends one request and reads the whole answer; raises a TRANSPORT_ERRORS member when there is none."""
        body = None if body_obj is None else json.dumps(body_obj, separators=(",", ":"), allow_nan=False).encode()
        headers = self.endpoint.headers(body is not None)
        url = self.endpoint.base_path + path
        reused = self._conn is not None and self._conn.sock is not None
        if reused and _peer_closed(self._conn.sock):
            self.close()
            reused = False
        try:
            return self._once(method, url, body, headers, timeout_s)
        except _STALE_CONNECTION_ERRORS:
            self.close()
            if not reused:
                raise
        except BaseException:
            self.close()
            raise
        # The server dropped an idle keep-alive connection between our check and the send: one fresh try.
        try:
            return self._once(method, url, body, headers, timeout_s)
        except BaseException:
            self.close()
            raise

    def _once(self, method, url, body, headers, timeout_s):
        if self._conn is None:
            self._conn = self.endpoint.new_connection(timeout_s)
        conn = self._conn
        conn.timeout = timeout_s
        if conn.sock is not None:
            conn.sock.settimeout(timeout_s)
        conn.request(method, url, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.close()
        return Response(resp.status, data)


def describe_error(exc):
    """A short, token-free description of a transport error, e.g. ``ConnectionRefusedError [Errno 111]``."""
    if isinstance(exc, socket.timeout):
        return "timed out"
    name = type(exc).__name__
    code = getattr(exc, "errno", None)
    if code:
        return "%s (%s)" % (name, errno.errorcode.get(code, code))
    text = str(exc)
    return "%s: %s" % (name, text[:200]) if text else name
