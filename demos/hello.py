"""hello: a character RNN with a four-letter vocabulary [h, e, l, o] learns the sequence "hello".

The smallest example of a recurrent network: inputs are one-hot letters, and at each step the network
predicts the next letter. The second "l" must be followed by "o", not by another "l", so the answer cannot
come from the current letter alone: the hidden state has to remember how far into the word it is.

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)        x_t one-hot (4,), h_t (H,)
    y_t = W_hy h_t + b_y                                      scores for the next letter (4,)

Run:  python demos/hello.py            (writes runs/demos/hello/predictions.png)
"""
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim

VOCAB = ["h", "e", "l", "o"]   # the order of the lecture's example, so one-hot index 0 is "h"
WORD = "hello"


@dataclass
class Config:
    hidden_size: int = 8
    steps: int = 300          # full-batch Adam steps on the one sequence
    lr: float = 0.05
    seed: int = 0
    out: str = "runs/demos/hello"


QUICK = {"steps": 150}


def one_hot(text):
    """(len(text), 4) float32 rows, one per letter."""
    return np.eye(len(VOCAB), dtype=np.float32)[[VOCAB.index(c) for c in text]]


class CharRNN(tg.nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.rnn = tg.nn.RNN(len(VOCAB), hidden_size)
        self.head = tg.nn.Linear(hidden_size, len(VOCAB))

    def forward(self, x, h=None):
        output, h = self.rnn(x, h)            # x (T, 4) unbatched -> output (T, H), h (1, H)
        return self.head(output), h           # logits (T, 4)


def predictions(model, text):
    """Softmax over the next letter after each letter of ``text``: (len(text), 4)."""
    with tg.no_grad():
        logits, _ = model(tg.Tensor(one_hot(text)))
        return tg.softmax(logits).numpy().copy()


def generate(model, first, length):
    """Greedy generation: feed ``first``, then each predicted letter back in."""
    text, h = first, None
    with tg.no_grad():
        for _ in range(length - 1):
            logits, h = model(tg.Tensor(one_hot(text[-1])), h)   # one step: (1, 4) in, (1, 4) out
            text += VOCAB[int(logits.numpy()[0].argmax())]
    return text


def print_table(title, inputs, probs):
    print(f"\n{title}")
    print("  input  target   " + "  ".join(f"p({c})" for c in VOCAB))
    for t, (c, target) in enumerate(zip(inputs, WORD[1:])):
        row = "  ".join(f"{p:5.2f}" for p in probs[t])
        guess = VOCAB[int(probs[t].argmax())]
        print(f"    {c}      {target}     {row}   -> {guess}{'' if guess == target else '  (wrong)'}")


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    tg.manual_seed(cfg.seed)
    inputs, targets = WORD[:-1], WORD[1:]                         # "hell" -> "ello"
    x = tg.Tensor(one_hot(inputs))                                # (4, 4): four steps of one-hot letters
    y = np.array([VOCAB.index(c) for c in targets])               # (4,) target ids

    # --- the inputs
    print("one-hot inputs (rows: time steps, columns: h e l o)")
    for c, row in zip(inputs, x.numpy()):
        print(f"  {c}  {row.astype(int).tolist()}")

    # --- before training
    model = CharRNN(cfg.hidden_size)
    before = predictions(model, inputs)
    loss_before = float(-np.log(before[np.arange(len(y)), y]).mean())
    print_table(f"before training (loss {loss_before:.3f} nats; uniform guessing is {np.log(4):.3f})",
                inputs, before)

    # --- training: cross-entropy of the four next-letter predictions
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    for _ in range(cfg.steps):
        logits, _ = model(x)
        loss = tg.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    # --- after training
    after = predictions(model, inputs)
    loss_after = float(-np.log(after[np.arange(len(y)), y]).mean())
    print_table(f"after {cfg.steps} steps (loss {loss_after:.4f} nats)", inputs, after)
    generated = generate(model, "h", len(WORD))
    print(f"\ngenerated from 'h': {generated!r}")

    # --- figure: the predicted distributions before and after, as heat maps
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
    for ax, probs, title in ((axes[0], before, "before training"), (axes[1], after, "after training")):
        ax.imshow(probs.T, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(inputs)), [f"{a}->{b}" for a, b in zip(inputs, targets)])
        ax.set_yticks(range(len(VOCAB)), VOCAB)
        ax.set_xlabel("input -> target")
        ax.set_ylabel("predicted next letter")
        ax.set_title(title)
        for t in range(len(inputs)):
            for k in range(len(VOCAB)):
                ax.text(t, k, f"{probs[t, k]:.2f}", ha="center", va="center",
                        color="black" if probs[t, k] > 0.6 else "white", fontsize=8)
    save_figure(fig, out / "predictions.png")
    print(f"wrote {out / 'predictions.png'}")
    return {"loss_before": loss_before, "loss_after": loss_after, "generated": generated,
            "probs_before": before, "probs_after": after}


if __name__ == "__main__":
    main()
