"""examples/train_torch.py, a real (tiny) torch training job, under the fake tracker and outside wattprint."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from fake_tracker import FakeTracker

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXAMPLE = os.path.join(REPO, "examples", "train_torch.py")
ARGS = ["--epochs", "2", "--steps-per-epoch", "5", "--batch-size", "8", "--seq-len", "16", "--eval-batches", "1",
        "--seed", "3"]


def _has_torch():
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except Exception:
        return False


@unittest.skipUnless(_has_torch(), "torch is not importable by %s (Debian: apt install python3-torch)" % sys.executable)
class TrainTorchExampleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wattprint-ex-")
        self.tracker = FakeTracker(unix_path=os.path.join(self.tmp, "w.sock")).start()

    def tearDown(self):
        self.tracker.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_reports_exact_totals_and_runs_outside_wattprint(self):
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("WATTPRINT_")}
        base_env.pop("PYTHONPATH", None)  # the example must find the client by itself
        inside_env = dict(base_env, WATTPRINT_SOCKET=self.tracker.unix_path)
        # Both at once: importing torch dominates and the two runs overlap on 2 cores.
        procs = [subprocess.Popen([sys.executable, EXAMPLE] + ARGS, env=env, cwd=self.tmp, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True)
                 for env in (inside_env, base_env)]
        (inside_out, inside_err), (outside_out, outside_err) = [p.communicate(timeout=120) for p in procs]
        self.assertEqual(procs[0].returncode, 0, inside_err)
        self.assertEqual(procs[1].returncode, 0, outside_err)
        self.assertEqual(inside_err, "")
        self.assertEqual(outside_err, "")  # not even one warning outside wattprint
        self.assertIn("not under wattprint", outside_out)

        done = [re.match(r"done: steps=(\d+) samples=(\d+) tokens=(\d+)$", line) for line in inside_out.splitlines()]
        done = [m for m in done if m]
        self.assertEqual(len(done), 1, inside_out)
        steps, samples, tokens = (int(g) for g in done[0].groups())
        self.assertEqual((steps, samples, tokens), (10, 80, 1280))
        self.assertEqual(self.tracker.progress, {"step": steps, "totalSteps": 10, "samples": samples,
                                                 "tokens": tokens})
        self.assertIn("done: steps=10 samples=80 tokens=1280", outside_out)

        phases = sorted(self.tracker.phases.values(), key=lambda p: p["startedAt"])
        self.assertEqual([p["name"] for p in phases], ["data", "train", "eval", "train", "eval"])
        self.assertEqual(self.tracker.open_phases, {})
        for before, after in zip(phases, phases[1:]):  # siblings: each ends before the next starts
            self.assertTrue(before["startedAt"] < before["endedAt"] <= after["startedAt"] < after["endedAt"])
        self.assertIn("J of IT energy so far", inside_out)  # snapshot() reached the fake's /api/v1/snapshot


if __name__ == "__main__":
    unittest.main()
