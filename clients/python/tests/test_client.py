"""Client behaviour against an in-process fake tracker (fake_tracker.py), over TCP and a Unix socket."""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

import fake_tracker  # also puts clients/python on sys.path
from fake_tracker import FakeTracker

import wattprint
from wattprint import _client

ENV_KEYS = ("WATTPRINT_SOCKET", "WATTPRINT_URL", "WATTPRINT_TOKEN", "WATTPRINT_TIMEOUT", "WATTPRINT_FLUSH_TIMEOUT",
            "WATTPRINT_JOB_RUN_ID")
TOKEN = "s3cret-token-value"


class ClientTestCase(unittest.TestCase):
    """Clears WATTPRINT_* around each test and gives each its own client and temp dir."""

    def setUp(self):
        self._saved_env = {k: os.environ.pop(k) for k in ENV_KEYS if k in os.environ}
        self.tmp = tempfile.mkdtemp(prefix="wattprint-py-")
        self.trackers = []
        _client.reset()
        self._warnings = warnings.catch_warnings(record=True)
        self.caught = self._warnings.__enter__()
        warnings.simplefilter("always")

    def tearDown(self):
        self._warnings.__exit__(None, None, None)
        _client.reset()
        for t in self.trackers:
            t.stop()
        for k in ENV_KEYS:
            os.environ.pop(k, None)
        os.environ.update(self._saved_env)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def tracker(self, unix=False, token=None):
        t = FakeTracker(unix_path=os.path.join(self.tmp, "w.sock") if unix else None, token=token).start()
        self.trackers.append(t)
        return t

    def use(self, **env):
        """Sets WATTPRINT_* (keyword names without the prefix) and makes the next call read them."""
        for k, v in env.items():
            os.environ["WATTPRINT_" + k.upper()] = v
        _client.reset()
        return _client.get_client()

    def wattprint_warnings(self):
        return [str(w.message) for w in self.caught if issubclass(w.category, wattprint.WattprintWarning)]


class OutsideWattprintTest(ClientTestCase):
    def test_every_call_is_a_silent_noop(self):
        before = threading.active_count()
        self.assertFalse(wattprint.enabled())
        with wattprint.phase("train") as p:
            self.assertIsNone(p.id)

            @wattprint.phase("eval")
            def evaluate(x):
                return x * 2

            self.assertEqual(evaluate(21), 42)
            for i in range(1000):
                wattprint.progress(step=i, total_steps=1000, samples=i * 8, tokens=i * 8 * 64)
        self.assertIsNone(wattprint.start_phase("x"))
        wattprint.end_phase(None)
        wattprint.end_phase("nope")
        self.assertIsNone(wattprint.snapshot())
        self.assertTrue(wattprint.flush(timeout=0.1))
        self.assertIsNone(wattprint.run_id())
        self.assertEqual(self.caught, [])  # not even the one warning
        self.assertEqual(threading.active_count(), before)  # no sender thread either

    def test_a_bad_url_is_one_warning_then_noops(self):
        self.use(url="ftp://example.org/")
        for _ in range(3):
            with wattprint.phase("train"):
                wattprint.progress(step=1)
        self.assertFalse(wattprint.enabled())
        ws = self.wattprint_warnings()
        self.assertEqual(len(ws), 1, ws)
        self.assertIn("WATTPRINT_URL", ws[0])

    def test_job_exception_passes_through_the_phase(self):
        with self.assertRaises(KeyError):
            with wattprint.phase("train"):
                raise KeyError("the job's own error")


class PhaseTest(ClientTestCase):
    def test_start_is_sent_before_the_body_and_end_before_with_returns(self):
        t = self.tracker(token=TOKEN)
        self.use(url=t.url, token=TOKEN)
        t0 = time.time()
        with wattprint.phase("train") as outer:
            self.assertEqual(len(t.phase_bodies()), 1)  # already delivered: synchronous
            t1 = time.time()
            with wattprint.phase("eval") as inner:
                self.assertEqual(len(t.phase_bodies()), 2)
            self.assertEqual(len(t.phase_bodies()), 3)
        self.assertEqual(len(t.phase_bodies()), 4)
        t2 = time.time()
        start_train, start_eval, end_eval, end_train = t.phase_bodies()
        self.assertEqual(start_train, {"v": 1, "event": "start", "id": start_train["id"], "name": "train",
                                       "at": start_train["at"]})
        self.assertEqual(start_eval["name"], "eval")
        self.assertEqual(end_eval, {"v": 1, "event": "end", "id": start_eval["id"], "at": end_eval["at"]})
        self.assertEqual(end_train["id"], start_train["id"])
        self.assertNotEqual(start_train["id"], start_eval["id"])
        self.assertLessEqual(len(start_train["id"]), 64)
        self.assertTrue(t0 <= start_train["at"] <= t1 <= start_eval["at"] <= end_eval["at"] <= end_train["at"] <= t2)
        # `at` is taken at the edge, not at receipt: never later than the request reached the server.
        for r in t.posts("/api/v1/phase"):
            self.assertLessEqual(r.body["at"], r.received_at)
            self.assertEqual(r.headers["authorization"], "Bearer " + TOKEN)
            self.assertEqual(r.headers["content-type"], "application/json")
        self.assertIsNone(outer.id)
        self.assertIsNone(inner.id)
        self.assertEqual(t.open_phases, {})
        self.assertEqual(t.connection_count(), 1)  # one keep-alive connection for all four edges
        self.assertEqual(self.caught, [])

    def test_keep_alive_connection_closed_by_the_server_is_replaced_silently(self):
        t = self.tracker()
        c = self.use(url=t.url)
        with wattprint.phase("a"):
            pass
        t.drop_connections()  # what Node does to a keep-alive socket idle for 5 s
        t.wait_for(lambda: False, 0.05)
        with wattprint.phase("b"):
            pass
        self.assertEqual([x["event"] for x in t.phase_bodies()], ["start", "end"] * 2)
        self.assertEqual(t.connection_count(), 1)
        self.assertFalse(c._degraded)
        self.assertEqual(c.stats["queued_edges"], 0)  # all four went synchronously
        self.assertEqual(self.caught, [])

    def test_stale_connection_race_is_retried_once(self):
        # The server closes the idle socket after the client checked it: the send fails, one fresh retry follows.
        from unittest import mock
        from wattprint import _transport
        t = self.tracker()
        c = self.use(url=t.url)
        with wattprint.phase("a"):
            pass
        t.drop_connections()
        t.wait_for(lambda: False, 0.05)
        with mock.patch.object(_transport, "_peer_closed", lambda sock: False):
            with wattprint.phase("b"):
                pass
        self.assertEqual([x["event"] for x in t.phase_bodies()], ["start", "end"] * 2)
        self.assertFalse(c._degraded)
        self.assertEqual(self.caught, [])

    def test_overlapping_phases_and_explicit_start_end(self):
        t = self.tracker()
        self.use(url=t.url)
        a = wattprint.start_phase("data:load")
        b = wattprint.start_phase("train/step")
        wattprint.end_phase(a)
        c = wattprint.start_phase("eval", at=1765100000.25)  # backdated start
        wattprint.end_phase(b)
        wattprint.end_phase(c, at=1765100001.5)
        self.assertEqual(len({a, b, c}), 3)
        events = [(x["event"], x["id"]) for x in t.phase_bodies()]
        self.assertEqual(events, [("start", a), ("start", b), ("end", a), ("start", c), ("end", b), ("end", c)])
        self.assertEqual(t.phases[c], {"name": "eval", "startedAt": 1765100000.25, "endedAt": 1765100001.5})
        self.assertEqual(t.open_phases, {})

    def test_decorator_gives_each_call_its_own_id_including_recursion_and_async(self):
        t = self.tracker()
        self.use(url=t.url)

        @wattprint.phase("fib")
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        self.assertEqual(fib.__name__, "fib")
        self.assertEqual(fib(4), 3)  # 9 calls, nested up to depth 4
        starts = [x for x in t.phase_bodies() if x["event"] == "start"]
        self.assertEqual(len(starts), 9)
        self.assertEqual(len({x["id"] for x in starts}), 9)
        self.assertEqual(t.open_phases, {})

        @wattprint.phase("generate")
        async def generate():
            await asyncio.sleep(0.01)
            return "ok"

        n = len(t.phase_bodies())
        self.assertEqual(asyncio.run(generate()) if hasattr(asyncio, "run") else None, "ok")
        tail = t.phase_bodies()[n:]
        self.assertEqual([x["event"] for x in tail], ["start", "end"])
        self.assertGreaterEqual(tail[1]["at"] - tail[0]["at"], 0.009)  # spans the awaits, not just the call

    def test_same_phase_object_reentered(self):
        t = self.tracker()
        self.use(url=t.url)
        p = wattprint.phase("epoch")
        with p:
            first = p.id
            with p:
                second = p.id
            self.assertEqual(p.id, first)
        self.assertNotEqual(first, second)
        self.assertEqual([(x["event"], x["id"]) for x in t.phase_bodies()],
                         [("start", first), ("start", second), ("end", second), ("end", first)])

    def test_phases_from_threads(self):
        t = self.tracker()
        self.use(url=t.url)
        shared = wattprint.phase("worker")

        def work():
            for _ in range(5):
                with shared:
                    time.sleep(0.001)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertTrue(wattprint.flush(timeout=3))  # a thread that found the sync lock busy queued its edge
        bodies = t.phase_bodies()
        self.assertEqual(len(bodies), 40)
        self.assertEqual(len({x["id"] for x in bodies}), 20)
        self.assertEqual(t.open_phases, {})

    def test_invalid_name_is_cleaned_with_one_warning(self):
        t = self.tracker()
        self.use(url=t.url)
        with wattprint.phase("eval (val set #1)"):
            pass
        with wattprint.phase("x" * 100):
            pass
        self.assertEqual([x.get("name") for x in t.phase_bodies() if x["event"] == "start"],
                         ["eval _val set _1_", "x" * 64])
        ws = self.wattprint_warnings()
        self.assertEqual(len(ws), 1, ws)
        self.assertIn("eval (val set #1)", ws[0])

    def test_open_phases_are_ended_at_exit(self):
        # A real interpreter exit: atexit must end the open phase and deliver the pending progress.
        t = self.tracker(unix=True)
        code = ("import sys; sys.path.insert(0, %r); import wattprint\n"
                "wattprint.start_phase('train')\n"
                "wattprint.progress(step=3, total_steps=10, samples=96)\n"
                "wattprint.progress(step=7)\n" % fake_tracker.CLIENT_ROOT)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
        env["WATTPRINT_SOCKET"] = t.unix_path
        proc = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=20)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, b"")
        self.assertEqual([x["event"] for x in t.phase_bodies()], ["start", "end"])
        self.assertEqual(t.open_phases, {})
        self.assertEqual(t.progress, {"step": 7, "totalSteps": 10, "samples": 96})


    @unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
    def test_forked_child_starts_a_fresh_client(self):
        t = self.tracker()
        self.use(url=t.url)
        parent = _client.get_client()
        train = wattprint.start_phase("train")
        read_fd, write_fd = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12: fork() of a multi-threaded process
            pid = os.fork()
        if pid == 0:  # the child: report, then leave without atexit (as multiprocessing workers do)
            status = 1
            try:
                fresh = _client.current_client() is None
                worker = wattprint.start_phase("dataloader")
                wattprint.end_phase(worker)
                child = _client.get_client()
                ok = fresh and child is not parent and child._open == {} and not child._edges
                os.write(write_fd, b"ok" if ok else b"stale")
                status = 0
            finally:
                os._exit(status)
        os.close(write_fd)
        _, status = os.waitpid(pid, 0)
        answer = os.read(read_fd, 16)
        os.close(read_fd)
        self.assertEqual((status, answer), (0, b"ok"))
        wattprint.end_phase(train)
        starts = [x for x in t.phase_bodies() if x["event"] == "start"]
        self.assertEqual([x["name"] for x in starts], ["train", "dataloader"])
        self.assertNotEqual(starts[0]["id"].split("-")[1], starts[1]["id"].split("-")[1])  # the child's own pid
        self.assertEqual(t.open_phases, {})


class ProgressTest(ClientTestCase):
    def test_coalesces_and_delivers_the_latest_cumulative_values_on_flush(self):
        t = self.tracker()
        c = self.use(url=t.url)
        c.progress_interval_s = 10.0  # only the first update and the flush may post
        for i in range(1, 1001):
            wattprint.progress(step=i, total_steps=1000, samples=i * 32, tokens=i * 32 * 128)
        self.assertTrue(wattprint.flush(timeout=3))
        bodies = t.progress_bodies()
        self.assertLessEqual(len(bodies), 3)
        last = bodies[-1]
        self.assertEqual({k: last[k] for k in ("v", "step", "totalSteps", "samples", "tokens")},
                         {"v": 1, "step": 1000, "totalSteps": 1000, "samples": 32000, "tokens": 4096000})
        self.assertLessEqual(last["at"], t.posts("/api/v1/progress")[-1].received_at)
        self.assertEqual(self.caught, [])

    def test_fields_from_separate_calls_merge(self):
        t = self.tracker()
        c = self.use(url=t.url)
        c.progress_interval_s = 10.0
        wattprint.progress(step=0)  # first post may go out at once
        self.assertTrue(wattprint.flush(timeout=3))
        wattprint.progress(step=5, total_steps=50)
        wattprint.progress(tokens=640)
        wattprint.progress(fraction=0.1)
        self.assertTrue(wattprint.flush(timeout=3))
        last = t.progress_bodies()[-1]
        self.assertEqual({k: v for k, v in last.items() if k not in ("at",)},
                         {"v": 1, "step": 5, "totalSteps": 50, "tokens": 640, "fraction": 0.1})

    def test_lower_counters_and_bad_values_are_dropped_with_one_warning(self):
        t = self.tracker()
        self.use(url=t.url)
        wattprint.progress(step=10, samples=100)
        wattprint.progress(step=3)  # went down: a per-epoch counter passed by mistake
        wattprint.progress(samples=float("nan"), fraction=1.5, tokens=-1)
        wattprint.progress(step=11)
        self.assertTrue(wattprint.flush(timeout=3))
        self.assertEqual(t.progress, {"step": 11, "samples": 100})
        ws = self.wattprint_warnings()
        self.assertEqual(len(ws), 1, ws)
        self.assertIn("cumulative", ws[0])

    def test_numpy_like_scalars(self):
        class Scalar(object):
            def __init__(self, v):
                self.v = v

            def item(self):
                return self.v

        t = self.tracker()
        self.use(url=t.url)
        wattprint.progress(step=Scalar(4), tokens=Scalar(2048.0))
        self.assertTrue(wattprint.flush(timeout=3))
        self.assertEqual(t.progress, {"step": 4, "tokens": 2048})

    def test_step_beyond_total_keeps_the_step(self):
        t = self.tracker()
        self.use(url=t.url)
        wattprint.progress(step=12, total_steps=10)
        self.assertTrue(wattprint.flush(timeout=3))
        self.assertEqual(t.progress, {"step": 12})
        self.assertEqual(self.caught, [])


class DiscoveryTest(ClientTestCase):
    def test_socket_is_preferred_and_gets_no_token(self):
        tcp = self.tracker(token=TOKEN)
        unix = self.tracker(unix=True)
        self.use(socket=unix.unix_path, url=tcp.url, token=TOKEN)
        with wattprint.phase("train"):
            wattprint.progress(step=1, total_steps=2)
        self.assertTrue(wattprint.flush(timeout=3))
        self.assertEqual(wattprint.snapshot(), unix.snapshot_body)
        self.assertEqual(tcp.requests, [])
        self.assertEqual(len(unix.phase_bodies()), 2)
        self.assertEqual(unix.progress, {"step": 1, "totalSteps": 2})
        for r in unix.requests:
            self.assertNotIn("authorization", r.headers)
        self.assertEqual(self.caught, [])

    def test_missing_socket_file_falls_back_to_the_url(self):
        tcp = self.tracker()
        self.use(socket=os.path.join(self.tmp, "stale.sock"), url=tcp.url)
        with wattprint.phase("train"):
            pass
        self.assertEqual(len(tcp.phase_bodies()), 2)

    def test_url_with_a_path_prefix(self):
        t = self.tracker()
        self.use(url=t.url + "/")
        self.assertEqual(wattprint.snapshot(), t.snapshot_body)
        self.assertEqual(t.requests[-1].path, "/api/v1/snapshot")

    def test_token_is_never_printed(self):
        t = self.tracker(token="the-right-token")
        c = self.use(url=t.url, token=TOKEN)
        with wattprint.phase("train"):
            wattprint.progress(step=1)
        wattprint.flush(timeout=2)
        ws = self.wattprint_warnings()
        self.assertEqual(len(ws), 1, ws)
        self.assertIn("HTTP 401", ws[0])
        self.assertIn("WATTPRINT_TOKEN", ws[0])
        for text in ws + [repr(c), repr(c.endpoint), c.endpoint.describe()]:
            self.assertNotIn(TOKEN, text)

    def test_enabled_and_run_id(self):
        t = self.tracker()
        self.use(url=t.url, job_run_id="run-42")
        self.assertTrue(wattprint.enabled())
        self.assertEqual(wattprint.run_id(), "run-42")


class FailureTest(ClientTestCase):
    def test_4xx_is_one_warning_with_the_servers_line(self):
        t = self.tracker()
        t.overrides["/api/v1/progress"] = (400, {"error": "send JSON {\"step\":420,\"totalSteps\":1000}"})
        self.use(url=t.url)
        for i in range(5):
            wattprint.progress(step=i)
            self.assertTrue(wattprint.flush(timeout=3))  # rejected bodies are dropped, not retried
        self.assertEqual(len(t.progress_bodies()), 5)
        ws = self.wattprint_warnings()
        self.assertEqual(len(ws), 1, ws)
        self.assertIn("HTTP 400", ws[0])
        self.assertIn("send JSON {\"step\":420,\"totalSteps\":1000}", ws[0])

    def test_404_and_409_on_phases_are_silent(self):
        t = self.tracker()
        c = self.use(url=t.url)
        wattprint.end_phase("never-started")
        c._deliver_edge({"v": 1, "event": "start", "id": "dup", "name": "a"})
        c._deliver_edge({"v": 1, "event": "start", "id": "dup", "name": "a"})  # a retried start: 409
        self.assertEqual(self.caught, [])
        self.assertFalse(c._degraded)

    def test_snapshot(self):
        t = self.tracker()
        self.use(url=t.url)
        self.assertEqual(wattprint.snapshot(), t.snapshot_body)
        t.overrides["/api/v1/snapshot"] = (503, {"error": "starting"})
        self.assertIsNone(wattprint.snapshot())

    def test_tracker_gone_mid_run_then_back(self):
        t = self.tracker(unix=True)
        c = self.use(socket=t.unix_path)
        c.backoff_max_s = 0.2
        train = wattprint.start_phase("train")
        wattprint.progress(step=1, total_steps=100)
        self.assertTrue(wattprint.flush(timeout=3))
        t.stop()  # the tracker exits: socket removed, connections cut

        costs = []
        for step in range(2, 12):
            t0 = time.perf_counter()
            with wattprint.phase("eval"):
                wattprint.progress(step=step, total_steps=100, samples=step * 4)
            costs.append(time.perf_counter() - t0)
        self.assertLess(max(costs), 0.05)
        self.assertFalse(wattprint.flush(timeout=0.5))  # gives up early: the tracker is gone
        self.assertIsNone(wattprint.snapshot())
        ws = self.wattprint_warnings()
        self.assertEqual(len(ws), 1, ws)
        self.assertIn("did not answer", ws[0])
        self.assertIn(t.unix_path, ws[0])

        back = FakeTracker(unix_path=t.unix_path).start()  # a tracker at the same socket again
        self.trackers.append(back)
        back.adopt_open_phase(train, "train")
        wattprint.end_phase(train)
        self.assertTrue(wattprint.flush(timeout=5))
        events = [(x["event"], x.get("name")) for x in back.phase_bodies()]
        self.assertEqual(events, [("start", "eval"), ("end", None)] * 10 + [("end", None)])  # in order, none lost
        self.assertEqual(back.open_phases, {})
        self.assertEqual(back.progress, {"step": 11, "totalSteps": 100, "samples": 44})
        self.assertTrue(back.wait_for(lambda: not c._degraded))  # synchronous edges again
        n = len(back.phase_bodies())
        with wattprint.phase("after"):
            self.assertEqual(len(back.phase_bodies()), n + 1)
        self.assertEqual(len(self.wattprint_warnings()), 1)

    def test_hanging_tracker_costs_one_timeout_then_under_a_millisecond(self):
        t = self.tracker()
        c = self.use(url=t.url, timeout="0.2")
        t.hang()

        t0 = time.perf_counter()
        first = wattprint.start_phase("train")  # waits for the timeout once, then queue-only mode
        first_cost = time.perf_counter() - t0
        self.assertGreaterEqual(first_cost, 0.19)
        self.assertLess(first_cost, 0.6)
        self.assertTrue(c._degraded)

        n = 2000
        t0 = time.perf_counter()
        for i in range(n):
            wattprint.progress(step=i, total_steps=n, samples=i * 16, tokens=i * 16 * 256)
        progress_mean = (time.perf_counter() - t0) / n

        t0 = time.perf_counter()
        for _ in range(200):
            with wattprint.phase("step"):
                pass
        phase_mean = (time.perf_counter() - t0) / 400  # per edge

        t0 = time.perf_counter()
        self.assertIsNone(wattprint.snapshot())
        snapshot_cost = time.perf_counter() - t0

        t0 = time.perf_counter()
        self.assertFalse(wattprint.flush(timeout=0.3))
        flush_cost = time.perf_counter() - t0
        wattprint.end_phase(first)

        sys.stderr.write("\n  hung tracker: first edge %.0f ms, progress %.1f us/call, phase edge %.1f us, "
                         "snapshot %.1f us, flush %.0f ms\n" % (first_cost * 1e3, progress_mean * 1e6,
                                                                phase_mean * 1e6, snapshot_cost * 1e6,
                                                                flush_cost * 1e3))
        self.assertLess(progress_mean, 0.001)
        self.assertLess(phase_mean, 0.001)
        self.assertLess(snapshot_cost, 0.01)
        self.assertLess(flush_cost, 0.5)
        ws = self.wattprint_warnings()
        self.assertEqual(len(ws), 1, ws)
        self.assertIn("timed out", ws[0])

    def test_healthy_tracker_overhead(self):
        t = self.tracker(unix=True)
        self.use(socket=t.unix_path)
        n = 2000
        t0 = time.perf_counter()
        for i in range(n):
            wattprint.progress(step=i, total_steps=n, samples=i * 16)
        progress_mean = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        for _ in range(50):
            with wattprint.phase("step"):
                pass
        edge_mean = (time.perf_counter() - t0) / 100
        self.assertTrue(wattprint.flush(timeout=3))
        sys.stderr.write("\n  healthy tracker (unix socket, in-process fake): progress %.1f us/call, synchronous "
                         "phase edge %.0f us\n" % (progress_mean * 1e6, edge_mean * 1e6))
        self.assertLess(progress_mean, 0.001)
        self.assertEqual(t.progress["step"], n - 1)

    def test_edge_queue_is_bounded(self):
        t = self.tracker()
        c = self.use(url=t.url)
        t.hang()
        c.max_queued_edges = 50
        for _ in range(40):
            with wattprint.phase("p"):
                pass
        self.assertEqual(len(c._edges), 50)
        self.assertGreaterEqual(c.stats["dropped_edges"], 29)
        self.assertEqual(len(self.wattprint_warnings()), 2)  # unreachable + overflow, once each


if __name__ == "__main__":
    unittest.main()
