"""char_lm: a multilayer character LSTM language model, sampled as it learns and at three temperatures.

The model reads text one character at a time and predicts the next one (tinygrad_rnn.training.CharLM):

    e_t = E[x_t];   h_t, c_t = LSTM stack(e_t, h_{t-1}, c_{t-1});   p(x_{t+1} | x_<=t) = softmax(W h_t + b)

trained by truncated BPTT on the default corpus (Python's standard-library source) or on any --data file,
with the library's Trainer (Adam, cosine learning rate, gradient clipping, checkpoints). Training stops at
fractions of the step budget (--sample-at, by default 10%, 30% and 100%) to draw samples at temperatures
0.5, 1.0 and 1.5: p ~ softmax(logits / temperature), so a low temperature repeats the likeliest text and a
high one invents more (and misspells more). The lr schedule is the whole run's, whatever the stops.

Run:  python demos/char_lm.py [--data FILE]   (writes samples.txt, samples.html, loss.png, best.npz to --out)
      then e.g.  tinygrad-rnn sample runs/demos/char_lm/best.npz --prime "def " --temperature 0.7
"""
from dataclasses import dataclass
import html
import math
import os
import time

from _common import output_dir, parse_config  # first: it sets BLAS threads before NumPy loads

from tinygrad_rnn.training import TrainConfig, Trainer, evaluate, sample


@dataclass
class Config:
    data: str = ""                  # a UTF-8 text file ("": the stdlib corpus)
    max_chars: int = 600_000        # characters of the text to use: 90% train, 10% validation
    layers: int = 2
    hidden: int = 128
    embedding: int = 32
    dropout: float = 0.0            # between the layers and before the decoder
    seq_len: int = 64               # BPTT window
    batch: int = 32                 # parallel streams
    lr: float = 3e-3                # Adam; cosine to 10% of it over the whole budget
    steps: int = 1500               # step budget of the whole run
    eval_every: int = 250
    val_streams: int = 8            # validation split read as 8 pieces side by side (faster)
    sample_at: str = "0.1,0.3,1.0"  # fractions of the budget after which to sample (the end always is one)
    temperatures: str = "0.5,1.0,1.5"
    sample_len: int = 300           # characters per sample
    prime: str = ""                 # text each sample starts from ("": a newline)
    seed: int = 0
    out: str = "runs/demos/char_lm"


QUICK = {"max_chars": 60_000, "hidden": 64, "embedding": 16, "seq_len": 32, "batch": 16, "lr": 1e-2,
         "steps": 300, "eval_every": 100, "sample_len": 120}


def floats(text):
    return [float(x) for x in text.split(",") if x.strip()]


def write_html(path, samples, temperatures, title):
    """samples.html: one row per training stop, one column per temperature."""
    head = "".join(f"<th>temperature {t}</th>" for t in temperatures)
    rows = []
    for (step, val), by_t in samples.items():
        cells = "".join(f"<td><pre>{html.escape(by_t[t])}</pre></td>" for t in temperatures)
        rows.append(f"<tr><th>step {step}<br>validation {val:.3f}<br>nats/char</th>{cells}</tr>")
    page = ("<!doctype html><meta charset='utf-8'><title>char_lm samples</title>\n<style>"
            "td,th{vertical-align:top;border:1px solid #ccc;padding:4px} pre{white-space:pre-wrap;"
            "font:12px monospace;max-width:32em}</style>\n"
            f"<h1>{html.escape(title)}</h1>\n<table><tr><th></th>{head}</tr>\n" + "\n".join(rows) + "</table>\n")
    path.write_text(page, encoding="utf-8")


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    temperatures, fractions = floats(cfg.temperatures), floats(cfg.sample_at)
    stops = sorted({max(1, min(cfg.steps, round(f * cfg.steps))) for f in fractions} | {cfg.steps})
    t_start = time.perf_counter()

    # --- data and model: the Trainer reads the text, builds the vocabulary, the split and the LSTM
    train_cfg = TrainConfig(data=cfg.data or None, max_chars=cfg.max_chars, cell="lstm", layers=cfg.layers,
                            hidden=cfg.hidden, embedding=cfg.embedding, dropout=cfg.dropout, seq_len=cfg.seq_len,
                            batch=cfg.batch, lr=cfg.lr, steps=cfg.steps, eval_every=cfg.eval_every,
                            val_streams=cfg.val_streams, sample_every=0, seed=cfg.seed, out=str(out))
    for name in ("best.npz", "last.npz"):                  # each run of the demo starts afresh in --out
        if (out / name).exists():
            os.remove(out / name)
    trainer = Trainer(train_cfg)
    vocab = trainer.vocab
    n_params = sum(p.size for p in trainer.params)
    uniform = math.log(len(vocab))
    initial = evaluate(trainer.model, trainer.val_ids, streams=cfg.val_streams)
    print(f"{trainer.data_desc['n_train']:,} training / {trainer.data_desc['n_val']:,} validation characters, "
          f"vocabulary {len(vocab)}; LSTM {cfg.layers}x{cfg.hidden}, {n_params:,} parameters")
    print(f"before training: validation {initial:.3f} nats/char (uniform guessing: {uniform:.3f})")

    # --- train in sessions that end at the sampling stops; each session validates and saves at its end
    samples, val_at = {}, {}
    for stop in stops:
        trainer.config.steps = stop                        # where this session ends; the schedule keeps cfg.steps
        result = trainer.run()
        val_at[stop] = result.val_nats
        by_t = {t: sample(trainer.model, vocab, cfg.sample_len, temperature=t, prime=cfg.prime, seed=cfg.seed)
                for t in temperatures}
        samples[(stop, result.val_nats)] = by_t
        for t in temperatures:
            print(f"\n--- step {stop}/{cfg.steps} (validation {result.val_nats:.3f}), temperature {t} ---")
            print(by_t[t])
    train_seconds = time.perf_counter() - t_start

    # --- how likely the model finds its own samples: lower temperature, likelier text
    final = samples[max(samples)]
    sample_nats = {t: evaluate(trainer.model, vocab.encode(final[t])) for t in temperatures}
    print("\nthe final model's loss on its own final samples: "
          + ", ".join(f"temperature {t}: {n:.3f}" for t, n in sample_nats.items()) + " nats/char")

    # --- samples.txt and samples.html
    lines = []
    for (step, val), by_t in samples.items():
        for t in temperatures:
            lines += [f"=== step {step}/{cfg.steps}, validation {val:.3f} nats/char, temperature {t} ===",
                      by_t[t], ""]
    (out / "samples.txt").write_text("\n".join(lines), encoding="utf-8")
    write_html(out / "samples.html", samples, temperatures,
               f"LSTM {cfg.layers}x{cfg.hidden} on {trainer.data_desc['source']}, {cfg.steps} steps")
    lr_last = trainer.metrics["train"][-1]["lr"]
    print(f"\nvalidation {initial:.3f} -> {val_at[cfg.steps]:.3f} nats/char "
          f"({val_at[cfg.steps] / math.log(2):.3f} bits/char) in {train_seconds:.0f} s")
    print(f"wrote {out / 'samples.txt'}, samples.html, loss.png (by the Trainer), best.npz, last.npz")
    return {"initial_val": initial, "uniform": uniform, "val_at": val_at, "final_val": val_at[cfg.steps],
            "samples": samples, "sample_nats": sample_nats, "lr_last": lr_last, "lr": cfg.lr,
            "seconds": train_seconds}


if __name__ == "__main__":
    main()
