"""ngram_vs_neural: Kneser-Ney n-grams of orders 1..7 against a tanh RNN, an LSTM and a GRU, on one split.

Every model predicts the next character of the same validation text (the last 10% of the corpus) after
learning from the same training text (the first 90%); the score is the mean negative log-likelihood

    loss = -(1/N) sum_t log p(x_t | x_<t)          nats per character (bits = nats / ln 2)

An n-gram model looks at the last n-1 characters only, and counts: interpolated Kneser-Ney
(tinygrad_rnn.training.KneserNeyLM) mixes the counts of every order down to the unigram. A recurrent
network carries a state through the whole text, so it can use context of any length (a quote opened three
lines ago, the indentation of a block), but must learn from gradients what to keep. Which wins depends on
the network's size and training time against the amount of text: counting is exact after one pass, while
a small network trained for minutes on a CPU is still far from what it could learn.

Run:  python demos/ngram_vs_neural.py [--data FILE]    (writes validation_loss.png and results.md to --out)
"""
from dataclasses import dataclass
import math
import os
import time

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads

from tinygrad_rnn.training import KneserNeyLM, TrainConfig, Trainer, evaluate

CELL_NAMES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}


@dataclass
class Config:
    data: str = ""                  # a UTF-8 text file ("": the stdlib corpus)
    max_chars: int = 600_000        # characters of the text: 90% train, 10% validation
    max_order: int = 7              # n-gram orders 1..max_order
    cells: str = "rnn,lstm,gru"
    layers: int = 1
    hidden: int = 128               # the same size for every cell (the LSTM has 4/3 the GRU's weights)
    embedding: int = 32
    seq_len: int = 64
    batch: int = 32
    lr: float = 3e-3
    steps: int = 800                # training steps per network
    val_streams: int = 8            # for the progress evaluations; the final score reads one exact stream
    seed: int = 0
    out: str = "runs/demos/ngram_vs_neural"


QUICK = {"max_chars": 40_000, "max_order": 4, "hidden": 48, "embedding": 16, "seq_len": 32, "batch": 16,
         "lr": 1e-2, "steps": 120}


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    cells = [c.strip() for c in cfg.cells.split(",") if c.strip()]

    # --- one Trainer per cell: the same text, vocabulary and split for all (and for the n-grams)
    trainers = {}
    for cell in cells:
        run_dir = out / cell
        for name in ("best.npz", "last.npz"):              # each run of the demo starts afresh
            if (run_dir / name).exists():
                os.remove(run_dir / name)
        trainers[cell] = Trainer(TrainConfig(
            data=cfg.data or None, max_chars=cfg.max_chars, cell=cell, layers=cfg.layers, hidden=cfg.hidden,
            embedding=cfg.embedding, seq_len=cfg.seq_len, batch=cfg.batch, lr=cfg.lr, steps=cfg.steps,
            eval_every=max(1, cfg.steps // 4), val_streams=cfg.val_streams, sample_every=0, seed=cfg.seed,
            out=str(run_dir)), log=lambda msg: None)
    first = trainers[cells[0]]
    train_ids, val_ids, V = first.train_ids, first.val_ids, len(first.vocab)
    print(f"{len(train_ids):,} training / {len(val_ids):,} validation characters, vocabulary {V}; "
          f"uniform guessing costs {math.log(V):.3f} nats/char")

    # --- the n-grams: count once per order, score the validation text
    ngram = {}
    for order in range(1, cfg.max_order + 1):
        t0 = time.perf_counter()
        ngram[order] = KneserNeyLM(order, V).fit(train_ids).evaluate(val_ids)
        print(f"Kneser-Ney order {order}: {ngram[order]:.4f} nats/char ({time.perf_counter() - t0:.1f} s)")

    # --- the networks: train, then score the validation text as one stream from a zero state
    neural, seconds, n_params = {}, {}, {}
    for cell, trainer in trainers.items():
        result = trainer.run()
        neural[cell] = evaluate(trainer.model, val_ids)
        seconds[cell] = result.wall_time
        n_params[cell] = sum(p.size for p in trainer.params)
        print(f"{CELL_NAMES[cell]} {cfg.layers}x{cfg.hidden} ({n_params[cell]:,} weights), {cfg.steps} steps in "
              f"{result.wall_time:.0f} s: {neural[cell]:.4f} nats/char")

    # --- the table
    rows = [("uniform guessing", math.log(V), "")]
    rows += [(f"Kneser-Ney, order {n}", nats, f"context {n - 1} chars") for n, nats in ngram.items()]
    rows += [(f"{CELL_NAMES[c]} {cfg.layers}x{cfg.hidden}", nats, f"{n_params[c]:,} weights, {cfg.steps} steps, "
              f"{seconds[c]:.0f} s") for c, nats in neural.items()]
    table = ["| model | nats/char | bits/char | notes |", "|---|---:|---:|---|"]
    table += [f"| {name} | {nats:.4f} | {nats / math.log(2):.4f} | {note} |" for name, nats, note in rows]
    print("\n" + "\n".join(table))
    (out / "results.md").write_text(
        f"Validation loss on {len(val_ids):,} characters (trained on {len(train_ids):,}).\n\n"
        + "\n".join(table) + "\n", encoding="utf-8")

    # --- the figure: n-gram loss against order, the networks as horizontal lines
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    orders = list(ngram)
    ax.plot(orders, [ngram[n] for n in orders], "o-", color="black", label="Kneser-Ney n-gram")
    for (cell, nats), colour in zip(neural.items(), ("tab:red", "tab:blue", "tab:green")):
        ax.axhline(nats, color=colour, ls="--", label=f"{CELL_NAMES[cell]} {cfg.layers}x{cfg.hidden}: {nats:.3f}")
    ax.set_xlabel("n-gram order (context of n - 1 characters)")
    ax.set_ylabel("validation loss, nats per character")
    ax.set_title(f"next-character prediction, {cfg.steps} training steps per network")
    ax.set_xticks(orders)
    ax.grid(True, alpha=0.3)
    ax.legend()
    save_figure(fig, out / "validation_loss.png")
    print(f"wrote {out / 'results.md'}, validation_loss.png")
    return {"ngram": ngram, "neural": neural, "uniform": math.log(V), "n_val": len(val_ids),
            "seconds": seconds}


if __name__ == "__main__":
    main()
