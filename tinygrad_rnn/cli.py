"""The ``tinygrad-rnn`` command (also ``python -m tinygrad_rnn``): train, sample, eval, export, ngram.

    tinygrad-rnn train                        # LSTM on the built-in stdlib corpus, a few minutes on a laptop
    tinygrad-rnn train --data input.txt --cell gru --hidden 128 --steps 1200
    tinygrad-rnn train --resume runs/lstm-1x256-stdlib/last.npz --steps 1200
    tinygrad-rnn sample runs/lstm-1x256-stdlib/best.npz --prime "def " --temperature 0.7
    tinygrad-rnn eval runs/lstm-1x256-stdlib/best.npz --data other.txt
    tinygrad-rnn export runs/lstm-1x256-stdlib/best.npz
    tinygrad-rnn ngram --order 6              # the Kneser-Ney baseline on the same split

Bad input (a missing, empty, too short or non-UTF-8 file, a corrupt checkpoint, text the checkpoint's
vocabulary lacks) gives one line on stderr and exit code 2; Ctrl-C during training saves ``last.npz`` and
exits with 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with what the user asked for, reported as one line and exit code 2."""


# --------------------------------------------------------------------------------------------- parser

def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _nonneg_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .training.trainer import OPTIMIZERS, SCHEDULES, TrainConfig
    d = TrainConfig()
    parser = argparse.ArgumentParser(prog="tinygrad-rnn", description="Character- and word-level recurrent "
                                     "language models on the tinygrad_rnn autograd engine.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    # every train option defaults to None, so a resumed run can tell which ones were given
    t = sub.add_parser("train", help="train a language model (default: LSTM on the stdlib corpus)",
                       description="Train with truncated BPTT; writes best.npz, last.npz, metrics.json and "
                                   "loss.png to --out. Ctrl-C saves last.npz and exits.")
    t.add_argument("--data", metavar="FILE", help="UTF-8 text file (default: Python's stdlib source)")
    t.add_argument("--max-chars", type=_positive_int,
                   help="use the first N characters (default: all of --data, 600,000 of the stdlib corpus)")
    t.add_argument("--word", action="store_true", default=None, help="word-level tokens instead of characters")
    t.add_argument("--max-vocab", type=_positive_int, help=f"word level: keep N tokens (default {d.max_vocab})")
    t.add_argument("--val-fraction", type=float, help=f"validation split at the end (default {d.val_fraction})")
    t.add_argument("--cell", choices=("lstm", "gru", "rnn"), help=f"recurrent cell (default {d.cell})")
    t.add_argument("--layers", type=_positive_int, help=f"stacked layers (default {d.layers})")
    t.add_argument("--hidden", type=_positive_int, help=f"hidden size (default {d.hidden})")
    t.add_argument("--embedding", type=_nonneg_int, help=f"embedding size, 0 for one-hot (default {d.embedding})")
    t.add_argument("--dropout", type=float, help=f"dropout between layers (default {d.dropout})")
    t.add_argument("--seq-len", type=_positive_int, help=f"BPTT window length (default {d.seq_len})")
    t.add_argument("--batch", type=_positive_int, help=f"parallel streams (default {d.batch})")
    t.add_argument("--optimizer", choices=tuple(OPTIMIZERS), help=f"(default {d.optimizer})")
    t.add_argument("--lr", type=float, help=f"learning rate (default {d.lr})")
    t.add_argument("--schedule", choices=SCHEDULES,
                   help=f"lr schedule: cosine to 10%% at the last step, step halves it each quarter "
                        f"(default {d.schedule}; constant with --minutes alone)")
    t.add_argument("--clip", type=float, help=f"max gradient norm, 0 for none (default {d.clip})")
    t.add_argument("--steps", type=_positive_int, help=f"total steps, counting resumed ones (default {d.steps})")
    t.add_argument("--minutes", type=float, help="time budget of this session (alone: no step budget)")
    t.add_argument("--eval-every", type=_nonneg_int, help=f"validate every N steps (default {d.eval_every})")
    t.add_argument("--val-streams", type=_positive_int,
                   help="read the validation split as N parallel pieces (faster, slightly pessimistic; "
                        "default 1: one exact stream)")
    t.add_argument("--sample-every", type=_nonneg_int, help=f"print a sample every N steps (default {d.sample_every})")
    t.add_argument("--sample-len", type=_positive_int, help=f"tokens per sample (default {d.sample_len})")
    t.add_argument("--out", metavar="DIR", help="output directory (default runs/<name>)")
    t.add_argument("--seed", type=_nonneg_int, help=f"random seed (default {d.seed})")
    t.add_argument("--on-nonfinite", choices=("skip", "stop"),
                   help="on a NaN/inf loss or gradient: skip the update or stop (default skip)")
    t.add_argument("--max-skips", type=_positive_int, help=f"stop after N skips in a row (default {d.max_skips})")
    t.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT")
    t.add_argument("--detect-anomaly", action="store_true",
                   help="check every op's output and gradient for NaN/inf and stop at the first, naming the op "
                        "(slower; the last checkpoint is kept)")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="generate text from a checkpoint")
    s.add_argument("checkpoint")
    s.add_argument("--length", type=_nonneg_int, default=500, help="tokens to generate (default 500)")
    s.add_argument("--temperature", type=float, default=0.8, help="> 0; lower is more conservative (default 0.8)")
    s.add_argument("--top-k", type=_positive_int, default=None, help="sample among the k most likely tokens")
    s.add_argument("--greedy", action="store_true", help="always take the most likely token")
    s.add_argument("--prime", default="", help="text to start from (printed first)")
    s.add_argument("--seed", type=_nonneg_int, default=None, help="random seed for repeatable samples")
    s.set_defaults(func=cmd_sample)

    e = sub.add_parser("eval", help="validation loss of a checkpoint on a text file")
    e.add_argument("checkpoint")
    e.add_argument("--data", metavar="FILE", help="UTF-8 text to score (default: the checkpoint's own "
                                                  "validation split)")
    e.add_argument("--streams", type=_positive_int, default=1, help="parallel pieces (default 1: exact)")
    e.set_defaults(func=cmd_eval)

    x = sub.add_parser("export", help="write a checkpoint's weights under PyTorch's state_dict names")
    x.add_argument("checkpoint")
    x.add_argument("--out", metavar="FILE.npz", help="default: <checkpoint>-torch.npz beside the checkpoint")
    x.set_defaults(func=cmd_export)

    n = sub.add_parser("ngram", help="Kneser-Ney n-gram baselines of orders 1..N on the training split")
    n.add_argument("--data", metavar="FILE", help="UTF-8 text file (default: Python's stdlib source)")
    n.add_argument("--max-chars", type=_positive_int, default=None,
                   help="use the first N characters (default: all of --data, 600,000 of the stdlib corpus)")
    n.add_argument("--order", type=_positive_int, default=6, help="highest order (default 6)")
    n.add_argument("--word", action="store_true", help="word-level tokens")
    n.add_argument("--max-vocab", type=_positive_int, default=d.max_vocab)
    n.add_argument("--val-fraction", type=float, default=d.val_fraction)
    n.set_defaults(func=cmd_ngram)
    return parser


# ------------------------------------------------------------------------------------------- commands

def _default_out(cfg) -> str:
    source = "stdlib" if cfg.data is None else os.path.splitext(os.path.basename(cfg.data))[0] or "data"
    name = f"{cfg.cell}-{cfg.layers}x{cfg.hidden}-{source}" + ("-word" if cfg.word else "")
    out, k = os.path.join("runs", name), 1
    while any(os.path.exists(os.path.join(out, f)) for f in ("last.npz", "best.npz")):
        k += 1
        out = os.path.join("runs", f"{name}-{k}")
    return out


def cmd_train(args) -> int:
    from .training.trainer import RESUME_OVERRIDES, TrainConfig, Trainer
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    if args.resume:
        fixed = sorted(k for k in given if k not in RESUME_OVERRIDES)
        if fixed:
            allowed = ", ".join("--" + k.replace("_", "-") for k in RESUME_OVERRIDES)
            raise UsageError(f"{', '.join('--' + k.replace('_', '-') for k in fixed)} cannot change when "
                             f"resuming (the checkpoint fixes them); allowed with --resume: {allowed}")
        trainer = Trainer.resume(args.resume, given)    # --minutes alone keeps the saved step budget too
    else:
        if "minutes" in given and "steps" not in given:
            given["steps"] = None                     # a time budget alone
            given.setdefault("schedule", "constant")
        cfg = TrainConfig(**given)
        if cfg.out is None:
            cfg.out = _default_out(cfg)
        trainer = Trainer(cfg)
    cfg = trainer.config
    unit = "word" if cfg.word else "char"
    print(f"data: {trainer.data_desc['source']} {trainer.data_desc.get('path', '')}".rstrip()
          + f", {trainer.data_desc['n_chars']:,} characters, {len(trainer.vocab)} {unit} vocabulary, "
          f"{trainer.data_desc['n_train']:,} train / {trainer.data_desc['n_val']:,} validation tokens")
    n_params = sum(p.size for p in trainer.params)
    print(f"model: {cfg.cell.upper()} {cfg.layers}x{cfg.hidden}, embedding {cfg.embedding or 'one-hot'}, "
          f"{n_params:,} parameters; {cfg.optimizer} lr {cfg.lr} ({cfg.schedule}), batch {cfg.batch} x "
          f"seq {cfg.seq_len}, output {cfg.out}", flush=True)
    if trainer.step:
        print(f"resuming at step {trainer.step}", flush=True)
    if args.detect_anomaly:
        from .autograd import detect_anomaly
        with detect_anomaly():
            result = trainer.run()
    else:
        result = trainer.run()
    from .training.evaluate import bits
    from .training.progress import format_seconds
    val = "" if result.val_nats is None else (
        f"; validation {result.val_nats:.4f} nats/{unit} ({bits(result.val_nats):.4f} bits/{unit}),"
        f" best {result.best_val_nats:.4f}")
    print(f"{result.stopped}: step {result.step} in {format_seconds(result.wall_time)} "
          f"({result.tokens_per_s:,.0f} tokens/s){val}")
    print(f"saved: {os.path.join(cfg.out, 'best.npz')}, last.npz, metrics.json, loss.png")
    if result.stopped == "interrupted":
        return EXIT_INTERRUPTED
    return 1 if result.stopped == "nonfinite" else 0


def cmd_sample(args) -> int:
    from .training.sampling import sample
    from .training.trainer import load_model
    model, vocab, _ = load_model(args.checkpoint)
    text = sample(model, vocab, args.length, temperature=args.temperature, top_k=args.top_k,
                  greedy=args.greedy, prime=args.prime, seed=args.seed)
    sys.stdout.write(text + "\n")
    return 0


def _unseen_symbol(vocab, text: str, path: str) -> None:
    from .data import CharVocab
    if isinstance(vocab, CharVocab) and vocab.unknown == "error":
        known = set(vocab.tokens)
        for i, ch in enumerate(text):
            if ch not in known:
                raise UsageError(f"'{path}' has the character {ch!r} at position {i}, which the checkpoint's "
                                 f"vocabulary of {len(vocab)} characters lacks (the model was trained on "
                                 f"other text)")


def cmd_eval(args) -> int:
    from .data import read_text, train_val_split
    from .training.evaluate import bits, evaluate
    from .training.trainer import TrainConfig, load_model, load_text
    model, vocab, meta = load_model(args.checkpoint)
    if args.data is not None:
        text, what = read_text(args.data), f"'{args.data}'"
        _unseen_symbol(vocab, text, args.data)
        ids = vocab.encode(text)
    else:
        cfg = TrainConfig(**meta["train"])
        text, desc = load_text(cfg)
        if desc["sha256"] != meta["data"].get("sha256"):
            raise UsageError("the checkpoint's training text has changed since it was trained; pass --data FILE")
        ids = train_val_split(vocab.encode(text), cfg.val_fraction)[1]
        what = "the checkpoint's validation split"
    if ids.size < 2:
        raise UsageError(f"{what} holds {ids.size} token(s); at least 2 are needed to score one prediction")
    nats = evaluate(model, ids, streams=args.streams)
    unit = "char" if type(vocab).__name__ == "CharVocab" else "word"
    line = f"{what}: {ids.size:,} {unit}s, {nats:.4f} nats/{unit}, {bits(nats):.4f} bits/{unit}"
    if unit == "word":
        import math
        line += f", perplexity {math.exp(min(nats, 700.0)):.2f}"
    print(line)
    return 0


def cmd_export(args) -> int:
    from .training.export import export_model, torch_snippet
    from .training.trainer import load_model
    model, vocab, _ = load_model(args.checkpoint)
    out = args.out or os.path.splitext(args.checkpoint)[0] + "-torch.npz"
    paths = export_model(model, vocab, out)
    print("wrote " + ", ".join(paths.values()))
    if "pt" not in paths:
        print("(torch is not installed, so no .pt file; the .npz loads into torch just the same)")
    print("\n# load into PyTorch:\n" + torch_snippet(model.config, paths["npz"]))
    return 0


def cmd_ngram(args) -> int:
    from .data import train_val_split
    from .training.evaluate import bits
    from .training.ngram import KneserNeyLM
    from .training.trainer import TrainConfig, build_vocab, load_text
    cfg = TrainConfig(data=args.data, max_chars=args.max_chars, word=args.word, max_vocab=args.max_vocab,
                      val_fraction=args.val_fraction)
    cfg.check()
    text, desc = load_text(cfg)
    vocab = build_vocab(text, cfg.word, cfg.max_vocab)
    train_ids, val_ids = train_val_split(vocab.encode(text), cfg.val_fraction)
    unit = "word" if cfg.word else "char"
    print(f"Kneser-Ney on {len(train_ids):,} train / {len(val_ids):,} validation {unit}s "
          f"(vocabulary {len(vocab)}); validation loss:")
    for order in range(1, args.order + 1):
        nats = KneserNeyLM(order, len(vocab)).fit(train_ids).evaluate(val_ids)
        print(f"  order {order}: {nats:.4f} nats/{unit}  {bits(nats):.4f} bits/{unit}", flush=True)
    return 0


# ----------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:                            # --help, or argparse's own usage error (code 2)
        return int(e.code or 0)
    from .training.checkpoint import CheckpointError
    try:
        return args.func(args)
    except (UsageError, CheckpointError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
            PermissionError, ValueError) as e:
        print(f"tinygrad-rnn {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except FloatingPointError as e:                    # --detect-anomaly found a NaN/inf
        print(f"tinygrad-rnn {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:                          # outside the training loop: nothing to save
        print(f"tinygrad-rnn {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run() -> int:
    """The ``tinygrad-rnn`` program: :func:`main` on ``sys.argv``.

    It leaves the C library's malloc as it is: a training step's large arrays come from
    :mod:`tinygrad_rnn.autograd.buffers`, which reuses the last step's memory, so glibc's settings for keeping
    freed memory no longer pay here (:mod:`tinygrad_rnn.training.memory` has the measurement).
    """
    return main()


if __name__ == "__main__":
    sys.exit(run())
