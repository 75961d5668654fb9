"""Language-model quality on tinyshakespeare: validation nats/char after a token or wall-clock budget, ours vs PyTorch.

The protocol (the same for every contender, so figures can be set side by side):

* Data: ``/work/shared/data/tinyshakespeare.txt`` (``../shared/data/`` beside the repository; ``--data``
  overrides; a missing file stops the script with a message saying where it looked).
  Vocabulary = the sorted distinct characters of the whole file (65). First 90% of the characters train
  (1,003,854), the last 10% validate (111,540).
* Batches: the training split cut into B = 64 contiguous streams, windows of T = 100 steps taken in order
  (``TBPTTBatcher``); the hidden state is carried from window to window, detached, and reset to zero when
  an epoch starts.
* Model: Embedding 64 -> 2-layer LSTM 256 -> Linear to the vocabulary (no dropout), float32.
  Variants: ``--cell gru --layers 2 --hidden 256``, ``--cell lstm --layers 1 --hidden 512``,
  ``--cell rnn --layers 1 --hidden 256`` (tanh).
* Optimisation: mean cross-entropy per window; gradient 2-norm clipped to 5; Adam (0.9, 0.999, eps 1e-8),
  learning rate 2e-3 * (0.1 + 0.9 * (1 + cos(pi * p)) / 2), where p in [0, 1] is the fraction of the
  budget used before the step: p = max(tokens / --tokens, training seconds / (60 * --minutes)) with
  whichever budgets are given. Training stops when p reaches 1. The schedule therefore decays to 10% at
  the end of the budget, whether that is counted in tokens or in time.
* Validation loss: mean cross-entropy in nats/char of every character of the validation split after
  its first, read as ONE stream from a zero state (chunks of 512 steps, state carried), in eval mode.
* Sample: 300 characters at temperature 0.8 after a newline, seed 0.

``--torch`` trains the same protocol in PyTorch in the same process with the same thread count, from the
same initial weights (ours, copied) on the same windows. With a ``--minutes`` budget PyTorch trains twice:
for the same minutes (equal wall clock) and for the number of tokens ours reached (equal tokens); with
``--tokens`` alone, once for the same tokens. Each trained PyTorch model is also scored by our evaluator
and ours by PyTorch's, so a difference in the evaluators themselves would show.

Reference figures, PyTorch 2.13 CPU, 2 threads, this protocol (nats/char on the validation split):

    LSTM 2x256   1.491 after 12.3M training tokens (about 6 minutes at 34k tokens/s)
    GRU  2x256   1.481 after  8.6M
    LSTM 1x512   1.485 after  8.8M
    RNN  1x256   1.585 after 52.7M (tanh)
    interpolated Kneser-Ney 7-gram (count-based): 1.517

    python benchmarks/lm_quality.py --threads 2 --minutes 8 --torch
    python benchmarks/lm_quality.py --threads 2 --cell gru --tokens 2000000
    python benchmarks/lm_quality.py --threads 2 --minutes 8 --torch-only
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import configure_threads  # noqa: E402  (must run before NumPy is imported)

THREADS = configure_threads(os.cpu_count() or 1)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from common import format_table, machine_header, try_import_torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "tinyshakespeare.txt"))
EMBEDDING, SEQ_LEN, BATCH, LR, CLIP, VAL_FRACTION = 64, 100, 64, 2e-3, 5.0, 0.1
FINAL_LR_FACTOR = 0.1
EVAL_CHUNK = 512
SAMPLE_LEN, SAMPLE_TEMPERATURE = 300, 0.8
REPORT_EVERY_S = 30.0
# (cell, layers, hidden) -> (PyTorch reference nats/char, training tokens it took)
REFERENCE = {("lstm", 2, 256): (1.491, 12.3e6), ("gru", 2, 256): (1.481, 8.6e6),
             ("lstm", 1, 512): (1.485, 8.8e6), ("rnn", 1, 256): (1.585, 52.7e6)}
KN7_NATS = 1.517


def lr_at(progress):
    """Cosine from LR at progress 0 to FINAL_LR_FACTOR * LR at progress 1."""
    p = min(max(progress, 0.0), 1.0)
    return LR * (FINAL_LR_FACTOR + (1.0 - FINAL_LR_FACTOR) * 0.5 * (1.0 + math.cos(math.pi * p)))


class Budget:
    """Fraction of a token and/or wall-clock budget used; whichever is further along counts."""

    def __init__(self, tokens=None, seconds=None):
        if tokens is None and seconds is None:
            raise ValueError("lm_quality: expected a budget (--tokens and/or --minutes), got neither")
        self.tokens, self.seconds = tokens, seconds

    def progress(self, tokens, seconds):
        parts = []
        if self.tokens is not None:
            parts.append(tokens / self.tokens)
        if self.seconds is not None:
            parts.append(seconds / self.seconds)
        return max(parts)

    def describe(self):
        parts = []
        if self.tokens is not None:
            parts.append(f"{self.tokens / 1e6:.2f}M tokens")
        if self.seconds is not None:
            parts.append(f"{self.seconds / 60:.2f} min")
        return " or ".join(parts)


# ---------------------------------------------------------------------------------------------- data
def load_data(path):
    """(vocab, train ids, val ids, text description); exits with a message if the file is absent."""
    from tinygrad_rnn.data import CharVocab, read_text, train_val_split
    if not os.path.isfile(path):
        sys.exit(f"lm_quality: expected the tinyshakespeare text file at '{path}', got no file there; "
                 f"pass --data PATH to a UTF-8 text file")
    text = read_text(path)
    vocab = CharVocab.from_text(text)                    # sorted characters of the whole file
    ids = vocab.encode(text)                             # (N,) int64
    train_ids, val_ids = train_val_split(ids, VAL_FRACTION)
    return vocab, train_ids, val_ids, {"path": path, "n_chars": len(text), "vocab": len(vocab),
                                       "n_train": int(train_ids.size), "n_val": int(val_ids.size)}


# ------------------------------------------------------------------------------------ the two sides
class Ours:
    """tinygrad_rnn: CharLM, Adam, clip_grad_norm_, cross_entropy."""

    name = "ours"

    def __init__(self, model):
        import tinygrad_rnn as tg
        from tinygrad_rnn.nn import detach_state
        from tinygrad_rnn.optim import Adam, clip_grad_norm_
        self.tg, self.detach_state, self.clip = tg, detach_state, clip_grad_norm_
        self.model = model
        self.params = model.parameters()
        self.optimizer = Adam(self.params, lr=LR)
        self.state = None

    def reset_state(self):
        self.state = None

    def step(self, x, y, lr):
        """One window: forward (T, B) -> (T, B, V), mean cross-entropy, backward, clip, Adam. Returns the loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        T, B = x.shape
        logits, state = self.model(x, self.state)                               # (T, B, V)
        loss = self.tg.cross_entropy(logits.reshape(T * B, -1), y.reshape(-1))
        self.optimizer.zero_grad()
        loss.backward()
        self.clip(self.params, CLIP)
        self.optimizer.step()
        self.state = self.detach_state(state)
        return float(loss.item())

    def lm(self):
        """The trained model as a CharLM."""
        return self.model


class TorchSide:
    """PyTorch: nn.Embedding + nn.LSTM/GRU/RNN + nn.Linear under the same names, from our initial weights,
    or with ``own_init_seed`` from PyTorch's own initialisation after ``torch.manual_seed(own_init_seed)``."""

    name = "torch"

    def __init__(self, torch, ours_model, own_init_seed=None):
        self.torch = torch
        m = ours_model
        stack = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[m.cell]
        if own_init_seed is not None:
            torch.manual_seed(own_init_seed)
        self.model = torch.nn.Module()
        self.model.embedding = torch.nn.Embedding(m.vocab_size, m.embedding_dim)
        self.model.rnn = stack(m.embedding_dim, m.hidden_size, num_layers=m.num_layers)
        self.model.decoder = torch.nn.Linear(m.hidden_size, m.vocab_size)
        if own_init_seed is None:
            self.model.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.config = m.config
        self.state = None

    def forward(self, x, state):
        out, state = self.model.rnn(self.model.embedding(x), state)             # (T, B, H)
        return self.model.decoder(out), state                                   # (T, B, V)

    def reset_state(self):
        self.state = None

    def step(self, x, y, lr):
        torch = self.torch
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        T, B = x.shape
        logits, state = self.forward(torch.from_numpy(x), self.state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(T * B, -1), torch.from_numpy(y).reshape(-1))
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.optimizer.step()
        self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return float(loss.item())

    def evaluate(self, ids):
        """PyTorch's own score of the stream: mean nats per predicted token, one stream from a zero state."""
        torch = self.torch
        ids_t = torch.from_numpy(np.ascontiguousarray(ids, dtype=np.int64))
        total, state = 0.0, None
        with torch.no_grad():
            for s in range(0, ids_t.numel() - 1, EVAL_CHUNK):
                x = ids_t[s: min(s + EVAL_CHUNK, ids_t.numel() - 1)]
                y = ids_t[s + 1: s + 1 + x.numel()]
                logits, state = self.forward(x[:, None], state)                 # (T, 1, V)
                total += float(torch.nn.functional.cross_entropy(logits[:, 0], y, reduction="sum"))
        return total / (ids_t.numel() - 1)

    def load_weights_from(self, lm):
        self.model.load_state_dict({k: self.torch.from_numpy(v) for k, v in lm.state_dict().items()})

    def lm(self):
        """The trained weights in a CharLM (for our evaluator and sampler)."""
        from tinygrad_rnn.training import CharLM
        lm = CharLM.from_config(self.config)
        lm.load_state_dict({k: v.detach().numpy() for k, v in self.model.state_dict().items()})
        return lm


# ------------------------------------------------------------------------------------------ training
def train(side, train_ids, budget, label, val_ids=None, val_every=None):
    """Train ``side`` until the budget is used; returns figures of the run: ``curve``, the train loss every
    50 steps, and ``val_curve``, with ``val_every`` the validation loss every that many steps (evaluation
    time is not training time)."""
    from tinygrad_rnn.data import TBPTTBatcher
    batcher = TBPTTBatcher(train_ids, BATCH, SEQ_LEN)
    tokens_per_step = BATCH * SEQ_LEN
    steps, tokens, seconds, curve, val_curve, window_losses = 0, 0, 0.0, [], [], []
    last_report = 0.0
    start = time.perf_counter()
    while budget.progress(tokens, seconds) < 1.0:
        if batcher.position == 0:
            side.reset_state()                       # a new epoch starts every stream from a zero state
        x, y = next(iter(batcher))                   # (T, B) int64 each
        loss = side.step(x, y, lr_at(budget.progress(tokens, seconds)))
        if not math.isfinite(loss):
            raise FloatingPointError(f"lm_quality: {label}: expected a finite training loss, got {loss} at "
                                     f"step {steps + 1}")
        steps += 1
        tokens += tokens_per_step
        seconds = time.perf_counter() - start
        window_losses.append(loss)
        if steps % 50 == 0:
            curve.append({"step": steps, "tokens": tokens, "seconds": round(seconds, 2),
                          "train_nats": round(float(np.mean(window_losses)), 4)})
            window_losses = []
        if val_every and steps % val_every == 0:
            paused = time.perf_counter()
            val = validation_nats(side.lm(), val_ids)
            val_curve.append({"step": steps, "tokens": tokens, "seconds": round(seconds, 2), "val_nats": round(val, 4)})
            print(f"  {label}: step {steps}  validation {val:.4f} nats/char", file=sys.stderr, flush=True)
            start += time.perf_counter() - paused
        if seconds - last_report >= REPORT_EVERY_S:
            last_report = seconds
            print(f"  {label}: step {steps}  {tokens / 1e6:.2f}M tokens  {seconds:.0f} s  loss {loss:.3f}  "
                  f"{tokens / seconds:,.0f} tokens/s  lr {lr_at(budget.progress(tokens, seconds)):.2e}",
                  file=sys.stderr, flush=True)
    return {"steps": steps, "tokens": tokens, "train_seconds": seconds,
            "tokens_per_s": tokens / seconds if seconds else None, "epochs": tokens / (len(batcher) *
                                                                                 tokens_per_step),
            "last_train_nats": curve[-1]["train_nats"] if curve else None, "curve": curve, "val_curve": val_curve}


def validation_nats(lm, val_ids):
    """Mean nats/char of the validation split under the CharLM ``lm`` (our evaluator)."""
    from tinygrad_rnn.training import evaluate
    return evaluate(lm, val_ids, chunk_len=EVAL_CHUNK)


def score(side, val_ids, vocab, torch_side=None):
    """Validation loss by our evaluator (and PyTorch's when a PyTorch side is given), and a sample."""
    from tinygrad_rnn.training import sample
    lm = side.lm()
    t0 = time.perf_counter()
    val = validation_nats(lm, val_ids)
    figures = {"val_nats": val, "val_bits": val / math.log(2.0), "eval_seconds": time.perf_counter() - t0}
    if torch_side is not None:
        if torch_side is not side:
            torch_side.load_weights_from(lm)
        figures["val_nats_by_torch"] = torch_side.evaluate(val_ids)
    figures["sample"] = sample(lm, vocab, SAMPLE_LEN, temperature=SAMPLE_TEMPERATURE, seed=0)
    return figures


def run_one(side, train_ids, val_ids, vocab, budget, label, torch_side, val_every=None):
    print(f"\n--- {label}: training for {budget.describe()}", flush=True)
    figures = train(side, train_ids, budget, label, val_ids, val_every)
    figures.update(score(side, val_ids, vocab, torch_side))
    figures.update(label=label, impl=side.name, budget=budget.describe())
    print(f"{label}: {figures['tokens'] / 1e6:.2f}M tokens in {figures['train_seconds']:.0f} s "
          f"({figures['tokens_per_s']:,.0f} tokens/s, {figures['epochs']:.2f} epochs); validation "
          f"{figures['val_nats']:.4f} nats/char ({figures['val_bits']:.4f} bits/char), evaluated in "
          f"{figures['eval_seconds']:.1f} s", flush=True)
    if "val_nats_by_torch" in figures:
        print(f"  the same weights scored by PyTorch: {figures['val_nats_by_torch']:.4f} nats/char")
    print(f"--- sample ({SAMPLE_LEN} characters, temperature {SAMPLE_TEMPERATURE}):\n{figures['sample']}\n---",
          flush=True)
    return figures


# -------------------------------------------------------------------------------------------- main
def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=THREADS, help="BLAS/numba/torch threads (default: all cores)")
    p.add_argument("--data", default=DEFAULT_DATA, help="UTF-8 text file (default: tinyshakespeare)")
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--tokens", type=float, help="training-token budget (e.g. 12.3e6)")
    p.add_argument("--minutes", type=float, help="wall-clock training budget in minutes")
    p.add_argument("--torch", action="store_true", help="also train PyTorch on the same protocol")
    p.add_argument("--torch-only", action="store_true", help="train PyTorch alone")
    p.add_argument("--no-equal-tokens", action="store_true",
                   help="with --minutes and --torch: skip PyTorch's run at the token count ours reached")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    p.add_argument("--torch-init", action="store_true",
                   help="PyTorch starts from its own initialisation (torch.manual_seed(--seed)) instead of "
                        "a copy of ours: the spread of PyTorch's own seeds under this protocol")
    p.add_argument("--val-every", type=int, metavar="STEPS",
                   help="also score the validation split every STEPS steps (a learning curve; the time it "
                        "takes is not counted as training time)")
    p.add_argument("--out", help="JSON file (default: benchmarks/results/lm_quality_<cell>_<layers>x<hidden>.json)")
    args = p.parse_args()
    if args.tokens is None and args.minutes is None:
        p.error("expected a budget: --tokens N and/or --minutes M")
    if (args.tokens is not None and args.tokens < SEQ_LEN * BATCH) or (args.minutes is not None and args.minutes <= 0):
        p.error(f"expected --tokens >= {SEQ_LEN * BATCH} (one window) and --minutes > 0, got "
                f"{args.tokens} and {args.minutes}")
    if args.layers < 1 or args.hidden < 1:
        p.error(f"expected --layers >= 1 and --hidden >= 1, got {args.layers} and {args.hidden}")
    return args


def main():
    args = parse_args()
    from tinygrad_rnn.autograd import random as tg_random
    from tinygrad_rnn.training import CharLM

    vocab, train_ids, val_ids, data_desc = load_data(args.data)
    torch = try_import_torch() if (args.torch or args.torch_only) else None
    if args.torch_init and not (args.torch or args.torch_only):
        sys.exit("lm_quality: --torch-init expects --torch or --torch-only")
    if (args.torch or args.torch_only) and torch is None:
        sys.exit("lm_quality: expected PyTorch for --torch/--torch-only, got no importable torch")
    if torch is not None:
        torch.set_num_threads(args.threads)
    print("\n".join(machine_header(args.threads)))
    if torch is not None:
        print(f"torch {torch.__version__}  threads {torch.get_num_threads()}")
    print(f"data: {data_desc}")
    cfg = (args.cell, args.layers, args.hidden)
    print(f"model: Embedding {EMBEDDING} -> {args.layers}-layer {args.cell.upper()} {args.hidden} -> Linear "
          f"{len(vocab)}; T={SEQ_LEN} B={BATCH} Adam {LR} cosine to {FINAL_LR_FACTOR:.0%}, clip {CLIP}")

    def fresh_model():
        tg_random.manual_seed(args.seed)
        return CharLM(len(vocab), cell=args.cell, hidden_size=args.hidden, num_layers=args.layers,
                      embedding_dim=EMBEDDING)

    seconds = None if args.minutes is None else args.minutes * 60.0
    budget = Budget(args.tokens, seconds)
    runs = []
    scorer = TorchSide(torch, fresh_model()) if torch is not None else None   # PyTorch's evaluator
    if not args.torch_only:
        runs.append(run_one(Ours(fresh_model()), train_ids, val_ids, vocab, budget, "ours", scorer, args.val_every))
    if torch is not None:
        side = TorchSide(torch, fresh_model(), args.seed if args.torch_init else None)
        label = "torch (own init)" if args.torch_init else "torch"
        runs.append(run_one(side, train_ids, val_ids, vocab, budget, label, side, args.val_every))
        if not args.torch_only and args.minutes is not None and not args.no_equal_tokens:
            equal = Budget(tokens=runs[0]["tokens"])
            side = TorchSide(torch, fresh_model())
            runs.append(run_one(side, train_ids, val_ids, vocab, equal, "torch@ours-tokens", side))

    ref = REFERENCE.get(cfg)
    rows = [[r["label"], f"{r['tokens'] / 1e6:.2f}", f"{r['train_seconds']:.0f}", f"{r['tokens_per_s']:,.0f}",
             f"{r['val_nats']:.4f}", f"{r.get('val_nats_by_torch', float('nan')):.4f}"] for r in runs]
    if ref is not None:
        rows.append(["reference (torch)", f"{ref[1] / 1e6:.2f}", None, None, f"{ref[0]:.3f}", None])
    rows.append(["KN 7-gram", None, None, None, f"{KN7_NATS:.3f}", None])
    print("\n" + format_table(["run", "M tokens", "train s", "tokens/s", "val nats", "by torch"], rows))

    out = args.out or os.path.join(HERE, "results", f"lm_quality_{args.cell}_{args.layers}x{args.hidden}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    doc = {"protocol": {"cell": args.cell, "layers": args.layers, "hidden": args.hidden, "embedding": EMBEDDING,
                        "seq_len": SEQ_LEN, "batch": BATCH, "lr": LR, "final_lr_factor": FINAL_LR_FACTOR,
                        "clip": CLIP, "budget": budget.describe(), "seed": args.seed,
                        "torch_init": "torch" if args.torch_init else "ours"},
           "data": data_desc, "machine": machine_header(args.threads),
           "torch": None if torch is None else torch.__version__,
           "reference": None if ref is None else {"val_nats": ref[0], "tokens": ref[1]}, "runs": runs}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
