"""Framework callbacks that report phases and progress to wattprint without changes to the training code.

    from wattprint.callbacks import WattprintTrainerCallback      # Hugging Face transformers.Trainer
    from wattprint.callbacks import WattprintLightningCallback    # PyTorch Lightning
    from wattprint.callbacks import WattprintKerasCallback        # Keras (keras 3, tf.keras)

Each class is built on first access: it subclasses the framework's real callback base class when that framework
can be imported, and otherwise a plain stand-in class with a no-op for each of the framework's hooks, so this
module imports (and any hook can be called duck-typed) without any framework installed. The frameworks are not installed where this was written: the tests drive each
class through the hook sequence its framework documents, with small fake trainer/state objects.

All hooks swallow their own errors: a callback must never break training. Outside wattprint they do nothing
beyond a few attribute reads.
"""

import functools
import importlib
import sys
import time

import wattprint as _wp

__all__ = ["WattprintTrainerCallback", "WattprintLightningCallback", "WattprintKerasCallback"]

# Tests set this so that a bug in a hook fails the test instead of being swallowed.
_strict = False


def _safe(method):
    """Wraps a hook so an error inside it (an unexpected state object, say) is swallowed, never raised."""

    @functools.wraps(method)
    def hook(self, *args, **kwargs):
        try:
            method(self, *args, **kwargs)
        except Exception:
            if _strict:
                raise
        return None  # HF: None leaves TrainerControl as it is

    return hook


def _positive(value):
    """value when it is a number > 0 (and finite), else None: frameworks use -1, 0 or inf for "unknown"."""
    try:
        if value is None or isinstance(value, bool):
            return None
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 0 and number != float("inf"):
        return int(number) if number.is_integer() else number
    return None


class _PhaseSlots(object):
    """Named slots for the phases a callback has open, so every start has exactly one end."""

    def _slots(self):
        slots = self.__dict__.get("_wattprint_open")
        if slots is None:
            slots = self.__dict__["_wattprint_open"] = {}
        return slots

    def _open(self, slot, name, at=None):
        slots = self._slots()
        if slot not in slots:
            phase_id = _wp.start_phase(name, at)
            if phase_id is not None:
                slots[slot] = phase_id

    def _close(self, slot, at=None):
        phase_id = self._slots().pop(slot, None)
        if phase_id is not None:
            _wp.end_phase(phase_id, at)

    def _close_all(self):
        at = time.time()
        for slot in list(self._slots()):
            self._close(slot, at)


# ----- Hugging Face -------------------------------------------------------------------------------------------------


class _HuggingFaceHooks(_PhaseSlots):
    """wattprint for ``transformers.Trainer``: ``trainer = Trainer(..., callbacks=[WattprintTrainerCallback()])``.

    Phases: ``train`` from ``on_train_begin`` to ``on_train_end``; ``eval`` around each evaluation (inside a
    training run, or a standalone ``trainer.evaluate()`` / ``trainer.predict()``).
    Progress, on every ``on_step_end`` (one optimizer step): ``step`` = ``state.global_step``, ``total_steps`` =
    ``state.max_steps``, ``tokens`` = ``state.num_input_tokens_seen`` when the Trainer counts them (it does with
    ``include_num_input_tokens_seen=True``) and it is > 0, else ``step * tokens_per_step`` when given;
    ``samples`` = ``step * samples_per_step`` when given (the Trainer keeps no sample count; pass
    ``args.train_batch_size * args.gradient_accumulation_steps * args.world_size`` if that is what a step is).

    What is approximated, and why: the Trainer has no "evaluation starts" hook. Its documented sequence for an
    evaluation is ``on_prediction_step`` once per eval batch, then ``on_log``, then ``on_evaluate`` (``on_predict``
    for ``predict()``), and during training the evaluation follows ``on_step_end`` / ``on_log`` / ``on_epoch_end``
    directly. So ``eval`` is opened at the first ``on_prediction_step`` but stamped with the time of the last
    training-loop hook before it (the evaluation is the only work in between), and closed at ``on_evaluate`` /
    ``on_predict``. A standalone evaluation has no earlier hook; its start is its first prediction step, so its
    first batch counts as outside ``eval``. ``predict()`` is reported as ``eval`` too (it cannot be told apart at
    its first batch).

    Only the main process reports (``state.is_world_process_zero``) unless ``all_ranks=True``: every rank would
    otherwise open its own ``train`` phase and send the same step counters.
    """

    def __init__(self, train_phase="train", eval_phase="eval", samples_per_step=None, tokens_per_step=None,
                 all_ranks=False, *args, **kwargs):
        super(_HuggingFaceHooks, self).__init__(*args, **kwargs)
        self.train_phase = train_phase
        self.eval_phase = eval_phase
        self.samples_per_step = samples_per_step
        self.tokens_per_step = tokens_per_step
        self.all_ranks = all_ranks
        self._training = False
        self._last_train_hook_at = None  # wall time of the latest training-loop hook

    def _active(self, state):
        return self.all_ranks or bool(getattr(state, "is_world_process_zero", True))

    def _report(self, state):
        step = getattr(state, "global_step", None)
        if step is None:
            return
        step = int(step)
        tokens = getattr(state, "num_input_tokens_seen", None)
        tokens = tokens if _positive(tokens) else None
        if tokens is None and self.tokens_per_step:
            tokens = step * self.tokens_per_step
        samples = step * self.samples_per_step if self.samples_per_step else None
        _wp.progress(step=step, total_steps=_positive(getattr(state, "max_steps", None)), samples=samples,
                     tokens=tokens)

    def _mark(self):
        if self._training:
            self._last_train_hook_at = time.time()

    @_safe
    def on_train_begin(self, args, state, control, **kwargs):
        if not self._active(state):
            return
        self._open("train", self.train_phase)
        self._training = True
        self._report(state)  # the total (and a resumed global_step) is known before the first step
        self._mark()

    @_safe
    def on_step_end(self, args, state, control, **kwargs):
        if not self._active(state):
            return
        self._close("eval")  # an evaluation that never reached on_evaluate (an exception inside it, say)
        self._report(state)
        self._mark()

    @_safe
    def on_log(self, args, state, control, **kwargs):
        if "eval" not in self._slots():
            self._mark()

    @_safe
    def on_epoch_end(self, args, state, control, **kwargs):
        self._mark()

    @_safe
    def on_save(self, args, state, control, **kwargs):
        self._mark()

    @_safe
    def on_prediction_step(self, args, state, control, **kwargs):
        if not self._active(state) or "eval" in self._slots():
            return
        self._open("eval", self.eval_phase, self._last_train_hook_at if self._training else None)

    @_safe
    def on_evaluate(self, args, state, control, **kwargs):
        self._close("eval")
        self._mark()

    @_safe
    def on_predict(self, args, state, control, **kwargs):
        self._close("eval")
        self._mark()

    @_safe
    def on_train_end(self, args, state, control, **kwargs):
        if not self._active(state):
            return
        self._close("eval")
        self._report(state)
        self._close("train")
        self._training = False
        self._last_train_hook_at = None


# ----- PyTorch Lightning --------------------------------------------------------------------------------------------


class _LightningHooks(_PhaseSlots):
    """wattprint for PyTorch Lightning: ``Trainer(callbacks=[WattprintLightningCallback()])``.

    Phases: ``train`` from ``on_train_start`` (after the sanity check) to ``on_train_end``; ``eval`` from
    ``on_validation_start`` to ``on_validation_end`` (inside ``fit`` or a standalone ``validate``), except that the
    validation of the sanity check, which Lightning runs before ``on_train_start``, is reported as
    ``sanity_check``; ``test`` and ``predict`` around ``trainer.test()`` / ``trainer.predict()``. An exception
    (``on_exception``) ends whatever is open.

    Progress on every ``on_train_batch_end``: ``step`` = ``trainer.global_step`` (optimizer steps, so gradient
    accumulation is accounted for), ``total_steps`` = ``trainer.max_steps`` when set, else
    ``trainer.estimated_stepping_batches`` when finite (read once at ``on_train_start``). Samples and tokens need
    ``count_batch``: a function of the batch returning ``samples`` or ``(samples, tokens)``; its counts are summed
    per batch and multiplied by ``trainer.world_size`` (every rank sees a batch that size, as with the default
    DistributedSampler), since only rank zero reports unless ``all_ranks=True``.
    """

    def __init__(self, train_phase="train", eval_phase="eval", count_batch=None, all_ranks=False, *args, **kwargs):
        super(_LightningHooks, self).__init__(*args, **kwargs)
        self.train_phase = train_phase
        self.eval_phase = eval_phase
        self.count_batch = count_batch
        self.all_ranks = all_ranks
        self._total_steps = None
        self._samples = 0
        self._tokens = 0

    def _active(self, trainer):
        return self.all_ranks or bool(getattr(trainer, "is_global_zero", True))

    def _world(self, trainer):
        if self.all_ranks:
            return 1
        return _positive(getattr(trainer, "world_size", 1)) or 1

    @_safe
    def on_train_start(self, trainer, pl_module):
        if not self._active(trainer):
            return
        self._total_steps = _positive(getattr(trainer, "max_steps", None))
        if self._total_steps is None:
            self._total_steps = _positive(getattr(trainer, "estimated_stepping_batches", None))
        self._open("train", self.train_phase)

    @_safe
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *args, **kwargs):
        if not self._active(trainer):
            return
        samples = tokens = None
        if self.count_batch is not None:
            counted = self.count_batch(batch)
            if isinstance(counted, tuple):
                batch_samples, batch_tokens = counted
            else:
                batch_samples, batch_tokens = counted, None
            world = self._world(trainer)
            if batch_samples is not None:
                self._samples += int(batch_samples) * world
                samples = self._samples
            if batch_tokens is not None:
                self._tokens += int(batch_tokens) * world
                tokens = self._tokens
        _wp.progress(step=int(getattr(trainer, "global_step", 0)), total_steps=self._total_steps, samples=samples,
                     tokens=tokens)

    @_safe
    def on_train_end(self, trainer, pl_module):
        if not self._active(trainer):
            return
        self._close("eval")
        self._close("train")

    @_safe
    def on_validation_start(self, trainer, pl_module):
        if not self._active(trainer):
            return
        self._open("eval", "sanity_check" if getattr(trainer, "sanity_checking", False) else self.eval_phase)

    @_safe
    def on_validation_end(self, trainer, pl_module):
        self._close("eval")

    @_safe
    def on_test_start(self, trainer, pl_module):
        if self._active(trainer):
            self._open("test", "test")

    @_safe
    def on_test_end(self, trainer, pl_module):
        self._close("test")

    @_safe
    def on_predict_start(self, trainer, pl_module):
        if self._active(trainer):
            self._open("predict", "predict")

    @_safe
    def on_predict_end(self, trainer, pl_module):
        self._close("predict")

    @_safe
    def on_exception(self, trainer, pl_module, exception):
        self._close_all()


# ----- Keras --------------------------------------------------------------------------------------------------------


class _KerasHooks(_PhaseSlots):
    """wattprint for Keras: ``model.fit(..., callbacks=[WattprintKerasCallback()])``.

    Phases: ``train`` from ``on_train_begin`` to ``on_train_end``; ``eval`` from ``on_test_begin`` to
    ``on_test_end`` (the validation inside ``fit``, and ``model.evaluate()``); ``predict`` around
    ``model.predict()``.

    Progress on every ``on_train_batch_end(batch)``: ``batch`` is the index within the epoch of the last batch
    done (with ``steps_per_execution`` > 1, Keras calls the hook once per execution with the last index), so
    ``step`` = batches done in earlier epochs + ``batch + 1``, counted from this ``fit`` call.
    ``total_steps`` = ``params["steps"] * (params["epochs"] - initial_epoch)`` when Keras knows the steps per epoch.
    Keras passes no batch size to callbacks, so ``samples`` = ``step * samples_per_step`` and ``tokens`` =
    ``step * tokens_per_step`` only when given (a short last batch makes them approximate).
    """

    def __init__(self, train_phase="train", eval_phase="eval", samples_per_step=None, tokens_per_step=None,
                 *args, **kwargs):
        super(_KerasHooks, self).__init__(*args, **kwargs)
        self.train_phase = train_phase
        self.eval_phase = eval_phase
        self.samples_per_step = samples_per_step
        self.tokens_per_step = tokens_per_step
        self._steps_done = 0  # batches done since on_train_begin
        self._epoch_base = 0  # _steps_done when the current epoch began
        self._total_steps = None
        self._first_epoch = None

    def _params(self):
        params = getattr(self, "params", None)
        return params if isinstance(params, dict) else {}

    @_safe
    def on_train_begin(self, logs=None):
        self._steps_done = 0
        self._epoch_base = 0
        self._total_steps = None
        self._first_epoch = None
        self._open("train", self.train_phase)

    @_safe
    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is None:
            self._first_epoch = int(epoch)  # fit(initial_epoch=...) starts here
            params = self._params()
            steps, epochs = _positive(params.get("steps")), _positive(params.get("epochs"))
            if steps and epochs and epochs > self._first_epoch:
                self._total_steps = int(steps * (epochs - self._first_epoch))
        self._epoch_base = self._steps_done

    @_safe
    def on_train_batch_end(self, batch, logs=None):
        self._steps_done = max(self._steps_done, self._epoch_base + int(batch) + 1)
        step = self._steps_done
        total = self._total_steps if self._total_steps and self._total_steps >= step else None
        _wp.progress(step=step, total_steps=total,
                     samples=step * self.samples_per_step if self.samples_per_step else None,
                     tokens=step * self.tokens_per_step if self.tokens_per_step else None)

    @_safe
    def on_test_begin(self, logs=None):
        self._open("eval", self.eval_phase)

    @_safe
    def on_test_end(self, logs=None):
        self._close("eval")

    @_safe
    def on_predict_begin(self, logs=None):
        self._open("predict", "predict")

    @_safe
    def on_predict_end(self, logs=None):
        self._close("predict")

    @_safe
    def on_train_end(self, logs=None):
        self._close("eval")
        self._close("train")


def _no_op(self, *args, **kwargs):
    return None


def _stand_in(name, doc, hooks, attrs=None):
    """A base class with a no-op per hook, for when the framework is not importable: a duck-typed caller may call
    any hook the framework has, not just the ones these callbacks use."""
    namespace = {"__doc__": doc, "__module__": __name__}
    namespace.update((hook, _no_op) for hook in hooks)
    namespace.update(attrs or {})
    return type(name, (object,), namespace)


_TrainerCallbackStandIn = _stand_in(
    "_TrainerCallbackStandIn", "Stands in for transformers.TrainerCallback.",
    ("on_init_end", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_step_begin",
     "on_pre_optimizer_step", "on_optimizer_step", "on_substep_end", "on_step_end", "on_evaluate", "on_predict",
     "on_save", "on_log", "on_prediction_step", "on_push_begin"))

_LightningCallbackStandIn = _stand_in(
    "_LightningCallbackStandIn", "Stands in for lightning.pytorch.callbacks.Callback.",
    ("setup", "teardown", "on_fit_start", "on_fit_end", "on_sanity_check_start", "on_sanity_check_end",
     "on_train_batch_start", "on_train_batch_end", "on_train_epoch_start", "on_train_epoch_end",
     "on_validation_epoch_start", "on_validation_epoch_end", "on_test_epoch_start", "on_test_epoch_end",
     "on_predict_epoch_start", "on_predict_epoch_end", "on_validation_batch_start", "on_validation_batch_end",
     "on_test_batch_start", "on_test_batch_end", "on_predict_batch_start", "on_predict_batch_end", "on_train_start",
     "on_train_end", "on_validation_start", "on_validation_end", "on_test_start", "on_test_end", "on_predict_start",
     "on_predict_end", "on_exception", "on_save_checkpoint", "on_load_checkpoint", "on_before_backward",
     "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad", "load_state_dict"),
    {"state_dict": lambda self: {}})


def _keras_init(self):
    self.params = {}
    self.model = None


def _keras_set_params(self, params):
    self.params = params


def _keras_set_model(self, model):
    self.model = model


_KerasCallbackStandIn = _stand_in(
    "_KerasCallbackStandIn", "Stands in for keras.callbacks.Callback: set_params/set_model and the hooks.",
    ("on_batch_begin", "on_batch_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
     "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
     "on_predict_batch_end", "on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
     "on_predict_end"),
    {"__init__": _keras_init, "set_params": _keras_set_params, "set_model": _keras_set_model})


# ----- building the classes -----------------------------------------------------------------------------------------


def _import_attr(module_name, attr):
    """module.attr, or None when the module is missing or fails to import (a broken install must not break us)."""
    try:
        return getattr(importlib.import_module(module_name), attr)
    except Exception:
        return None


def _first_base(candidates, fallback):
    """The first importable base class, preferring frameworks the job has already imported (a callback must derive
    from the base class of the package the job's Trainer comes from, e.g. lightning vs pytorch_lightning)."""
    loaded = [c for c in candidates if c[0] in sys.modules]
    for module_name, attr in loaded + [c for c in candidates if c not in loaded]:
        base = _import_attr(module_name, attr)
        if isinstance(base, type):
            return base
    return fallback


def build_callback_class(hooks, base, name):
    """The callback class ``name`` with ``hooks`` over ``base`` (tests and unusual installs pass their own base)."""
    return type(name, (hooks, base), {"__module__": __name__, "__doc__": hooks.__doc__})


_BUILDERS = {
    "WattprintTrainerCallback": (_HuggingFaceHooks, [("transformers.trainer_callback", "TrainerCallback"),
                                                     ("transformers", "TrainerCallback")], _TrainerCallbackStandIn),
    "WattprintLightningCallback": (_LightningHooks, [("lightning.pytorch.callbacks", "Callback"),
                                                     ("pytorch_lightning.callbacks", "Callback")], _LightningCallbackStandIn),
    "WattprintKerasCallback": (_KerasHooks, [("keras.callbacks", "Callback"), ("tf_keras.callbacks", "Callback"),
                                             ("tensorflow.keras.callbacks", "Callback")], _KerasCallbackStandIn),
}
_built = {}


def __getattr__(name):
    # PEP 562: the class is built when first asked for, so importing this module never imports a framework.
    if name not in _BUILDERS:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    cls = _built.get(name)
    if cls is None:
        hooks, candidates, fallback = _BUILDERS[name]
        cls = _built[name] = build_callback_class(hooks, _first_base(candidates, fallback), name)
    return cls


def __dir__():
    return sorted(list(globals()) + list(_BUILDERS))
