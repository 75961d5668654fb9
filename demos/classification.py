"""classification: sentence sentiment with an RNN, against a bag-of-words baseline, one and two directions.

The demo writes its own labelled data: templated movie reviews such as

    "the plot was not good at all"                  -> negative
    "the music was bad but the acting was great"    -> positive   (the clause after "but" decides)

Negation flips a sentiment word and "but" makes the second clause win, so the label depends on word order.
A bag of words (logistic regression on word counts) sees "not" and "good" but not which comes first, and
"bad ... but ... great" has the same words as "great ... but ... bad". An RNN reads the order:

    h_t = GRU(embed(w_t), h_{t-1});  p(label) = softmax(W h_T)          (one direction)
    p(label) = softmax(W [h_T(forward) ; h_1(backward)])                  (bidirectional)

Sentences have different lengths; they are padded and the GRU gets ``lengths=`` so each sentence's final
state is taken at its own last word. All three models are trained with the same engine and optimizer.
Here the bag of words stays near chance (the label is an exclusive-or of "not" and the sentiment word), and
one direction is already enough: the forward state at the last word has read the whole review, so the
backward direction can only make learning faster, not the end result better.

Run:  python demos/classification.py   (writes runs/demos/classification/accuracy.png)
"""
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim

SUBJECTS = ["the movie", "the plot", "the acting", "the music", "the ending", "the cast", "the script"]
POSITIVE = ["good", "great", "fun", "moving", "clever", "superb"]
NEGATIVE = ["bad", "dull", "boring", "awful", "silly", "weak"]
INTENSIFIERS = ["", "very ", "really ", "quite "]
TAILS = ["", " at all", " overall", " to me", " in the end"]


@dataclass
class Config:
    train_size: int = 4000
    test_size: int = 1000
    embed_size: int = 16
    hidden_size: int = 32
    epochs: int = 6
    batch: int = 32
    lr: float = 1e-2
    seed: int = 0
    out: str = "runs/demos/classification"


QUICK = {"train_size": 1200, "test_size": 400, "epochs": 3}


# --------------------------------------------------------------------------- the data set
def clause(rng):
    """One clause and its sentiment (+1 or -1): subject, "was", maybe "not", maybe an intensifier, a word."""
    positive = rng.random() < 0.5
    word = rng.choice(POSITIVE if positive else NEGATIVE)
    negated = rng.random() < 0.5
    text = f"{rng.choice(SUBJECTS)} was {'not ' if negated else ''}{rng.choice(INTENSIFIERS)}{word}"
    return text, (1 if positive else -1) * (-1 if negated else 1)


def sentence(rng):
    """A review and its label (1 positive, 0 negative); with "but", the second clause decides."""
    first, sentiment = clause(rng)
    if rng.random() < 0.5:
        second, sentiment = clause(rng)
        first = f"{first} but {second}"
    return first + rng.choice(TAILS), int(sentiment > 0)


def make_data(rng, size):
    pairs = [sentence(rng) for _ in range(size)]
    return [p[0].split() for p in pairs], np.array([p[1] for p in pairs])


# --------------------------------------------------------------------------- the models
class BagOfWords(tg.nn.Module):
    """Logistic regression on word counts: p(label) = softmax(W counts + b)."""

    def __init__(self, vocab_size):
        super().__init__()
        self.linear = tg.nn.Linear(vocab_size, 2)

    def forward(self, ids, lengths):
        counts = np.zeros((ids.shape[1], self.linear.in_features), np.float32)   # (B, V)
        for b in range(ids.shape[1]):
            np.add.at(counts[b], ids[:lengths[b], b], 1.0)
        return self.linear(tg.Tensor(counts))


class RNNClassifier(tg.nn.Module):
    def __init__(self, vocab_size, cfg, bidirectional):
        super().__init__()
        self.embed = tg.nn.Embedding(vocab_size, cfg.embed_size)
        self.rnn = tg.nn.GRU(cfg.embed_size, cfg.hidden_size, bidirectional=bidirectional)
        self.head = tg.nn.Linear(cfg.hidden_size * (2 if bidirectional else 1), 2)

    def forward(self, ids, lengths):
        _, h_n = self.rnn(self.embed(ids), lengths=lengths)      # ids (T, B) -> h_n (D, B, H)
        final = h_n[0] if h_n.shape[0] == 1 else tg.cat([h_n[0], h_n[1]], axis=1)    # (B, D*H)
        return self.head(final)


def pad(sentences, index):
    """Word lists -> ids (T_max, B) int64 padded with 0, lengths (B,)."""
    lengths = np.array([len(s) for s in sentences])
    ids = np.zeros((lengths.max(), len(sentences)), np.int64)
    for b, words in enumerate(sentences):
        ids[:len(words), b] = [index[w] for w in words]
    return ids, lengths


def accuracy(model, sentences, labels, index):
    with tg.no_grad():
        ids, lengths = pad(sentences, index)
        return float((model(ids, lengths).numpy().argmax(axis=1) == labels).mean())


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)

    # --- data: training and held-out reviews from separate generators
    train_x, train_y = make_data(np.random.default_rng(cfg.seed), cfg.train_size)
    test_x, test_y = make_data(np.random.default_rng(cfg.seed + 1000), cfg.test_size)
    words = sorted({w for s in train_x + test_x for w in s})
    index = {w: i for i, w in enumerate(words)}
    print(f"{len(train_x)} training and {len(test_x)} test reviews, {len(words)} words, "
          f"{train_y.mean():.0%} positive; e.g.")
    for s, y in zip(train_x[:4], train_y[:4]):
        print(f"  {'positive' if y else 'negative'}: {' '.join(s)}")

    # --- training: the same loop, optimizer and epochs for the three models
    makers = {"bag of words": lambda: BagOfWords(len(words)),
              "GRU, one direction": lambda: RNNClassifier(len(words), cfg, bidirectional=False),
              "GRU, bidirectional": lambda: RNNClassifier(len(words), cfg, bidirectional=True)}
    results, curves = {}, {}
    for name, make in makers.items():
        tg.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        model = make()
        opt = optim.Adam(model.parameters(), lr=cfg.lr)
        curve = []
        for _ in range(cfg.epochs):
            order = rng.permutation(len(train_x))
            for start in range(0, len(order), cfg.batch):
                batch = order[start:start + cfg.batch]
                ids, lengths = pad([train_x[i] for i in batch], index)
                loss = tg.cross_entropy(model(ids, lengths), train_y[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
            curve.append(accuracy(model, test_x, test_y, index))
        curves[name] = curve
        results[name] = {"train_accuracy": accuracy(model, train_x, train_y, index), "test_accuracy": curve[-1]}
        print(f"{name:20s}: test accuracy {curve[-1]:.3f}, training accuracy {results[name]['train_accuracy']:.3f}")

    print("chance is 0.5: with negation the label is the sign of the sentiment word times that of 'not', which no "
          "weighted sum of word counts can compute")

    # --- figure: held-out accuracy after each epoch
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=name)
    ax.axhline(0.5, color="gray", ls="--", label="chance")
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0.4, 1.01)
    ax.legend()
    save_figure(fig, out / "accuracy.png")
    print(f"wrote {out / 'accuracy.png'}")
    return results


if __name__ == "__main__":
    main()
