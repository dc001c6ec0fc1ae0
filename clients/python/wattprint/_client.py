"""The client behind the public API: phase edges sent synchronously-ish, progress coalesced and sent by one daemon
thread, and every failure absorbed (at most one warning per kind of trouble).

Delivery rules, and why:

- A phase edge (start/end) is sent on the caller's thread before ``with`` enters / returns, with a short timeout
  (``WATTPRINT_TIMEOUT``, default 0.2 s), so the tracker sees the phase while it runs. Each edge carries ``at`` =
  ``time.time()`` taken at the edge, so a late delivery still places it exactly.
- If that send fails (timeout, refused, 5xx) the edge goes to the background queue and the client switches to
  *queue-only* mode: later edges are queued without touching the network, so a hung tracker costs one timeout, not
  one per edge. The background sender retries with backoff; its first success (or a 4xx answer, which also proves
  the tracker is alive) switches synchronous sending back on.
- While edges are queued, new edges queue behind them (even when healthy), so edges arrive in order and an end
  never overtakes its start.
- Progress values are merged into one pending update (the latest value of each field wins; the caller passes
  cumulative totals) which the sender posts at most every ``progress_interval_s``; ``flush()`` skips that wait.
"""

import binascii
import collections
import itertools
import math
import os
import re
import threading
import time
import warnings

from ._transport import TRANSPORT_ERRORS, Connection, describe_error, endpoint_from_env

PHASE_PATH = "/api/v1/phase"
PROGRESS_PATH = "/api/v1/progress"
SNAPSHOT_PATH = "/api/v1/snapshot"

DEFAULT_TIMEOUT_S = 0.2
DEFAULT_FLUSH_TIMEOUT_S = 2.0

# Outcomes of one delivery attempt.
DELIVERED = "delivered"  # 2xx
REJECTED = "rejected"  # 4xx: the tracker answered and will never accept this body; dropped, not retried
FAILED = "failed"  # no answer or 5xx: kept and retried

# Contract: names are 1-64 chars of [A-Za-z0-9_.:/ -].
_NAME_OK = re.compile(r"[A-Za-z0-9_.:/ -]{1,64}\Z")
_NAME_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.:/ -]")

# Progress fields: Python keyword -> contract JSON key. The cumulative ones must never go down (the tracker answers
# 400 "counters are cumulative"), so the client drops a lower value itself instead of sending it.
_PROGRESS_KEYS = (("step", "step"), ("total_steps", "totalSteps"), ("samples", "samples"), ("tokens", "tokens"),
                  ("fraction", "fraction"))
_CUMULATIVE_KEYS = ("step", "samples", "tokens")


class WattprintWarning(RuntimeWarning):
    """The category of every warning this client emits, so a job can filter them:
    ``warnings.filterwarnings("ignore", category=wattprint.WattprintWarning)``."""


def clean_phase_name(name):
    """Returns ``(name, changed)``: a contract-valid phase name (bad characters become ``_``, cut to 64)."""
    text = name if isinstance(name, str) else str(name)
    if _NAME_OK.match(text):
        return text, False
    fixed = _NAME_BAD_CHARS.sub("_", text)[:64] or "phase"
    return fixed, True


def _env_float(environ, key, default, minimum):
    try:
        value = float(environ.get(key, ""))
    except ValueError:
        return default
    if not math.isfinite(value):
        return default
    return max(minimum, value)


def _as_count(value):
    """A non-negative finite number for a progress field, or None when unusable. Plain ints/floats take the fast
    path; numpy/torch scalars go through ``.item()`` (a CUDA tensor would sync: pass Python numbers in a hot loop)."""
    if value.__class__ is int:
        return value if value >= 0 else None
    if value.__class__ is float:
        return value if value >= 0.0 and math.isfinite(value) else None
    if isinstance(value, bool):
        return None
    try:
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value) if value >= 0 else None
        value = float(value)
    except Exception:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return int(value) if value.is_integer() and abs(value) < 2 ** 53 else value


class Client(object):
    """One process's connection to the tracker. ``endpoint`` None means "not under wattprint": everything no-ops."""

    def __init__(self, endpoint, timeout_s=DEFAULT_TIMEOUT_S, flush_timeout_s=DEFAULT_FLUSH_TIMEOUT_S):
        self.endpoint = endpoint
        self.enabled = endpoint is not None
        self.timeout_s = timeout_s
        # The sender's own requests are off the training thread, so they may wait longer than the caller would.
        self.background_timeout_s = max(1.0, timeout_s)
        self.flush_timeout_s = flush_timeout_s
        self.progress_interval_s = 0.5
        self.backoff_initial_s = 0.25
        self.backoff_max_s = 5.0
        self.max_queued_edges = 10000

        self._pid = os.getpid()
        self._id_prefix = binascii.hexlify(os.urandom(4)).decode("ascii")
        self._ids = itertools.count(1)

        self._cond = threading.Condition(threading.Lock())
        self._edges = collections.deque()  # pending edge bodies, FIFO; the head stays until delivered
        self._progress = None  # pending merged progress fields (JSON keys), or None
        self._progress_version = 0
        self._progress_last = {}  # last accepted cumulative values, to drop a lower one before it is sent
        self._degraded = False  # queue-only mode, see the module docstring
        self._retry_at = 0.0  # monotonic time before which the sender does not retry after a failure
        self._next_progress_at = 0.0
        self._failures = 0  # consecutive failed attempts
        self._fail_gen = 0  # total failed attempts; flush() watches it to give up on a dead tracker
        self._flushing = 0
        self._stopping = False
        self._thread = None

        self._sync_lock = threading.Lock()
        self._sync_conn = Connection(endpoint) if endpoint is not None else None
        self._open = {}  # open phase id -> name, to end them at exit

        self._warn_lock = threading.Lock()
        self._warned = set()
        self.warnings_issued = []  # messages, for tests and diagnostics
        self.stats = collections.Counter()

    @classmethod
    def from_env(cls, environ=None):
        env = os.environ if environ is None else environ
        endpoint, problem = endpoint_from_env(env)
        client = cls(
            endpoint,
            timeout_s=_env_float(env, "WATTPRINT_TIMEOUT", DEFAULT_TIMEOUT_S, 0.001),
            flush_timeout_s=_env_float(env, "WATTPRINT_FLUSH_TIMEOUT", DEFAULT_FLUSH_TIMEOUT_S, 0.0),
        )
        if problem:
            client._warn_once("config", problem)
        return client

    def __repr__(self):
        where = self.endpoint.describe() if self.endpoint is not None else "disabled"
        return "<wattprint.Client %s%s>" % (where, " (queue-only)" if self._degraded else "")

    # ----- warnings ---------------------------------------------------------------------------------------------

    def _warn_once(self, kind, message):
        """At most one warning per kind (config, unreachable, rejected, name, progress, overflow) per process."""
        with self._warn_lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
            self.warnings_issued.append(message)
        try:
            warnings.warn("wattprint: " + message, WattprintWarning, stacklevel=4)
        except Exception:
            pass  # e.g. warnings turned into errors by -W error: still never raise into the job

    # ----- phases ----------------------------------------------------------------------------------------------

    def new_phase_id(self):
        return "%s-%d-%d" % (self._id_prefix, self._pid, next(self._ids))

    def start_phase(self, name, at=None):
        """Opens a phase; returns its id (None when disabled). ``name`` must already be clean."""
        if not self.enabled:
            return None
        if at is None:
            at = time.time()
        phase_id = self.new_phase_id()
        self._open[phase_id] = name
        self._deliver_edge(self._with_work({"v": 1, "event": "start", "id": phase_id, "name": name, "at": at}))
        return phase_id

    def end_phase(self, phase_id, at=None):
        if not self.enabled or phase_id is None:
            return
        if at is None:
            at = time.time()
        self._open.pop(phase_id, None)
        self._deliver_edge(self._with_work({"v": 1, "event": "end", "id": phase_id, "at": at}))

    def _with_work(self, body):
        # The edge carries the work counters as of this instant: progress travels later and coalesced, so
        # without them a phase would be credited with the wrong share of the work done.
        with self._cond:
            last = dict(self._progress_last)
        work = {}
        for key, unit in (("step", "steps"), ("samples", "samples"), ("tokens", "tokens")):
            if key in last:
                work[unit] = last[key]
        if work:
            body["work"] = work
        return body

    def end_open_phases(self, at=None):
        """Ends every phase this process opened and did not end (used at exit)."""
        if at is None:
            at = time.time()
        for phase_id in list(self._open):
            self.end_phase(phase_id, at)

    def _deliver_edge(self, body):
        # Synchronous only when healthy, nothing is queued (order!), and no other thread is mid-send (never wait).
        if not self._degraded and not self._edges and self._sync_lock.acquire(False):
            try:
                if not self._degraded and not self._edges:
                    outcome = self._send(self._sync_conn, "POST", PHASE_PATH, body, self.timeout_s)
                    if outcome != FAILED:
                        self.stats["sync_edges"] += 1
                        return
                    self._set_degraded()
            finally:
                self._sync_lock.release()
        self._enqueue_edge(body)

    def _enqueue_edge(self, body):
        with self._cond:
            if len(self._edges) >= self.max_queued_edges:
                self.stats["dropped_edges"] += 1
                overflow = True
            else:
                self._edges.append(body)
                self.stats["queued_edges"] += 1
                overflow = False
                self._ensure_thread_locked()
                self._cond.notify_all()
        if overflow:
            self._warn_once("overflow", "more than %d phase edges are waiting for the tracker; newer ones are "
                                        "dropped" % self.max_queued_edges)

    def _set_degraded(self):
        with self._cond:
            self._degraded = True
            self._ensure_thread_locked()  # its probe switches synchronous sending back on
            self._cond.notify_all()

    # ----- progress --------------------------------------------------------------------------------------------

    def progress(self, step=None, total_steps=None, samples=None, tokens=None, fraction=None):
        """Merges the given values into the pending update; never touches the network on the caller's thread."""
        if not self.enabled:
            return
        at = time.time()
        given = (step, total_steps, samples, tokens, fraction)
        problem = None
        with self._cond:
            pending = self._progress
            fresh = pending is None
            if fresh:
                pending = {}
            for (_, key), raw in zip(_PROGRESS_KEYS, given):
                if raw is None:
                    continue
                value = _as_count(raw)
                if value is None or (key == "fraction" and value > 1) or (key == "totalSteps" and value == 0):
                    problem = problem or "progress %s=%r is not a usable number; it was not sent" % (key, raw)
                    continue
                if key in _CUMULATIVE_KEYS:
                    last = self._progress_last.get(key)
                    if last is not None and value < last:
                        problem = problem or ("progress %s went down (%r after %r); step, samples and tokens are "
                                              "cumulative totals since the run began, so it was not sent"
                                              % (key, raw, last))
                        continue
                    self._progress_last[key] = value
                pending[key] = value
            if pending:
                pending["at"] = at
                self._progress = pending
                self._progress_version += 1
                if fresh:
                    self._ensure_thread_locked()
                    self._cond.notify_all()
        if problem:
            self._warn_once("progress", problem)

    def _progress_body_locked(self):
        body = {"v": 1}
        body.update(self._progress)
        step, total = body.get("step"), body.get("totalSteps")
        if step is not None and total is not None and step > total:
            # The contract rejects step > totalSteps; the step counter is the firmer fact, so keep it.
            del body["totalSteps"]
        return body

    # ----- snapshot --------------------------------------------------------------------------------------------

    def snapshot(self):
        if not self.enabled or self._degraded:
            return None
        conn = Connection(self.endpoint)
        try:
            return self._fetch_snapshot(conn, self.timeout_s, on_caller_thread=True)
        finally:
            conn.close()

    def _fetch_snapshot(self, conn, timeout_s, on_caller_thread):
        try:
            resp = conn.request("GET", SNAPSHOT_PATH, None, timeout_s)
        except TRANSPORT_ERRORS as exc:
            self._warn_unreachable(describe_error(exc))
            if on_caller_thread:
                self._set_degraded()
            return None
        if resp.status == 200:
            value = resp.json()
            return value if isinstance(value, dict) else None
        self._classify("GET", SNAPSHOT_PATH, resp)
        return None

    # ----- sending ---------------------------------------------------------------------------------------------

    def _send(self, conn, method, path, body, timeout_s):
        """One attempt; returns DELIVERED, REJECTED or FAILED, and warns (once per kind) about trouble."""
        try:
            resp = conn.request(method, path, body, timeout_s)
        except TRANSPORT_ERRORS as exc:
            self._warn_unreachable(describe_error(exc))
            return FAILED
        except (TypeError, ValueError) as exc:
            # A body json cannot encode: retrying cannot help.
            self._warn_once("rejected", "could not encode a %s body (%s); it was dropped" % (path, exc))
            return REJECTED
        return self._classify(method, path, resp)

    def _classify(self, method, path, resp):
        status = resp.status
        if 200 <= status < 300:
            return DELIVERED
        if 400 <= status < 500:
            if path == PHASE_PATH and status in (404, 409):
                # 409: a retried start the tracker already had; 404: an end whose start it never saw. Both benign.
                return REJECTED
            hint = " (check WATTPRINT_TOKEN)" if status in (401, 403) else ""
            self._warn_once("rejected", "the tracker answered %s %s with HTTP %d: %s%s; later rejections are not "
                                        "reported" % (method, path, status, resp.error_line(), hint))
            return REJECTED
        self._warn_unreachable("HTTP %d: %s" % (status, resp.error_line()))
        return FAILED

    def _warn_unreachable(self, why):
        self._warn_once("unreachable", "the tracker at %s did not answer (%s); phase edges and progress are queued "
                                       "and retried in the background, and phase edges no longer wait for it"
                        % (self.endpoint.describe(), why))

    # ----- the sender thread -----------------------------------------------------------------------------------

    def _pending_locked(self):
        return bool(self._edges) or self._progress is not None

    def _ensure_thread_locked(self):
        """Starts the daemon sender if it is not running; False when it cannot (interpreter shutting down)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return True
        if self._stopping:
            return False
        try:
            thread = threading.Thread(target=self._run, name="wattprint-sender")
            thread.daemon = True
            thread.start()
        except Exception:
            self._thread = None
            return False
        self._thread = thread
        return True

    def _next_job_locked(self, block):
        """The next (kind, body, version) to send, honouring backoff and the progress interval unless flushing.
        With ``block`` False returns None instead of waiting."""
        while not self._stopping:
            now = time.monotonic()
            hurry = self._flushing > 0
            wait = None
            if self._pending_locked() or self._degraded:
                if now < self._retry_at and not hurry:
                    wait = self._retry_at - now
                elif self._edges:
                    return "edge", self._edges[0], None
                elif self._progress is not None:
                    if now < self._next_progress_at and not hurry:
                        wait = self._next_progress_at - now
                    else:
                        return "progress", self._progress_body_locked(), self._progress_version
                else:
                    return "probe", None, None
            if not block:
                return None
            self._cond.wait(wait)
        return None

    def _attempt(self, conn, job):
        kind, body, _ = job
        if kind == "edge":
            return self._send(conn, "POST", PHASE_PATH, body, self.background_timeout_s)
        if kind == "progress":
            self.stats["progress_posts"] += 1
            return self._send(conn, "POST", PROGRESS_PATH, body, self.background_timeout_s)
        # Probe: is a tracker we gave up waiting for back? Any HTTP answer says yes.
        try:
            conn.request("GET", SNAPSHOT_PATH, None, self.background_timeout_s)
            return DELIVERED
        except TRANSPORT_ERRORS:
            return FAILED

    def _finish_locked(self, job, outcome):
        kind, body, version = job
        if outcome == FAILED:
            self._failures += 1
            self._fail_gen += 1
            delay = min(self.backoff_max_s, self.backoff_initial_s * (2 ** min(self._failures - 1, 16)))
            self._retry_at = time.monotonic() + delay
            self._degraded = True
        else:
            self._failures = 0
            self._retry_at = 0.0
            self._degraded = False
            if kind == "edge":
                if self._edges and self._edges[0] is body:
                    self._edges.popleft()
            elif kind == "progress":
                if self._progress_version == version:
                    self._progress = None  # no newer value arrived while sending
                self._next_progress_at = time.monotonic() + self.progress_interval_s
        self._cond.notify_all()

    def _run(self):
        conn = Connection(self.endpoint)
        try:
            while True:
                with self._cond:
                    job = self._next_job_locked(block=True)
                if job is None:
                    return
                outcome = self._attempt(conn, job)
                with self._cond:
                    self._finish_locked(job, outcome)
        except Exception:
            pass  # a bug here must not take the job down; the thread restarts on the next enqueue
        finally:
            conn.close()

    def _drain_inline(self, deadline):
        """flush() without a sender thread (it could not start): send on the caller's thread until done."""
        conn = Connection(self.endpoint)
        failures = 0
        try:
            while failures < 2 and time.monotonic() < deadline:
                with self._cond:
                    job = self._next_job_locked(block=False)
                if job is None or job[0] == "probe":
                    break
                outcome = self._attempt(conn, job)
                failures += outcome == FAILED
                with self._cond:
                    self._finish_locked(job, outcome)
        finally:
            conn.close()

    def flush(self, timeout_s=None):
        """Waits until queued edges and pending progress are delivered; True when nothing is left.

        Gives up early, returning False, once two attempts made during the flush have failed: the tracker is gone
        or hung, and waiting out the whole timeout would only delay the job's exit."""
        if not self.enabled:
            return True
        if timeout_s is None:
            timeout_s = self.flush_timeout_s
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            if not self._pending_locked():
                return True
            self._flushing += 1
            try:
                if not self._ensure_thread_locked():
                    self._cond.release()
                    try:
                        self._drain_inline(deadline)
                    finally:
                        self._cond.acquire()
                    return not self._pending_locked()
                start_gen = self._fail_gen
                self._cond.notify_all()
                while self._pending_locked():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._fail_gen - start_gen >= 2:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._flushing -= 1

    def at_exit(self):
        """Ends phases left open, then flushes within ``flush_timeout_s``."""
        if not self.enabled:
            return
        try:
            self.end_open_phases()
            self.flush()
        except Exception:
            pass

    def close(self):
        """Stops the sender (it exits at its next wake-up) and drops pending work; for tests and fork."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._sync_conn is not None and self._sync_lock.acquire(False):
            try:
                self._sync_conn.close()
            finally:
                self._sync_lock.release()


# ----- the process-wide client -------------------------------------------------------------------------------------

_client = None
_client_lock = threading.Lock()


def get_client():
    """The process's client, created from the environment on first use."""
    client = _client
    if client is not None:
        return client
    return _create_client()


def _create_client():
    global _client
    with _client_lock:
        if _client is None:
            _client = Client.from_env()
        return _client


def current_client():
    """The client if one was created, else None (does not create one)."""
    return _client


def reset(close=True):
    """Forgets the process's client so the next call reads the environment again (tests, notebooks)."""
    global _client
    with _client_lock:
        old, _client = _client, None
    if old is not None and close:
        old.close()


def _after_fork_in_child():
    # The child inherits the parent's client with locks possibly held by threads that no longer exist, and without
    # its sender thread; it starts over from the environment. The parent keeps its own queued edges.
    global _client, _client_lock
    _client = None
    _client_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
