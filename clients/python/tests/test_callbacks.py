"""The framework callbacks, driven through each framework's documented hook sequence with fake trainer/state
objects (transformers, Lightning and Keras are not installed here).

Sources of the sequences:
- transformers: the callback docs' event diagram and tests/trainer/test_trainer_callback.py
  (``_get_expected_events``): per step on_step_begin, on_pre_optimizer_step, on_optimizer_step, on_step_end,
  then on_log / evaluation / on_save; an evaluation is on_prediction_step per eval batch, on_log, on_evaluate.
- Lightning: the LightningModule/Callback hook docs: on_fit_start, sanity check (on_sanity_check_start, a
  validation loop, on_sanity_check_end), on_train_start, per epoch on_train_epoch_start, on_train_batch_start/end
  per batch, the validation loop (on_validation_start ... on_validation_end), on_train_epoch_end; on_train_end,
  on_fit_end; on_exception on errors.
- Keras: keras.callbacks.Callback docs: set_params({"verbose","epochs","steps"}), on_train_begin, per epoch
  on_epoch_begin, on_train_batch_begin/end(batch index), validation via on_test_begin ... on_test_end,
  on_epoch_end; on_train_end; evaluate() -> on_test_*, predict() -> on_predict_*.
"""

import os
import shutil
import sys
import tempfile
import types
import unittest
from unittest import mock

import fake_tracker  # puts clients/python on sys.path
from fake_tracker import FakeTracker

import wattprint
from wattprint import _client, callbacks
from wattprint.callbacks import _HuggingFaceHooks, _KerasHooks, _LightningHooks, build_callback_class


class Clock(object):
    """Stands in for the time module inside wattprint.callbacks: the test sets ``now``."""

    def __init__(self, now=1000.0):
        self.now = now

    def time(self):
        return self.now


class Recorder(object):
    """Replaces wattprint.start_phase/end_phase/progress and records what the callbacks send."""

    def __init__(self, clock):
        self.clock = clock
        self.events = []
        self._n = 0

    def start_phase(self, name, at=None):
        self._n += 1
        pid = "p%d" % self._n
        self.events.append(("start", pid, name, self.clock.now if at is None else at))
        return pid

    def end_phase(self, pid, at=None):
        self.events.append(("end", pid, None, self.clock.now if at is None else at))

    def progress(self, **kw):
        self.events.append(("progress", {k: v for k, v in kw.items() if v is not None}))

    def phases(self):
        """[(name, start_at, end_at)] in start order; end_at None when never ended."""
        out, index = [], {}
        for e in self.events:
            if e[0] == "start":
                index[e[1]] = len(out)
                out.append([e[2], e[3], None])
            elif e[0] == "end":
                out[index[e[1]]][2] = e[3]
        return [tuple(x) for x in out]

    def progress_calls(self):
        return [e[1] for e in self.events if e[0] == "progress"]


class CallbackTestCase(unittest.TestCase):
    def setUp(self):
        callbacks._strict = True  # a bug in a hook fails the test instead of being swallowed
        self.clock = Clock()
        self.rec = Recorder(self.clock)
        patches = [mock.patch.object(callbacks, "time", self.clock),
                   mock.patch.object(wattprint, "start_phase", self.rec.start_phase),
                   mock.patch.object(wattprint, "end_phase", self.rec.end_phase),
                   mock.patch.object(wattprint, "progress", self.rec.progress)]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)

    def tearDown(self):
        callbacks._strict = False


# ----- Hugging Face -------------------------------------------------------------------------------------------------


class FakeTrainerCallbackBase(object):
    """What transformers.TrainerCallback is: a no-op method per event (so CallbackHandler can call them all)."""


for _event in ("on_init_end", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_step_begin",
               "on_pre_optimizer_step", "on_optimizer_step", "on_substep_end", "on_step_end", "on_evaluate",
               "on_predict", "on_save", "on_log", "on_prediction_step", "on_push_begin"):
    setattr(FakeTrainerCallbackBase, _event, lambda self, args, state, control, **kwargs: None)


class HFTrainer(object):
    """Calls a callback the way transformers.Trainer does (CallbackHandler.call_event), per the documented flow."""

    def __init__(self, callback, clock, epochs=2, steps_per_epoch=5, logging_steps=2, eval_strategy="steps",
                 eval_steps=3, save_steps=500, eval_batches=3, tokens_per_step=512, rank_zero=True):
        self.cb, self.clock = callback, clock
        self.epochs, self.steps_per_epoch = epochs, steps_per_epoch
        self.logging_steps, self.eval_strategy, self.eval_steps = logging_steps, eval_strategy, eval_steps
        self.save_steps, self.eval_batches, self.tokens_per_step = save_steps, eval_batches, tokens_per_step
        self.state = types.SimpleNamespace(global_step=0, max_steps=epochs * steps_per_epoch, num_input_tokens_seen=0,
                                           is_world_process_zero=rank_zero, epoch=0.0)
        self.args = types.SimpleNamespace(logging_steps=logging_steps)
        self.control = types.SimpleNamespace(should_evaluate=False)
        self.events = []  # (event, clock time)

    def call(self, event):
        self.clock.now += 1.0  # every event happens one "second" after the previous one
        self.events.append((event, self.clock.now))
        result = getattr(self.cb, event)(self.args, self.state, self.control)
        assert result is None or result is self.control

    def evaluate(self, end_event="on_evaluate"):
        for _ in range(self.eval_batches):
            self.call("on_prediction_step")
        if end_event == "on_evaluate":
            self.call("on_log")
        self.call(end_event)

    def train(self):
        self.call("on_train_begin")
        step = 0
        for _ in range(self.epochs):
            self.call("on_epoch_begin")
            for _ in range(self.steps_per_epoch):
                step += 1
                for event in ("on_step_begin", "on_pre_optimizer_step", "on_optimizer_step"):
                    self.call(event)
                self.state.global_step = step
                self.state.num_input_tokens_seen = step * self.tokens_per_step
                self.call("on_step_end")
                if step % self.logging_steps == 0:
                    self.call("on_log")
                if self.eval_strategy == "steps" and step % self.eval_steps == 0:
                    self.evaluate()
                if self.eval_strategy == "steps" and step == self.state.max_steps and step % self.eval_steps != 0:
                    self.evaluate()  # the end-of-training evaluation
                if step % self.save_steps == 0 or step == self.state.max_steps:
                    self.call("on_save")
            self.call("on_epoch_end")
            if self.eval_strategy == "epoch":
                self.evaluate()
        self.call("on_log")
        self.call("on_train_end")

    def time_of(self, event, nth):
        return [t for e, t in self.events if e == event][nth]


class HuggingFaceCallbackTest(CallbackTestCase):
    def make(self, **kw):
        return build_callback_class(_HuggingFaceHooks, FakeTrainerCallbackBase, "WattprintTrainerCallback")(**kw)

    def test_train_with_step_evaluations(self):
        trainer = HFTrainer(self.make(), self.clock, epochs=2, steps_per_epoch=5, eval_steps=3, logging_steps=2)
        trainer.train()
        phases = self.rec.phases()
        self.assertEqual([p[0] for p in phases], ["train", "eval", "eval", "eval", "eval"])  # steps 3, 6, 9, 10
        train = phases[0]
        self.assertEqual(train[1:], (trainer.time_of("on_train_begin", 0), trainer.time_of("on_train_end", 0)))
        for i, (_, start, end) in enumerate(phases[1:]):
            first_prediction = trainer.time_of("on_prediction_step", i * 3)
            # Backdated to the hook right before the evaluation (on_step_end or the on_log after it) ...
            previous = max(t for e, t in trainer.events if t < first_prediction and e in ("on_step_end", "on_log"))
            self.assertEqual(start, previous)
            self.assertLess(start, first_prediction)
            # ... and ended at on_evaluate, inside the train phase.
            self.assertEqual(end, trainer.time_of("on_evaluate", i))
            self.assertTrue(train[1] < start < end < train[2])
        # Step 6 logged before evaluating: the eval start is that on_log, not on_step_end.
        after_step_6 = trainer.events[trainer.events.index(("on_step_end", trainer.time_of("on_step_end", 5))) + 1]
        self.assertEqual(after_step_6[0], "on_log")
        self.assertEqual(phases[2][1], after_step_6[1])

        progress = self.rec.progress_calls()
        steps = [p["step"] for p in progress]
        self.assertEqual(steps, [0] + list(range(1, 11)) + [10])  # begin, every step, end
        self.assertEqual(progress[5], {"step": 5, "total_steps": 10, "tokens": 2560})
        self.assertNotIn("tokens", progress[0])  # 0 tokens seen means "not counted", not sent
        self.assertEqual(progress[-1], {"step": 10, "total_steps": 10, "tokens": 5120})

    def test_epoch_evaluation_and_standalone_evaluate_and_predict(self):
        cb = self.make(samples_per_step=32)
        trainer = HFTrainer(cb, self.clock, epochs=2, steps_per_epoch=4, eval_strategy="epoch", tokens_per_step=0)
        trainer.train()
        phases = self.rec.phases()
        self.assertEqual([p[0] for p in phases], ["train", "eval", "eval"])
        self.assertEqual(phases[1][1], trainer.time_of("on_epoch_end", 0))  # eval follows on_epoch_end
        self.assertEqual(self.rec.progress_calls()[4], {"step": 4, "total_steps": 8, "samples": 128})

        n = len(phases)
        trainer.evaluate()  # trainer.evaluate() after training: no earlier hook to backdate to
        trainer.evaluate(end_event="on_predict")  # trainer.predict()
        later = self.rec.phases()[n:]
        self.assertEqual([p[0] for p in later], ["eval", "eval"])
        self.assertEqual(later[0][1:], (trainer.time_of("on_prediction_step", 6), trainer.time_of("on_evaluate", 2)))
        self.assertEqual(later[1][2], trainer.time_of("on_predict", 0))
        self.assertTrue(all(p[2] is not None for p in self.rec.phases()))

    def test_other_ranks_report_nothing(self):
        HFTrainer(self.make(), self.clock, rank_zero=False).train()
        self.assertEqual(self.rec.events, [])

    def test_without_transformers_it_is_a_plain_object_with_the_hooks(self):
        self.assertNotIn("transformers", sys.modules)
        cls = callbacks.WattprintTrainerCallback
        self.assertEqual(cls.__mro__[1:], (_HuggingFaceHooks, callbacks._PhaseSlots,
                                           callbacks._TrainerCallbackStandIn, object))
        cb = cls(tokens_per_step=100)
        HFTrainer(cb, self.clock, epochs=1, steps_per_epoch=2).train()  # every documented event is callable
        self.rec.events[:] = []
        state = types.SimpleNamespace(global_step=3, max_steps=-1)  # -1: unknown
        cb.on_train_begin(None, state, None)
        cb.on_step_end(None, state, None)
        cb.on_train_end(None, state, None)
        self.assertEqual([p[0] for p in self.rec.phases()], ["train"])
        self.assertEqual(self.rec.progress_calls()[1], {"step": 3, "tokens": 300})

    def test_uses_the_real_base_class_when_transformers_is_importable(self):
        fake = types.ModuleType("transformers.trainer_callback")
        fake.TrainerCallback = FakeTrainerCallbackBase
        with mock.patch.dict(sys.modules, {"transformers": types.ModuleType("transformers"),
                                           "transformers.trainer_callback": fake}):
            with mock.patch.dict(callbacks._built, clear=True):
                cls = callbacks.WattprintTrainerCallback
        self.assertTrue(issubclass(cls, FakeTrainerCallbackBase))
        self.assertIs(cls.on_step_end.__wrapped__, _HuggingFaceHooks.on_step_end.__wrapped__)  # ours, not the no-op
        self.assertIsNone(cls().on_init_end(None, None, None))  # the base's no-op for events we do not handle

    def test_hook_errors_are_swallowed_outside_tests(self):
        callbacks._strict = False
        cb = self.make()
        cb.on_train_begin(None, types.SimpleNamespace(), None)
        self.assertIsNone(cb.on_step_end(None, types.SimpleNamespace(global_step="x"), None))  # int("x") raises


# ----- Lightning ----------------------------------------------------------------------------------------------------


class FakeLightningTrainer(object):
    def __init__(self, callback, clock, batches_per_epoch=4, epochs=2, accumulate=2, max_steps=-1, world_size=1,
                 batch_size=8, seq_len=16, sanity_check=True):
        self.cb, self.clock = callback, clock
        self.batches_per_epoch, self.epochs, self.accumulate = batches_per_epoch, epochs, accumulate
        self.max_steps = max_steps
        self.estimated_stepping_batches = (batches_per_epoch * epochs) // accumulate
        self.world_size, self.is_global_zero = world_size, True
        self.global_step, self.sanity_checking = 0, False
        self.batch = [[0] * seq_len for _ in range(batch_size)]
        self.sanity_check = sanity_check
        self.module = object()

    def call(self, hook, *args):
        self.clock.now += 1.0
        getattr(self.cb, hook)(self, self.module, *args)  # the base class has a no-op for every hook

    def validate(self):
        self.call("on_validation_start")
        for i in range(2):
            self.call("on_validation_batch_start", self.batch, i)
            self.call("on_validation_batch_end", None, self.batch, i)
        self.call("on_validation_end")

    def fit(self, fail_at_batch=None):
        self.call("on_fit_start")
        if self.sanity_check:
            self.sanity_checking = True
            self.call("on_sanity_check_start")
            self.validate()
            self.call("on_sanity_check_end")
            self.sanity_checking = False
        self.call("on_train_start")
        n = 0
        for _ in range(self.epochs):
            self.call("on_train_epoch_start")
            for i in range(self.batches_per_epoch):
                n += 1
                if n == fail_at_batch:
                    self.call("on_exception", RuntimeError("CUDA out of memory"))
                    return
                self.call("on_train_batch_start", self.batch, i)
                if n % self.accumulate == 0:
                    self.global_step += 1
                self.call("on_train_batch_end", {"loss": 0.5}, self.batch, i)
            self.validate()
            self.call("on_train_epoch_end")
        self.call("on_train_end")
        self.call("on_fit_end")


class LightningCallbackTest(CallbackTestCase):
    def make(self, **kw):
        return build_callback_class(_LightningHooks, callbacks._LightningCallbackStandIn,
                                    "WattprintLightningCallback")(**kw)

    def test_without_lightning_every_hook_is_callable(self):
        self.assertNotIn("lightning", sys.modules)
        cb = callbacks.WattprintLightningCallback()
        self.assertTrue(issubclass(type(cb), callbacks._LightningCallbackStandIn))
        FakeLightningTrainer(cb, self.clock).fit()
        self.assertEqual([p[0] for p in self.rec.phases()], ["sanity_check", "train", "eval", "eval"])

    def test_fit_with_sanity_check_accumulation_and_counts(self):
        count = lambda batch: (len(batch), len(batch) * len(batch[0]))  # samples, tokens
        trainer = FakeLightningTrainer(self.make(count_batch=count), self.clock, world_size=2)
        trainer.fit()
        trainer.call("on_test_start")
        trainer.call("on_test_end")
        names = [p[0] for p in self.rec.phases()]
        self.assertEqual(names, ["sanity_check", "train", "eval", "eval", "test"])
        train = self.rec.phases()[1]
        for _, start, end in self.rec.phases()[2:4]:
            self.assertTrue(train[1] < start < end < train[2])
        self.assertTrue(all(p[2] is not None for p in self.rec.phases()))
        progress = self.rec.progress_calls()
        self.assertEqual([p["step"] for p in progress], [0, 1, 1, 2, 2, 3, 3, 4])  # optimizer steps
        self.assertEqual(progress[-1], {"step": 4, "total_steps": 4, "samples": 8 * 8 * 2, "tokens": 8 * 8 * 16 * 2})

    def test_max_steps_wins_and_no_counts_without_count_batch(self):
        trainer = FakeLightningTrainer(self.make(), self.clock, accumulate=1, max_steps=100, sanity_check=False)
        trainer.fit()
        self.assertEqual(self.rec.progress_calls()[-1], {"step": 8, "total_steps": 100})
        self.assertEqual([p[0] for p in self.rec.phases()], ["train", "eval", "eval"])

    def test_exception_ends_open_phases(self):
        trainer = FakeLightningTrainer(self.make(), self.clock, sanity_check=False)
        trainer.fit(fail_at_batch=6)  # in epoch 2, after epoch 1's validation
        phases = self.rec.phases()
        self.assertEqual([p[0] for p in phases], ["train", "eval"])
        self.assertTrue(all(p[2] is not None for p in phases))

    def test_validation_open_when_the_exception_hits(self):
        cb = self.make()
        trainer = FakeLightningTrainer(cb, self.clock, sanity_check=False)
        trainer.call("on_train_start")
        trainer.call("on_validation_start")
        trainer.call("on_exception", KeyboardInterrupt())
        self.assertEqual([(p[0], p[2] is not None) for p in self.rec.phases()], [("train", True), ("eval", True)])

    def test_prefers_the_lightning_package_already_imported(self):
        old_style = types.ModuleType("pytorch_lightning.callbacks")
        old_style.Callback = type("Callback", (object,), {})
        new_style = types.ModuleType("lightning.pytorch.callbacks")
        new_style.Callback = type("Callback", (object,), {})
        with mock.patch.dict(sys.modules, {"pytorch_lightning": types.ModuleType("pytorch_lightning"),
                                           "pytorch_lightning.callbacks": old_style}):
            with mock.patch.dict(callbacks._built, clear=True):
                self.assertTrue(issubclass(callbacks.WattprintLightningCallback, old_style.Callback))
        with mock.patch.dict(sys.modules, {"lightning.pytorch.callbacks": new_style,
                                           "pytorch_lightning.callbacks": old_style}):
            with mock.patch.dict(callbacks._built, clear=True):
                self.assertTrue(issubclass(callbacks.WattprintLightningCallback, new_style.Callback))


# ----- Keras --------------------------------------------------------------------------------------------------------


class FakeKerasModel(object):
    """Calls callbacks the way keras Model.fit / evaluate / predict do (through CallbackList)."""

    def __init__(self, callback, clock):
        self.cb, self.clock = callback, clock

    def call(self, hook, *args):
        self.clock.now += 1.0
        getattr(self.cb, hook)(*args)

    def fit(self, epochs=3, steps=4, initial_epoch=0, steps_per_execution=1, validation=True):
        self.cb.set_model(self)
        self.cb.set_params({"verbose": 1, "epochs": epochs, "steps": steps})
        self.call("on_train_begin", None)
        for epoch in range(initial_epoch, epochs):
            self.call("on_epoch_begin", epoch, None)
            for begin in range(0, steps, steps_per_execution):
                end = min(begin + steps_per_execution, steps) - 1
                self.call("on_train_batch_begin", begin, None)
                self.call("on_train_batch_end", end, {"loss": 1.0})
            if validation:
                self.evaluate()
            self.call("on_epoch_end", epoch, {"loss": 1.0, "val_loss": 1.1})
        self.call("on_train_end", None)

    def evaluate(self):
        self.call("on_test_begin", None)
        for i in range(2):
            self.call("on_test_batch_begin", i, None)
            self.call("on_test_batch_end", i, None)
        self.call("on_test_end", {"loss": 1.1})

    def predict(self):
        self.call("on_predict_begin", None)
        self.call("on_predict_end", None)


class FakeKerasCallbackBase(object):
    """keras.callbacks.Callback's surface: set_params/set_model and a no-op per hook."""

    def __init__(self):
        self.params = None
        self.model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model


for _hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end"):
    setattr(FakeKerasCallbackBase, _hook, lambda self, logs=None: None)
for _hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
              "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"):
    setattr(FakeKerasCallbackBase, _hook, lambda self, index, logs=None: None)


class KerasCallbackTest(CallbackTestCase):
    def make(self, **kw):
        return build_callback_class(_KerasHooks, FakeKerasCallbackBase, "WattprintKerasCallback")(**kw)

    def test_fit_evaluate_predict(self):
        model = FakeKerasModel(self.make(samples_per_step=32, tokens_per_step=32 * 128), self.clock)
        model.fit(epochs=3, steps=4)
        model.evaluate()
        model.predict()
        self.assertEqual([p[0] for p in self.rec.phases()], ["train", "eval", "eval", "eval", "eval", "predict"])
        train = self.rec.phases()[0]
        for _, start, end in self.rec.phases()[1:4]:
            self.assertTrue(train[1] < start < end < train[2])
        progress = self.rec.progress_calls()
        self.assertEqual([p["step"] for p in progress], list(range(1, 13)))
        self.assertEqual(progress[-1], {"step": 12, "total_steps": 12, "samples": 384, "tokens": 384 * 128})

    def test_steps_per_execution_and_initial_epoch(self):
        model = FakeKerasModel(self.make(), self.clock)
        model.fit(epochs=3, steps=5, initial_epoch=1, steps_per_execution=2, validation=False)
        self.assertEqual([p["step"] for p in self.rec.progress_calls()], [2, 4, 5, 7, 9, 10])
        self.assertEqual(self.rec.progress_calls()[-1], {"step": 10, "total_steps": 10})

    def test_unknown_steps_per_epoch(self):
        model = FakeKerasModel(self.make(), self.clock)
        model.cb.set_params({"verbose": 1, "epochs": 2, "steps": None})  # a dataset of unknown length
        model.call("on_train_begin", None)
        model.call("on_epoch_begin", 0, None)
        model.call("on_train_batch_end", 0, None)
        self.assertEqual(self.rec.progress_calls(), [{"step": 1}])

    def test_without_keras_it_duck_types(self):
        self.assertNotIn("keras", sys.modules)
        cls = callbacks.WattprintKerasCallback
        self.assertTrue(issubclass(cls, callbacks._KerasCallbackStandIn))
        model = FakeKerasModel(cls(), self.clock)
        model.fit(epochs=1, steps=2)
        self.assertEqual([p[0] for p in self.rec.phases()], ["train", "eval"])


class EndToEndTest(unittest.TestCase):
    """The Hugging Face callback against the fake tracker, through the real client."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="wattprint-cb-")
        self.tracker = FakeTracker(unix_path=os.path.join(self.tmp, "w.sock")).start()
        self.env = mock.patch.dict(os.environ, {"WATTPRINT_SOCKET": self.tracker.unix_path})
        self.env.start()
        _client.reset()
        callbacks._strict = True

    def tearDown(self):
        callbacks._strict = False
        _client.reset()
        self.env.stop()
        self.tracker.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_phases_and_progress_reach_the_tracker(self):
        cb = build_callback_class(_HuggingFaceHooks, FakeTrainerCallbackBase, "WattprintTrainerCallback")()
        clock = Clock(now=0.0)
        HFTrainer(cb, clock, epochs=1, steps_per_epoch=6, eval_steps=3, tokens_per_step=100).train()
        self.assertTrue(wattprint.flush(timeout=3))
        names = sorted(p["name"] for p in self.tracker.phases.values())
        self.assertEqual(names, ["eval", "eval", "train"])
        self.assertEqual(self.tracker.open_phases, {})
        self.assertEqual(self.tracker.progress, {"step": 6, "totalSteps": 6, "tokens": 600})
        for p in self.tracker.phases.values():
            self.assertLessEqual(p["startedAt"], p["endedAt"])


if __name__ == "__main__":
    unittest.main()
