"""optimizers: SGD, momentum, Adagrad, RMSprop and Adam train the same small character language model.

Every run starts from the same initial weights and sees the same windows of text in the same order; only
the update rule differs (written as in tinygrad_rnn.optim, PyTorch's forms):

    SGD       p -= lr g
    Momentum  b = mu b + g;  p -= lr b
    Adagrad   s += g^2;  p -= lr g / (sqrt(s) + eps)
    RMSprop   v = a v + (1 - a) g^2;  p -= lr g / (sqrt(v) + eps)
    Adam      m, v = running means of g and g^2 (bias-corrected);  p -= lr m / (sqrt(v) + eps)

The model: an Embedding, a one-layer LSTM and a Linear read-out, trained with truncated BPTT on the default
corpus (the hidden state carries on, detached, from one window to the next), the gradient norm clipped at 5.
The learning rates are each method's usual good values for such a model, not tuned per run.

Run:  python demos/optimizers.py   (writes runs/demos/optimizers/loss_curves.png)
"""
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim
from tinygrad_rnn.data import CharVocab, TBPTTBatcher, default_corpus, train_val_split


@dataclass
class Config:
    corpus_chars: int = 300_000    # characters of the default corpus to use
    embed_size: int = 32
    hidden_size: int = 128
    batch: int = 32
    seq_len: int = 32
    steps: int = 400               # updates per optimizer
    sgd_lr: float = 1.0
    momentum_lr: float = 0.1
    momentum: float = 0.9
    adagrad_lr: float = 0.1
    rmsprop_lr: float = 2e-3
    adam_lr: float = 2e-3
    max_norm: float = 5.0          # clip_grad_norm_ threshold for every run
    val_windows: int = 20          # validation windows evaluated at the end
    seed: int = 0
    out: str = "runs/demos/optimizers"


QUICK = {"corpus_chars": 30_000, "hidden_size": 64, "steps": 40, "val_windows": 4}


class CharLM(tg.nn.Module):
    def __init__(self, vocab_size, cfg):
        super().__init__()
        self.embed = tg.nn.Embedding(vocab_size, cfg.embed_size)
        self.lstm = tg.nn.LSTM(cfg.embed_size, cfg.hidden_size)
        self.head = tg.nn.Linear(cfg.hidden_size, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.lstm(self.embed(ids), state)               # ids (T, B) -> out (T, B, H)
        return self.head(out.reshape(-1, out.shape[-1])), state       # logits (T*B, V)


def make_optimizer(name, params, cfg):
    if name == "SGD":
        return optim.SGD(params, lr=cfg.sgd_lr)
    if name == "Momentum":
        return optim.SGD(params, lr=cfg.momentum_lr, momentum=cfg.momentum)
    if name == "Adagrad":
        return optim.Adagrad(params, lr=cfg.adagrad_lr)
    if name == "RMSprop":
        return optim.RMSprop(params, lr=cfg.rmsprop_lr)
    return optim.Adam(params, lr=cfg.adam_lr)


def validation_loss(model, batcher, windows):
    """Mean cross-entropy (nats per character) over the first ``windows`` validation windows."""
    total, state = 0.0, None
    with tg.no_grad():
        for k in range(min(windows, len(batcher))):
            x, y = batcher.window(k)
            logits, state = model(x, state)
            total += tg.cross_entropy(logits, y.reshape(-1)).item()
    return total / min(windows, len(batcher))


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)

    # --- data: the first 90% for training, the rest for validation
    text = default_corpus(max_chars=cfg.corpus_chars).text
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), 0.1)
    val = TBPTTBatcher(val_ids, cfg.batch, cfg.seq_len)
    print(f"{len(train_ids):,} training and {len(val_ids):,} validation characters, vocabulary {len(vocab)}; "
          f"uniform guessing costs {np.log(len(vocab)):.3f} nats per character")

    # --- one initial model, copied into every run
    tg.manual_seed(cfg.seed)
    initial = CharLM(len(vocab), cfg).state_dict()

    names = ["SGD", "Momentum", "Adagrad", "RMSprop", "Adam"]
    curves, results = {}, {}
    for name in names:
        model = CharLM(len(vocab), cfg)
        model.load_state_dict(initial)
        params = model.parameters()
        opt = make_optimizer(name, params, cfg)
        train = TBPTTBatcher(train_ids, cfg.batch, cfg.seq_len)
        losses, state = [], None
        while len(losses) < cfg.steps:
            for x, y in train:                                          # x, y (T, B) ids
                logits, state = model(x, state)
                loss = tg.cross_entropy(logits, y.reshape(-1))
                opt.zero_grad()
                loss.backward()
                optim.clip_grad_norm_(params, cfg.max_norm)
                opt.step()
                state = tg.nn.detach_state(state)
                losses.append(loss.item())
                if len(losses) == cfg.steps:
                    break
            state = None                                                # a new epoch starts from zero
        curves[name] = np.array(losses)
        val_loss = validation_loss(model, val, cfg.val_windows)
        results[name] = {"first_loss": float(np.mean(losses[:10])), "final_loss": float(np.mean(losses[-20:])),
                         "val_loss": val_loss}
        print(f"{name:9s}: training loss {results[name]['first_loss']:.3f} -> {results[name]['final_loss']:.3f} "
              f"(mean of the last 20 steps), validation {val_loss:.3f} nats per character")

    # --- figure: the five training curves
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    window = max(1, cfg.steps // 40)
    for name, losses in curves.items():
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(len(smooth)) + window, smooth, label=f"{name} (validation {results[name]['val_loss']:.2f})")
    ax.axhline(np.log(len(vocab)), color="gray", ls="--", label="uniform guessing")
    ax.set_xlabel("update")
    ax.set_ylabel(f"training loss, nats per character (moving mean of {window})")
    ax.set_title(f"character LSTM, hidden {cfg.hidden_size}, batch {cfg.batch} x {cfg.seq_len} characters")
    ax.legend()
    save_figure(fig, out / "loss_curves.png")
    print(f"wrote {out / 'loss_curves.png'}")
    return results


if __name__ == "__main__":
    main()
