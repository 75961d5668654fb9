"""Train a recurrent language model with truncated backpropagation through time, checkpointing as it goes.

One step::

    x, y      = next window of the TBPTT batcher          (T, B) int64 each; state reset when an epoch starts
    logits, s = model(x, state)                           (T, B, V)
    loss      = mean_{t,b} -log softmax(logits)[y]        nats per token
    loss.backward();  g = clip_grad_norm_(params, clip);  optimizer.step();  scheduler.step()
    state     = detach(s)                                 carried into the next window, cut from the graph

A non-finite loss or gradient norm is reported with its step number and the update is skipped
(``on_nonfinite='skip'``, training stops after ``max_skips`` skips in a row) or training stops
(``'stop'``); either way the weights never see it and nothing non-finite reaches a checkpoint.

Every ``eval_every`` steps (and at the end) the whole validation split is scored as one stream from a zero
state (:func:`evaluate`); ``best.npz`` keeps the best weights so far and ``last.npz`` the latest. A
checkpoint holds everything a run depends on — weights, optimizer and scheduler state, batcher position,
the carried hidden state, the library's RNG state, step, metrics — so a resumed run continues exactly as
the uninterrupted one would have. Ctrl-C finishes the current step, saves ``last.npz`` and returns.

The output directory gets ``metrics.json`` (per-step train loss, validation history, tokens/s, wall time),
``loss.png`` and the two checkpoints.

>>> import tempfile, os
>>> text = "the cat sat on the mat. " * 40
>>> path = os.path.join(tempfile.mkdtemp(), "t.txt"); _ = open(path, "w").write(text)
>>> cfg = TrainConfig(data=path, hidden=16, layers=1, embedding=8, seq_len=8, batch=4, steps=3,
...                   eval_every=3, sample_every=0, out=os.path.join(os.path.dirname(path), "run"))
>>> result = Trainer(cfg, log=lambda msg: None, progress_stream=open(os.devnull, "w")).run()
>>> result.step, result.stopped, sorted(os.listdir(cfg.out))
(3, 'done', ['best.npz', 'last.npz', 'loss.png', 'metrics.json'])
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import signal
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..autograd import Tensor, cross_entropy
from ..autograd import random as tg_random
from ..data import CharVocab, TBPTTBatcher, WordVocab, default_corpus, read_text, train_val_split
from ..nn import detach_state
from ..optim import SGD, Adagrad, Adam, AdamW, LambdaLR, RMSprop, clip_grad_norm_
from .checkpoint import flatten_state, load_checkpoint, save_checkpoint, unflatten_state
from .evaluate import bits, evaluate
from .lm import CharLM
from .progress import Progress
from .sampling import sample

CHECKPOINT_KIND = "tinygrad_rnn.lm"
DEFAULT_CORPUS_CHARS = 600_000    # of the stdlib corpus: 540k to train on, 60k to validate, for a run of minutes
CHECKPOINT_VERSION = 1
OPTIMIZERS = {"adam": Adam, "adamw": AdamW, "sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop}
SCHEDULES = ("constant", "cosine", "step")
# settings a resumed run may change; everything else is fixed by the checkpoint
RESUME_OVERRIDES = ("steps", "minutes", "eval_every", "sample_every", "sample_len", "out", "on_nonfinite",
                    "max_skips", "val_streams")


@dataclass
class TrainConfig:
    """Everything that defines a training run (JSON-safe; stored in every checkpoint)."""

    data: str | None = None       # path of a UTF-8 text file; None: the built-in stdlib corpus
    max_chars: int | None = None  # use the first max_chars characters (None: a whole file, or 600,000 of the corpus)
    word: bool = False            # word-level tokens instead of characters
    max_vocab: int = 10_000       # word level only: the most frequent tokens kept, the rest map to <unk>
    val_fraction: float = 0.1     # the last 10% of the tokens are the validation split
    cell: str = "lstm"
    layers: int = 1
    hidden: int = 256
    embedding: int = 64           # 0: one-hot inputs
    dropout: float = 0.0
    seq_len: int = 64             # T: steps of backpropagation through time per window
    batch: int = 32               # B: parallel streams
    optimizer: str = "adam"
    lr: float = 3e-3
    schedule: str = "cosine"      # constant | cosine (to 10% of lr at the last step) | step (halve every quarter)
    clip: float = 5.0             # max gradient norm; 0: no clipping
    steps: int | None = 600       # step budget (None: until the time budget ends)
    minutes: float | None = None  # time budget of this session, in minutes
    eval_every: int = 200         # validate every N steps (and at the end); 0: only at the end
    val_streams: int = 1          # >1 reads the validation split as that many parallel pieces (faster)
    sample_every: int = 200       # print a sample every N steps; 0: never
    sample_len: int = 200         # tokens per printed sample
    out: str | None = None        # output directory
    seed: int = 0
    on_nonfinite: str = "skip"    # skip | stop
    max_skips: int = 10           # stop after this many skipped steps in a row

    def check(self) -> "TrainConfig":
        """Raise ValueError naming the first setting out of range; return self."""
        def need(ok: bool, what: str, value) -> None:
            if not ok:
                raise ValueError(f"train: expected {what}, got {value!r}")

        def is_int(v) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        need(self.cell in ("lstm", "gru", "rnn"), "cell in ('lstm', 'gru', 'rnn')", self.cell)
        need(self.optimizer in OPTIMIZERS, f"optimizer in {tuple(OPTIMIZERS)}", self.optimizer)
        need(self.schedule in SCHEDULES, f"schedule in {SCHEDULES}", self.schedule)
        need(self.on_nonfinite in ("skip", "stop"), "on_nonfinite 'skip' or 'stop'", self.on_nonfinite)
        for name in ("layers", "hidden", "seq_len", "batch", "max_vocab", "max_skips", "val_streams",
                     "sample_len"):
            need(is_int(getattr(self, name)) and getattr(self, name) >= 1, f"{name} >= 1", getattr(self, name))
        for name in ("embedding", "eval_every", "sample_every", "seed"):
            need(is_int(getattr(self, name)) and getattr(self, name) >= 0, f"{name} >= 0", getattr(self, name))
        need(self.steps is None or (is_int(self.steps) and self.steps >= 1), "steps >= 1 or None", self.steps)
        need(self.minutes is None or self.minutes > 0, "minutes > 0 or None", self.minutes)
        need(self.steps is not None or self.minutes is not None, "a step or a time budget (steps or minutes)",
             None)
        need(self.max_chars is None or (is_int(self.max_chars) and self.max_chars >= 2), "max_chars >= 2",
             self.max_chars)
        need(0.0 < self.val_fraction < 1.0, "0 < val_fraction < 1", self.val_fraction)
        need(0.0 <= self.dropout < 1.0, "dropout in [0, 1)", self.dropout)
        need(self.lr > 0 and math.isfinite(self.lr), "lr > 0", self.lr)
        need(self.clip >= 0 and math.isfinite(self.clip), "clip >= 0", self.clip)
        return self


@dataclass
class TrainResult:
    """What a run ended with."""

    step: int                     # steps done, counting resumed ones
    stopped: str                  # done | time | interrupted | nonfinite
    val_nats: float | None        # last validation loss
    best_val_nats: float | None
    tokens_per_s: float           # training throughput of this session
    wall_time: float              # seconds of this session
    out: str
    sample: str = ""              # the last sample printed


# ------------------------------------------------------------------------------------------------ data

def load_text(config: TrainConfig) -> tuple[str, dict]:
    """The training text and a JSON description of where it came from (with its sha256)."""
    if config.data is None:
        info = default_corpus(max_chars=config.max_chars or DEFAULT_CORPUS_CHARS)
        text = info.text
        desc = {"source": "default_corpus", "python_version": info.python_version, "files": len(info.files)}
    else:
        text = read_text(config.data)
        if config.max_chars is not None:
            text = text[: config.max_chars]
        desc = {"source": "file", "path": os.path.abspath(config.data)}
    desc.update(n_chars=len(text), sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
    return text, desc


def build_vocab(text: str, word: bool, max_vocab: int):
    """A character vocabulary of the whole text, or (``word``) a word vocabulary of its most common tokens."""
    if word:
        return WordVocab.from_text(text, max_size=max_vocab, unknown="replace")
    return CharVocab.from_text(text)


def vocab_from_dict(d: dict):
    """Rebuild a CharVocab or WordVocab from its ``to_dict()``."""
    kinds = {"CharVocab": CharVocab, "WordVocab": WordVocab}
    if not isinstance(d, dict) or d.get("type") not in kinds:
        raise ValueError(f"checkpoint: expected a CharVocab or WordVocab description, got "
                         f"{d.get('type') if isinstance(d, dict) else type(d).__name__!r}")
    return kinds[d["type"]].from_dict(d)


def model_weights(arrays: dict, dtype, path: str) -> dict:
    """The checkpoint's ``model/`` arrays by parameter name, each required to hold the model's float dtype
    (a float64 or integer array is refused, not silently cast)."""
    weights = {}
    for key, value in arrays.items():
        if key.startswith("model/"):
            if value.dtype != dtype:
                raise ValueError(f"checkpoint '{path}': array {key}: expected dtype {np.dtype(dtype).name}, "
                                 f"got {value.dtype.name}")
            weights[key[len("model/"):]] = value
    return weights


def load_model(path: str):
    """(model, vocab, meta) from a training checkpoint, the model in eval mode with the saved weights."""
    arrays, meta = load_checkpoint(path)
    if meta.get("kind") != CHECKPOINT_KIND or not isinstance(meta.get("model"), dict):
        raise ValueError(f"expected a tinygrad-rnn language-model checkpoint in '{path}', got kind "
                         f"{meta.get('kind')!r}")
    model = CharLM.from_config(meta["model"])
    vocab = vocab_from_dict(meta.get("vocab"))
    if len(vocab) != model.vocab_size:
        raise ValueError(f"checkpoint '{path}': its vocabulary has {len(vocab)} entries but its model "
                         f"expects {model.vocab_size}")
    model.load_state_dict(model_weights(arrays, model.dtype, path))
    return model.eval(), vocab, meta


def lr_factor(schedule: str, steps: int | None):
    """The multiplier of the base learning rate after t scheduler steps."""
    if schedule == "cosine":
        if steps is None:
            raise ValueError("train: the cosine schedule needs a step budget (steps); use schedule "
                             "'constant' or 'step' with a time budget alone")
        return lambda t: 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(t, steps) / steps))
    if schedule == "step":
        every = max(1, (steps or 4000) // 4)
        return lambda t: 0.5 ** (t // every)
    return lambda t: 1.0


def is_finite_model(model) -> bool:
    return all(np.isfinite(p.data).all() for p in model.parameters())


# --------------------------------------------------------------------------------------------- trainer

class Trainer:
    """Owns one run: data, model, optimizer, schedule, batcher, metrics and checkpoints.

    ``Trainer(config)`` starts a new run in ``config.out`` (which must not already hold checkpoints);
    ``Trainer.resume(path, overrides)`` continues the run saved at ``path``. ``run()`` trains until the
    budget ends and returns a :class:`TrainResult`. ``log`` receives the text lines meant for the user
    (evaluations, samples, warnings); the progress bar goes to ``progress_stream`` (stderr by default).
    """

    def __init__(self, config: TrainConfig, log=None, progress_stream=None, _checkpoint=None):
        self.config = config.check()
        self._log = log if log is not None else (lambda msg: print(msg, flush=True))
        self.progress_stream = progress_stream
        self.progress: Progress | None = None
        if config.out is None:
            raise ValueError("train: expected an output directory (out), got None")
        if config.data is not None:
            config.data = os.path.abspath(config.data)
        resuming = _checkpoint is not None
        if not resuming or os.path.abspath(config.out) != _checkpoint[2]:
            for name in ("last.npz", "best.npz"):
                if os.path.exists(os.path.join(config.out, name)):
                    raise ValueError(f"train: '{config.out}' already holds a run ({name}); resume it with "
                                     f"--resume {os.path.join(config.out, name)} or choose another --out")
        # --- data
        text, self.data_desc = load_text(config)
        if resuming:
            arrays, meta, _ = _checkpoint
            saved = meta["data"]
            if saved.get("sha256") != self.data_desc["sha256"]:
                raise ValueError(f"train: the training text differs from the one the checkpoint was trained on "
                                 f"(saved: {saved.get('source')} {saved.get('path', '')} with "
                                 f"{saved.get('n_chars')} characters; now {self.data_desc['n_chars']})")
            self.vocab = vocab_from_dict(meta["vocab"])
        else:
            self.vocab = build_vocab(text, config.word, config.max_vocab)
        ids = self.vocab.encode(text)
        self.train_ids, self.val_ids = train_val_split(ids, config.val_fraction)
        self.data_desc.update(level="word" if config.word else "char", n_tokens=int(ids.size),
                              n_train=int(len(self.train_ids)), n_val=int(len(self.val_ids)))
        try:
            self.batcher = TBPTTBatcher(self.train_ids, config.batch, config.seq_len)
        except ValueError:
            raise ValueError(f"train: expected a training split of at least batch x (seq_len + 1) = "
                             f"{config.batch} x {config.seq_len + 1} tokens for one window, got "
                             f"{len(self.train_ids)} tokens; use more text or a smaller --batch/--seq-len") from None
        # --- model, optimizer, schedule
        tg_random.manual_seed(config.seed)
        self.model = CharLM(len(self.vocab), cell=config.cell, hidden_size=config.hidden,
                            num_layers=config.layers, embedding_dim=config.embedding, dropout=config.dropout)
        self.params = self.model.parameters()
        opt_cls = OPTIMIZERS[config.optimizer]
        self.optimizer = opt_cls(self.params, lr=config.lr)
        self.scheduler = LambdaLR(self.optimizer, lr_factor(config.schedule, config.steps))
        # --- progress
        self.step = 0
        self.hidden = None            # recurrent state carried between windows (detached)
        self.best_val: float | None = None
        self.metrics = {"train": [], "val": [], "nonfinite": [], "sessions": []}
        self.skips_in_row = 0
        if resuming:
            self._load_state(*_checkpoint[:2])

    # ------------------------------------------------------------------------------------ checkpoints
    @classmethod
    def resume(cls, path: str, overrides: dict | None = None, log=None, progress_stream=None) -> "Trainer":
        """Continue the run saved in the checkpoint ``path``; ``overrides`` may change budgets and output only."""
        arrays, meta = load_checkpoint(path)
        if meta.get("kind") != CHECKPOINT_KIND:
            raise ValueError(f"train: expected a tinygrad-rnn training checkpoint, got kind {meta.get('kind')!r} "
                             f"in '{path}'")
        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        saved = meta.get("train")
        if not isinstance(saved, dict) or set(saved) != fields:
            raise ValueError(f"train: the checkpoint '{path}' holds no complete training configuration")
        config = TrainConfig(**saved)
        config.out = os.path.dirname(os.path.abspath(path))
        for key, value in (overrides or {}).items():
            if key not in RESUME_OVERRIDES:
                raise ValueError(f"train: {key} is fixed by the checkpoint and cannot change on resume")
            setattr(config, key, value)
        return cls(config, log=log, progress_stream=progress_stream,
                   _checkpoint=(arrays, meta, os.path.dirname(os.path.abspath(path))))

    def state(self) -> tuple[dict, dict]:
        """(arrays, meta) of a checkpoint of the run as it is now."""
        arrays = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        opt_arrays, opt_skel = flatten_state(self.optimizer.state_dict(), prefix="optimizer")
        sched_arrays, sched_skel = flatten_state(self.scheduler.state_dict(), prefix="scheduler")
        hidden = None if self.hidden is None else tuple(
            s.data for s in (self.hidden if isinstance(self.hidden, tuple) else (self.hidden,)))
        hid_arrays, hid_skel = flatten_state(hidden, prefix="hidden")
        arrays.update(opt_arrays, **sched_arrays, **hid_arrays)
        meta = {"kind": CHECKPOINT_KIND, "version": CHECKPOINT_VERSION, "model": self.model.config,
                "vocab": self.vocab.to_dict(), "train": dataclasses.asdict(self.config), "data": self.data_desc,
                "step": self.step, "optimizer": opt_skel, "scheduler": sched_skel, "hidden": hid_skel,
                "batcher": self.batcher.state_dict(), "rng": tg_random.get_rng_state(),
                "best_val": self.best_val, "skips_in_row": self.skips_in_row, "metrics": self.metrics}
        return arrays, meta

    def _load_state(self, arrays: dict, meta: dict) -> None:
        if meta.get("model") != self.model.config:
            raise ValueError(f"train: the checkpoint's model {meta.get('model')} does not match the rebuilt "
                             f"{self.model.config}")
        self.model.load_state_dict(model_weights(arrays, self.model.dtype, "resume"))
        missing = [k for k in ("optimizer", "scheduler", "hidden", "batcher", "rng", "step", "best_val", "metrics")
                   if k not in meta]
        if missing:
            raise ValueError(f"train: the checkpoint lacks the training state {missing}; it cannot be resumed")
        try:
            self.optimizer.load_state_dict(unflatten_state(meta["optimizer"], arrays))
            self.scheduler.load_state_dict(unflatten_state(meta["scheduler"], arrays))
            self.hidden = self._saved_hidden(unflatten_state(meta["hidden"], arrays))
            self.batcher.load_state_dict(meta["batcher"])
            tg_random.set_rng_state(meta["rng"])
        except (TypeError, KeyError, AttributeError, IndexError) as e:   # a mangled field of the JSON state
            raise ValueError(f"train: the checkpoint's training state is damaged ({type(e).__name__}: {e})") \
                from None
        step, best, skips, metrics = meta["step"], meta["best_val"], meta.get("skips_in_row", 0), meta["metrics"]
        if not (type(step) is int and step >= 0 and type(skips) is int and skips >= 0):
            raise ValueError(f"train: expected the checkpoint's step and skips_in_row to be ints >= 0, got "
                             f"{step!r} and {skips!r}")
        if best is not None and not (isinstance(best, (int, float)) and math.isfinite(best)):
            raise ValueError(f"train: expected the checkpoint's best_val to be a number or null, got {best!r}")
        if not (isinstance(metrics, dict)
                and all(isinstance(metrics.get(k), list) for k in ("train", "val", "nonfinite", "sessions"))):
            raise ValueError("train: expected the checkpoint's metrics to hold lists 'train', 'val', "
                             "'nonfinite' and 'sessions'")
        self.step, self.best_val, self.skips_in_row, self.metrics = step, best, skips, metrics

    def _saved_hidden(self, hidden):
        """The carried recurrent state read from a checkpoint, checked against the model and batch."""
        if hidden is None:
            return None
        m = self.model
        want = (m.num_layers, self.config.batch, m.hidden_size)
        count = 2 if m.cell == "lstm" else 1
        if not (isinstance(hidden, tuple) and len(hidden) == count and all(
                isinstance(h, np.ndarray) and h.shape == want and h.dtype == m.dtype for h in hidden)):
            got = [(getattr(h, "shape", h), str(getattr(h, "dtype", ""))) for h in
                   (hidden if isinstance(hidden, (tuple, list)) else [hidden])]
            raise ValueError(f"train: expected the checkpoint's hidden state to be {count} array(s) of shape "
                             f"{want} and dtype {m.dtype.name}, got {got}")
        state = tuple(Tensor(h) for h in hidden)
        return state if m.cell == "lstm" else state[0]

    def save(self, name: str) -> str | None:
        """Write the checkpoint ``out/name``; refuse (and say so) if any weight is not finite."""
        path = os.path.join(self.config.out, name)
        if not is_finite_model(self.model):
            self.log(f"not saving {path}: the weights hold NaN or inf")
            return None
        save_checkpoint(path, *self.state())
        return path

    # ------------------------------------------------------------------------------------------ steps
    def log(self, msg: str) -> None:
        if self.progress is not None:
            self.progress.clear()
        self._log(msg)

    def _nonfinite(self, what: str, value: float) -> None:
        action = "training stops" if self.config.on_nonfinite == "stop" else "update skipped"
        self.log(f"step {self.step}: non-finite {what} ({value}); {action}")
        self.metrics["nonfinite"].append({"step": self.step, "what": what, "value": str(value)})
        self.skips_in_row += 1

    def train_step(self) -> dict:
        """One TBPTT window: forward, backward, clip, update. Returns the step's record."""
        if self.batcher.position == 0:
            self.hidden = None                              # a new epoch starts each stream afresh
        x, y = next(iter(self.batcher))                     # (T, B) int64 each
        T, B = x.shape
        self.model.train()
        logits, state = self.model(x, self.hidden)          # (T, B, V)
        loss = cross_entropy(logits.reshape(T * B, -1), y.reshape(-1))
        loss_value = float(loss.item())
        self.step += 1
        record = {"step": self.step, "loss": None, "lr": float(self.optimizer.param_groups[0]["lr"]),
                  "grad_norm": None}
        if not math.isfinite(loss_value):
            self._nonfinite("loss", loss_value)
            self.hidden = None
        else:
            self.optimizer.zero_grad()
            loss.backward()
            norm = clip_grad_norm_(self.params, self.config.clip if self.config.clip > 0 else math.inf)
            record["loss"] = loss_value
            if not math.isfinite(norm):
                self._nonfinite("gradient norm", norm)
            else:
                record["grad_norm"] = float(norm)
                self.optimizer.step()
                self.skips_in_row = 0
            self.hidden = detach_state(state)
        self.optimizer.zero_grad()
        self.scheduler.step()
        return record

    def validate(self) -> dict:
        """Score the whole validation split; keep best.npz when it improves and always last.npz."""
        t0 = time.perf_counter()
        nats = evaluate(self.model, self.val_ids, streams=self.config.val_streams)
        unit = "word" if self.config.word else "char"
        if not math.isfinite(nats):
            self.log(f"step {self.step}: validation loss is {nats}; not saved")
            return {"step": self.step, "nats": None}
        rec = {"step": self.step, "nats": nats, "bits": bits(nats), "ppl": math.exp(min(nats, 700.0)),
               "seconds": time.perf_counter() - t0}
        self.metrics["val"].append(rec)
        extra = f", perplexity {rec['ppl']:.1f}" if self.config.word else ""
        improved = self.best_val is None or nats < self.best_val
        if improved:
            self.best_val = nats
        self.log(f"step {self.step}: validation {nats:.4f} nats/{unit} = {rec['bits']:.4f} bits/{unit}{extra}"
                 f"{' (best)' if improved else ''}")
        if improved:
            self.save("best.npz")
        self.save("last.npz")
        return rec

    def show_sample(self) -> str:
        """Print a sample (temperature 0.8, its own seed, so the training random stream is untouched)."""
        text = sample(self.model, self.vocab, self.config.sample_len, temperature=0.8,
                      seed=self.config.seed + self.step)
        self.log(f"--- sample at step {self.step} ---\n{text}\n---")
        return text

    def write_metrics(self, session: dict) -> None:
        doc = dict(self.metrics, sessions=self.metrics["sessions"] + [session], model=self.model.config,
                   config=dataclasses.asdict(self.config), data=self.data_desc, step=self.step,
                   best_val_nats=self.best_val)
        tmp = os.path.join(self.config.out, ".metrics.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1, allow_nan=False)
        os.replace(tmp, os.path.join(self.config.out, "metrics.json"))
        try:
            from .plots import plot_losses
            plot_losses(self.metrics, os.path.join(self.config.out, "loss.png"),
                        title=f"{self.model.cell.upper()} {self.model.num_layers}x{self.model.hidden_size}")
        except ImportError:                                  # matplotlib missing: metrics.json still written
            pass

    # -------------------------------------------------------------------------------------------- run
    def run(self) -> TrainResult:
        """Train until the step or time budget ends, Ctrl-C, or a non-finite value stops it."""
        cfg = self.config
        os.makedirs(cfg.out, exist_ok=True)
        budget = None if cfg.minutes is None else cfg.minutes * 60.0
        self.progress = Progress(cfg.steps, budget, stream=self.progress_stream, start_step=self.step)
        stop = {"requested": False}
        previous_handler = None
        if threading.current_thread() is threading.main_thread():
            def on_sigint(signum, frame):
                if stop["requested"]:                       # a second Ctrl-C interrupts at once
                    raise KeyboardInterrupt
                stop["requested"] = True
            previous_handler = signal.signal(signal.SIGINT, on_sigint)
        t_start = time.perf_counter()
        train_time, tokens, start_step = 0.0, 0, self.step
        stopped, last_sample, rate, last_loss = "done", "", 0.0, math.nan
        tokens_per_step = cfg.seq_len * cfg.batch
        in_step = False               # True while a step changes the run's state: no checkpoint then
        try:
            while True:
                if cfg.steps is not None and self.step >= cfg.steps:
                    stopped = "done"
                    break
                if budget is not None and time.perf_counter() - t_start >= budget:
                    stopped = "time"
                    break
                if stop["requested"]:
                    stopped = "interrupted"
                    break
                t0 = time.perf_counter()
                in_step = True
                record = self.train_step()
                in_step = False
                dt = time.perf_counter() - t0
                train_time += dt
                tokens += tokens_per_step
                rate = tokens / train_time
                record["tokens_per_s"] = tokens_per_step / dt
                self.metrics["train"].append(record)
                if record["loss"] is not None:
                    last_loss = record["loss"]
                self.progress.update(self.step, last_loss, rate)
                if self.metrics["nonfinite"] and self.metrics["nonfinite"][-1]["step"] == self.step and (
                        cfg.on_nonfinite == "stop" or self.skips_in_row >= cfg.max_skips):
                    stopped = "nonfinite"
                    if cfg.on_nonfinite == "skip":
                        self.log(f"step {self.step}: {self.skips_in_row} updates in a row skipped; training stops")
                    break
                if cfg.eval_every and self.step % cfg.eval_every == 0:
                    self.validate()
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    last_sample = self.show_sample()
        except KeyboardInterrupt:
            stopped = "interrupted"
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        self.progress.update(self.step, last_loss, rate, force=True)
        self.progress.clear()
        self.progress = None
        last = os.path.join(cfg.out, "last.npz")
        if in_step:
            self.log("interrupted in the middle of a training step; its state is incomplete, so the last "
                     "checkpoint saved before it is kept")
        elif not self.metrics["val"] or self.metrics["val"][-1]["step"] != self.step:
            if stopped == "interrupted":
                self.save("last.npz")
            else:
                self.validate()
        if stopped == "interrupted":
            self.log(f"interrupted at step {self.step}; continue with: tinygrad-rnn train --resume {last}")
        if cfg.sample_every and stopped != "interrupted" and (self.step % cfg.sample_every or self.step == start_step):
            last_sample = self.show_sample()
        wall = time.perf_counter() - t_start
        session = {"start_step": start_step, "end_step": self.step, "stopped": stopped, "wall_time": wall,
                   "train_time": train_time, "tokens": tokens, "tokens_per_s": rate}
        self.write_metrics(session)
        self.metrics["sessions"].append(session)
        val = self.metrics["val"][-1]["nats"] if self.metrics["val"] else None
        return TrainResult(step=self.step, stopped=stopped, val_nats=val, best_val_nats=self.best_val,
                           tokens_per_s=rate, wall_time=wall, out=cfg.out, sample=last_sample)


def train(config: TrainConfig, **kwargs) -> TrainResult:
    """Shorthand for ``Trainer(config, **kwargs).run()``."""
    return Trainer(config, **kwargs).run()


__all__ = ["TrainConfig", "TrainResult", "Trainer", "train", "load_text", "build_vocab", "vocab_from_dict",
           "load_model"]
