"""cell_zoo: LSTM, GRU and the three MUT cells of Jozefowicz et al. (2015) learn the same character task.

Every cell gets the same model around it (an Embedding, one recurrent layer, a Linear read-out), the
same text windows in the same order, the same optimizer and the same number of updates; only the cell's
equations differ (z update gate, r reset gate, as the lecture slides write them):

    LSTM  c' = f * c + i * g;  h' = o * tanh(c')
    GRU   h' = (1 - z) * tanh(W_in x + r * (W_hn h)) + z * h
    MUT1  z = sig(W_xz x);  r = sig(W_xr x + W_hr h);  h' = tanh(W_hh (r * h) + tanh(x)) * z + h * (1 - z)
    MUT2  z = sig(W_xz x + W_hz h);  r = sig(x + W_hr h);  h' = tanh(W_hh (r * h) + W_xh x) * z + h * (1 - z)
    MUT3  z = sig(W_xz x + W_hz tanh(h));  r = sig(W_xr x + W_hr h);  h' = tanh(W_hh (r * h) + W_xh x) * z + h * (1 - z)

The embedding width equals the hidden width, so MUT1's tanh(x) and MUT2's x + W_hr h use x itself.
The validation loss (nats per character on held-out text) is measured every ``eval_every`` updates.

Run:  python demos/cell_zoo.py   (writes runs/demos/cell_zoo/validation_loss.png)
"""
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim
from tinygrad_rnn.data import CharVocab, TBPTTBatcher, default_corpus, train_val_split

CELLS = ["LSTM", "GRU", "MUT1", "MUT2", "MUT3"]


@dataclass
class Config:
    corpus_chars: int = 200_000    # characters of the default corpus to use
    hidden_size: int = 64          # also the embedding width, so the MUT cells need no input projection
    batch: int = 32
    seq_len: int = 32
    steps: int = 400               # updates per cell
    lr: float = 3e-3               # Adam, the same for every cell
    max_norm: float = 5.0          # clip_grad_norm_ threshold
    eval_every: int = 50           # updates between validation measurements
    val_windows: int = 16          # validation windows per measurement
    seed: int = 0
    out: str = "runs/demos/cell_zoo"


QUICK = {"corpus_chars": 30_000, "hidden_size": 32, "steps": 60, "eval_every": 30, "val_windows": 4}


class CharModel(tg.nn.Module):
    def __init__(self, cell, vocab_size, hidden_size):
        super().__init__()
        self.embed = tg.nn.Embedding(vocab_size, hidden_size)
        self.rnn = getattr(tg.nn, cell)(hidden_size, hidden_size)
        self.head = tg.nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embed(ids), state)                # ids (T, B) -> out (T, B, H)
        return self.head(out.reshape(-1, out.shape[-1])), state       # logits (T*B, V)


def validation_loss(model, batcher, windows):
    """Mean cross-entropy (nats per character) over the first ``windows`` validation windows."""
    total, state, count = 0.0, None, min(windows, len(batcher))
    with tg.no_grad():
        for k in range(count):
            x, y = batcher.window(k)
            logits, state = model(x, state)
            total += tg.cross_entropy(logits, y.reshape(-1)).item()
    return total / count


def train(cell, vocab_size, train_ids, val, cfg):
    """Train one cell; return (update numbers, validation losses, parameter count)."""
    tg.manual_seed(cfg.seed)
    model = CharModel(cell, vocab_size, cfg.hidden_size)
    params = model.parameters()
    opt = optim.Adam(params, lr=cfg.lr)
    batches = TBPTTBatcher(train_ids, cfg.batch, cfg.seq_len)
    steps, losses = [0], [validation_loss(model, val, cfg.val_windows)]
    state, step = None, 0
    while step < cfg.steps:
        for x, y in batches:                                          # x, y (T, B) ids
            logits, state = model(x, state)
            loss = tg.cross_entropy(logits, y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(params, cfg.max_norm)
            opt.step()
            state = tg.nn.detach_state(state)
            step += 1
            if step % cfg.eval_every == 0 or step == cfg.steps:
                steps.append(step)
                losses.append(validation_loss(model, val, cfg.val_windows))
            if step == cfg.steps:
                break
        state = None                                                  # a new epoch starts from zero
    return steps, losses, sum(p.size for p in params)


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)

    # --- data: the first 90% for training, the rest for validation
    text = default_corpus(max_chars=cfg.corpus_chars).text
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), 0.1)
    val = TBPTTBatcher(val_ids, cfg.batch, cfg.seq_len)
    uniform = float(np.log(len(vocab)))
    print(f"{len(train_ids):,} training and {len(val_ids):,} validation characters, vocabulary {len(vocab)}; "
          f"uniform guessing costs {uniform:.3f} nats per character")

    # --- one run per cell
    results = {}
    for cell in CELLS:
        steps, losses, n_params = train(cell, len(vocab), train_ids, val, cfg)
        results[cell] = {"steps": steps, "val_losses": losses, "val_loss": losses[-1], "parameters": n_params}
        print(f"{cell:5s}: {n_params:6,} parameters, validation loss {losses[0]:.3f} -> {losses[-1]:.3f} "
              f"nats per character after {steps[-1]} updates")

    # --- side by side
    print("\nvalidation loss after training, best first:")
    for cell in sorted(CELLS, key=lambda c: results[c]["val_loss"]):
        print(f"  {cell:5s} {results[cell]['val_loss']:.3f}")

    # --- figure: the validation curves
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for cell in CELLS:
        ax.plot(results[cell]["steps"], results[cell]["val_losses"], marker="o", ms=3,
                label=f"{cell} ({results[cell]['val_loss']:.3f})")
    ax.axhline(uniform, color="gray", ls="--", label="uniform guessing")
    ax.set_xlabel("update")
    ax.set_ylabel("validation loss, nats per character")
    ax.set_title(f"one recurrent layer, hidden {cfg.hidden_size}, batch {cfg.batch} x {cfg.seq_len} characters")
    ax.legend()
    save_figure(fig, out / "validation_loss.png")
    print(f"wrote {out / 'validation_loss.png'}")
    results["uniform"] = uniform
    return results


if __name__ == "__main__":
    main()
