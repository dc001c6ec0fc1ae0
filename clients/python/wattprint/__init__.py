"""wattprint: tell the wattprint tracker what a training job is doing, so energy and CO2e split by phase and
progress projects the total.

    import wattprint

    with wattprint.phase("train"):
        for step in range(1, steps + 1):
            ...
            wattprint.progress(step=step, total_steps=steps, samples=step * batch, tokens=step * batch * seq_len)
            if step % 100 == 0:
                with wattprint.phase("eval"):
                    evaluate()

Guarantees: no call raises into the job; outside ``wattprint run`` (neither ``WATTPRINT_SOCKET`` nor
``WATTPRINT_URL`` set) every call is a silent no-op; ``progress()`` never touches the network on the caller's
thread; a phase edge waits at most ``WATTPRINT_TIMEOUT`` (0.2 s) once, after which edges are queued instead (see
``_client.py`` for the delivery rules). Pending work is flushed at exit (``WATTPRINT_FLUSH_TIMEOUT``, 2 s at most).
"""

import inspect
import atexit
import functools
import os
import threading

from . import _client
from ._client import WattprintWarning, clean_phase_name
from ._version import __version__

__all__ = [
    "phase",
    "start_phase",
    "end_phase",
    "progress",
    "snapshot",
    "enabled",
    "flush",
    "run_id",
    "WattprintWarning",
    "__version__",
]


def _clean(name):
    clean, changed = clean_phase_name(name)
    if changed:
        try:
            _client.get_client()._warn_once(
                "name", "phase name %r is not 1-64 characters of [A-Za-z0-9_.:/ -]; it is sent as %r" % (name, clean))
        except Exception:
            pass
    return clean


class phase(object):
    """A phase of the job, as a context manager or a decorator.

        with wattprint.phase("eval"):
            evaluate()

        @wattprint.phase("eval")
        def evaluate(): ...

    Every entry is a separate phase with its own id, so phases nest and overlap freely; the same object may be
    re-entered (recursion, several threads). The start is sent before the body runs and the end before ``with``
    returns, each stamped with ``time.time()`` at that edge. A decorated ``async def`` function is a phase from
    its first to its last await. Generators are not special-cased: decorating one times only its creation.
    """

    __slots__ = ("name", "_stacks")

    def __init__(self, name):
        self.name = _clean(name)
        self._stacks = {}  # thread ident -> ids of this object's open entries on that thread

    @property
    def id(self):
        """The id of this thread's innermost open entry, or None (also always None outside wattprint)."""
        stack = self._stacks.get(threading.get_ident())
        return stack[-1] if stack else None

    def __enter__(self):
        try:
            phase_id = _client.get_client().start_phase(self.name)
            if phase_id is not None:
                self._stacks.setdefault(threading.get_ident(), []).append(phase_id)
        except Exception:
            pass
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            ident = threading.get_ident()
            stack = self._stacks.get(ident)
            if stack:
                phase_id = stack.pop()
                if not stack:
                    del self._stacks[ident]
                _client.get_client().end_phase(phase_id)
        except Exception:
            pass
        return False  # never swallow the job's own exception

    def __call__(self, fn):
        name = self.name
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args, **kwargs):
                with phase(name):
                    return await fn(*args, **kwargs)

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with phase(name):
                return fn(*args, **kwargs)

        return wrapper

    def __repr__(self):
        return "wattprint.phase(%r)" % self.name


def start_phase(name, at=None):
    """Opens a phase without a ``with`` block (framework callbacks); returns its id, or None outside wattprint.
    ``at`` (Unix seconds) backdates the start when the edge is only noticed later."""
    try:
        return _client.get_client().start_phase(_clean(name), at)
    except Exception:
        return None


def end_phase(phase_id, at=None):
    """Closes a phase opened by ``start_phase``; None or an unknown id is ignored."""
    try:
        _client.get_client().end_phase(phase_id, at)
    except Exception:
        pass


def progress(step=None, total_steps=None, samples=None, tokens=None, fraction=None):
    """Reports how far the job is, in cumulative totals since the run began (``step``, ``samples``, ``tokens``
    never go down), or as a ``fraction`` in [0, 1]. Returns at once: the values are merged into one pending update
    that a background thread sends (at most every 0.5 s; ``flush()`` sends it now). Unusable values (negative,
    NaN, a counter lower than before) are dropped with one warning."""
    try:
        _client.get_client().progress(step, total_steps, samples, tokens, fraction)
    except Exception:
        pass


def snapshot():
    """The tracker's live totals (``GET /api/v1/snapshot``: energy, CO2e, power, phases, work) as a dict, or None
    outside wattprint, on any failure, and without trying while the tracker is known to be unresponsive."""
    try:
        return _client.get_client().snapshot()
    except Exception:
        return None


def enabled():
    """True when running under wattprint (a tracker endpoint is configured), whether or not it answers."""
    try:
        return bool(_client.get_client().enabled)
    except Exception:
        return False


def flush(timeout=2.0):
    """Waits up to ``timeout`` seconds for queued phase edges and the latest progress to be delivered.
    Returns True when nothing is left (always True outside wattprint). Called at exit automatically."""
    try:
        return _client.get_client().flush(timeout)
    except Exception:
        return False


def run_id():
    """The tracker's run id (``WATTPRINT_JOB_RUN_ID``), or None outside wattprint."""
    return os.environ.get("WATTPRINT_JOB_RUN_ID") or None


def _at_exit():
    client = _client.current_client()
    if client is not None:
        client.at_exit()


atexit.register(_at_exit)
