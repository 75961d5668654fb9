"""seq2seq: an encoder-decoder RNN learns to reverse a sequence of symbols, without and with attention.

The encoder reads the source (many-to-one) and hands its last state to the decoder, which writes the
reversed sequence one symbol at a time (one-to-many), each step fed the previous symbol:

    encoder:  e_s = GRU(embed(x_s), e_{s-1}),  s = 1..S                    e_S is all the decoder gets
    decoder:  d_t = GRU(embed(y_{t-1}), d_{t-1}),  d_0 = e_S,  y_0 = START
              p(y_t) = softmax(W d_t)                                      without attention
              a_t = softmax_s(d_t . e_s),  c_t = sum_s a_ts e_s
              p(y_t) = softmax(W [d_t ; c_t])                              with (dot) attention

Training uses teacher forcing: y_{t-1} is the true previous symbol. At test time the decoder is fed its own
greedy guesses, and a sequence counts as right only if every symbol is. Without attention the whole source
must squeeze through e_S; with attention output t can look straight at source position S + 1 - t, and the
heat map of a_ts shows that anti-diagonal.

Run:  python demos/seq2seq.py   (writes runs/demos/seq2seq/attention.png and loss.png)
"""
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim


@dataclass
class Config:
    symbols: int = 10          # distinct symbols in a sequence (plus one START token)
    length: int = 8            # source and target length
    embed_size: int = 32
    hidden_size: int = 128
    steps: int = 1500          # Adam steps for each of the two models
    batch: int = 64
    lr: float = 3e-3
    test_size: int = 1000      # held-out sequences (drawn from their own generator)
    seed: int = 0
    out: str = "runs/demos/seq2seq"


QUICK = {"length": 5, "hidden_size": 64, "steps": 250, "test_size": 200}


class Seq2Seq(tg.nn.Module):
    def __init__(self, cfg, attention):
        super().__init__()
        self.attention = attention
        self.start = cfg.symbols                                   # id of the START token
        self.src_embed = tg.nn.Embedding(cfg.symbols, cfg.embed_size)
        self.tgt_embed = tg.nn.Embedding(cfg.symbols + 1, cfg.embed_size)
        self.encoder = tg.nn.GRU(cfg.embed_size, cfg.hidden_size, batch_first=True)
        self.decoder = tg.nn.GRU(cfg.embed_size, cfg.hidden_size, batch_first=True)
        self.head = tg.nn.Linear(cfg.hidden_size * (2 if attention else 1), cfg.symbols)

    def encode(self, src):
        """src (B, S) ids -> encoder outputs (B, S, H) and last state (1, B, H)."""
        return self.encoder(self.src_embed(src))

    def decode(self, prev, state, memory):
        """prev (B, T) ids fed to the decoder, state (1, B, H), memory (B, S, H) ->
        logits (B, T, V), new state, attention weights (B, T, S) or None."""
        out, state = self.decoder(self.tgt_embed(prev), state)     # out (B, T, H)
        if not self.attention:
            return self.head(out), state, None
        scores = out @ memory.transpose(1, 2)                      # (B, T, H) @ (B, H, S) -> (B, T, S)
        weights = tg.softmax(scores, axis=-1)
        context = weights @ memory                                 # (B, T, S) @ (B, S, H) -> (B, T, H)
        return self.head(tg.cat([out, context], axis=2)), state, weights

    def loss(self, src, tgt):
        """Teacher forcing: the decoder reads START, tgt[:, :-1] and predicts tgt."""
        memory, state = self.encode(src)
        prev = np.concatenate([np.full((len(tgt), 1), self.start), tgt[:, :-1]], axis=1)   # (B, T)
        logits, _, _ = self.decode(prev, state, memory)
        return tg.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))

    def greedy(self, src):
        """Decode src (B, S) feeding back its own argmax; returns ids (B, S) and attention (B, S, S) or None."""
        with tg.no_grad():
            memory, state = self.encode(src)
            prev = np.full((len(src), 1), self.start)
            ids, attn = [], []
            for _ in range(src.shape[1]):
                logits, state, weights = self.decode(prev, state, memory)     # one step: T = 1
                prev = logits.numpy()[:, 0].argmax(axis=1)[:, None]            # (B, 1)
                ids.append(prev[:, 0])
                if weights is not None:
                    attn.append(weights.numpy()[:, 0])
        return np.stack(ids, axis=1), (np.stack(attn, axis=1) if attn else None)


def batch_of(rng, cfg, size):
    src = rng.integers(0, cfg.symbols, (size, cfg.length))
    return src, src[:, ::-1].copy()                                # target: the source reversed


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    test_src, test_tgt = batch_of(np.random.default_rng(cfg.seed + 1000), cfg, cfg.test_size)
    results, curves = {}, {}
    plt = pyplot()

    for attention in (False, True):
        name = "attention" if attention else "plain"
        # --- training with teacher forcing
        tg.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        model = Seq2Seq(cfg, attention)
        opt = optim.Adam(model.parameters(), lr=cfg.lr)
        losses = []
        for _ in range(cfg.steps):
            src, tgt = batch_of(rng, cfg, cfg.batch)
            loss = model.loss(src, tgt)
            opt.zero_grad()
            loss.backward()
            optim.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            losses.append(loss.item())
        curves[name] = losses

        # --- greedy decoding of held-out sequences
        guess, attn = model.greedy(test_src)
        exact = float((guess == test_tgt).all(axis=1).mean())
        per_symbol = float((guess == test_tgt).mean())
        results[name] = {"exact_match": exact, "symbol_accuracy": per_symbol, "final_loss": np.mean(losses[-50:])}
        print(f"{name:9s}: exact match {exact:.3f}, symbols right {per_symbol:.3f} (chance {1 / cfg.symbols:.2f}), "
              f"training loss of the last 50 steps {np.mean(losses[-50:]):.4f}")
        print(f"           e.g. {test_src[0].tolist()} -> {guess[0].tolist()}")

        if attention:
            # share of attention on the mirrored source position S - 1 - t, over all test sequences
            mirror = attn[:, np.arange(cfg.length), np.arange(cfg.length)[::-1]].mean()
            results[name]["mirror_attention"] = float(mirror)
            print(f"           mean attention on the mirrored source position: {mirror:.3f}")
            fig, ax = plt.subplots(figsize=(5, 4.5))
            ax.imshow(attn[0], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(cfg.length), [str(s) for s in test_src[0]])
            ax.set_yticks(range(cfg.length), [str(s) for s in guess[0]])
            ax.set_xlabel("source symbol")
            ax.set_ylabel("output symbol")
            ax.set_title("attention weights a_ts")
            save_figure(fig, out / "attention.png")

    # --- loss curves
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, losses in curves.items():
        ax.semilogy(losses, label=f"{name}: exact match {results[name]['exact_match']:.2f}")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("cross-entropy per symbol (teacher forcing)")
    ax.set_title(f"reversing {cfg.length} symbols")
    ax.legend()
    save_figure(fig, out / "loss.png")
    print(f"wrote {out / 'attention.png'} and {out / 'loss.png'}")
    return results


if __name__ == "__main__":
    main()
