"""captioning: an RNN writes a sentence about a synthetic image, the image's features fed in at every step.

Images are drawn with NumPy: one coloured shape (red, green, blue or yellow; square, disc or triangle) in
one of four corners, at a jittered place and size, on a noisy background. The caption is a template:
"a red disc at the top left". The image becomes a feature vector v (a learned projection of the pixels,
standing in for a convolutional network), and the word RNN sees it at every step:

    v = tanh(W_v pixels + b_v)                                        pixels (12*12*3,), v (F,)
    h_t = tanh(W_xh x_t + W_hh h_{t-1} + W_ih v + b)                  x_t = embed(w_{t-1}), w_0 = START
    p(w_t) = softmax(W_hy h_t + b_y)                                  until the word END

The RNN's input is [x_t ; v], so its weight_ih holds W_xh and W_ih side by side. Training uses teacher
forcing; held-out images (new draws, never seen) are captioned greedily, and a caption counts only if every
word is right.

Run:  python demos/captioning.py   (writes runs/demos/captioning/captions.png)
"""
from dataclasses import dataclass

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import optim

SIZE = 12                                                          # images are SIZE x SIZE x 3
COLOURS = {"red": (1.0, 0.1, 0.1), "green": (0.1, 0.9, 0.1), "blue": (0.2, 0.3, 1.0), "yellow": (1.0, 0.9, 0.1)}
SHAPES = ["square", "disc", "triangle"]
PLACES = {("top", "left"): (0, 0), ("top", "right"): (0, 1), ("bottom", "left"): (1, 0), ("bottom", "right"): (1, 1)}
WORDS = ["<start>", "<end>", "a", "at", "the"] + list(COLOURS) + SHAPES + ["top", "bottom", "left", "right"]
START, END = 0, 1


@dataclass
class Config:
    feature_size: int = 32      # F, the length of v
    embed_size: int = 16
    hidden_size: int = 64
    steps: int = 1500           # Adam steps
    batch: int = 32
    lr: float = 3e-3
    noise: float = 0.1          # standard deviation of the background noise
    test_size: int = 500
    seed: int = 0
    out: str = "runs/demos/captioning"


QUICK = {"steps": 300, "test_size": 200}


# --------------------------------------------------------------------------- images and captions
def draw(rng, noise):
    """One image (SIZE, SIZE, 3) float32 and its caption as a list of words."""
    colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
    (vertical, horizontal), (row, col) = list(PLACES.items())[rng.integers(len(PLACES))]
    side = int(rng.integers(4, 6))                                  # the shape fits in a side x side box
    top = row * SIZE // 2 + int(rng.integers(0, SIZE // 2 - side + 1))
    left = col * SIZE // 2 + int(rng.integers(0, SIZE // 2 - side + 1))
    y, x = np.mgrid[0:side, 0:side]
    if shape == "square":
        mask = np.ones((side, side), bool)
    elif shape == "disc":
        centre = (side - 1) / 2
        mask = (y - centre) ** 2 + (x - centre) ** 2 <= (side / 2) ** 2
    else:                                                           # a triangle pointing up
        mask = np.abs(x - (side - 1) / 2) <= y / 2 + 0.25
    image = np.clip(rng.normal(0.0, noise, (SIZE, SIZE, 3)), 0.0, 1.0).astype(np.float32)
    image[top:top + side, left:left + side][mask] = COLOURS[colour]
    return image, ["a", colour, shape, "at", "the", vertical, horizontal]


def make_batch(rng, size, noise):
    """pixels (B, SIZE*SIZE*3), captions as ids (B, 8) ending in END, and the images."""
    pairs = [draw(rng, noise) for _ in range(size)]
    images = np.stack([p[0] for p in pairs])
    captions = np.array([[WORDS.index(w) for w in p[1]] + [END] for p in pairs])
    return images.reshape(size, -1), captions, images


# --------------------------------------------------------------------------- the model
class Captioner(tg.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.features = tg.nn.Linear(SIZE * SIZE * 3, cfg.feature_size)
        self.embed = tg.nn.Embedding(len(WORDS), cfg.embed_size)
        self.rnn = tg.nn.RNN(cfg.embed_size + cfg.feature_size, cfg.hidden_size, batch_first=True)
        self.head = tg.nn.Linear(cfg.hidden_size, len(WORDS))

    def step(self, prev, v, h):
        """prev (B, T) word ids, v (B, F), h (1, B, H) or None -> logits (B, T, V), h."""
        x = self.embed(prev)                                        # (B, T, E)
        T = prev.shape[1]
        v_every_step = tg.stack([v] * T, axis=1)                    # (B, F) -> (B, T, F)
        out, h = self.rnn(tg.cat([x, v_every_step], axis=2), h)     # input (B, T, E + F)
        return self.head(out), h

    def loss(self, pixels, captions):
        v = self.features(tg.Tensor(pixels)).tanh()
        prev = np.concatenate([np.full((len(captions), 1), START), captions[:, :-1]], axis=1)   # teacher forcing
        logits, _ = self.step(prev, v, None)
        return tg.cross_entropy(logits.reshape(-1, len(WORDS)), captions.reshape(-1))

    def caption(self, pixels, max_words=12):
        """Greedy captions (lists of words, without END) for pixels (B, SIZE*SIZE*3)."""
        with tg.no_grad():
            v = self.features(tg.Tensor(pixels)).tanh()
            prev, h = np.full((len(pixels), 1), START), None
            words = []
            for _ in range(max_words):
                logits, h = self.step(prev, v, h)
                prev = logits.numpy()[:, 0].argmax(axis=1)[:, None]     # (B, 1)
                words.append(prev[:, 0])
        captions = []
        for ids in np.stack(words, axis=1).tolist():                # (B, max_words)
            ids = ids[:ids.index(END)] if END in ids else ids
            captions.append([WORDS[i] for i in ids])
        return captions


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    tg.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    test_pixels, test_captions, test_images = make_batch(np.random.default_rng(cfg.seed + 1000), cfg.test_size,
                                                         cfg.noise)

    # --- training with teacher forcing, on fresh images every step
    model = Captioner(cfg)
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    losses = []
    for n in range(cfg.steps):
        pixels, captions, _ = make_batch(rng, cfg.batch, cfg.noise)
        loss = model.loss(pixels, captions)
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
        if (n + 1) % max(1, cfg.steps // 5) == 0:
            print(f"step {n + 1}: loss {np.mean(losses[-50:]):.4f}")

    # --- greedy captions of held-out images
    guesses = model.caption(test_pixels)
    truths = [[WORDS[i] for i in row[:-1]] for row in test_captions]
    exact = float(np.mean([g == t for g, t in zip(guesses, truths)]))
    slots = {"colour": 1, "shape": 2, "vertical": 5, "horizontal": 6}
    per_slot = {k: float(np.mean([len(g) > i and g[i] == t[i] for g, t in zip(guesses, truths)]))
                for k, i in slots.items()}
    print(f"held-out images: exact-match caption accuracy {exact:.3f}; right words by slot: "
          + ", ".join(f"{k} {v:.3f}" for k, v in per_slot.items()))
    for g, t in list(zip(guesses, truths))[:4]:
        print(f"  {' '.join(g):32s} (true: {' '.join(t)})")

    # --- figure: some held-out images with their generated captions
    plt = pyplot()
    fig, axes = plt.subplots(2, 4, figsize=(10, 5.6))
    for ax, image, g, t in zip(axes.flat, test_images, guesses, truths):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(" ".join(g[1:]), fontsize=9, color="black" if g == t else "red")
        ax.axis("off")
    fig.suptitle("generated captions of held-out images (red: wrong)")
    save_figure(fig, out / "captions.png")
    print(f"wrote {out / 'captions.png'}")
    return {"exact_match": exact, "per_slot": per_slot, "first_loss": float(np.mean(losses[:20])),
            "final_loss": float(np.mean(losses[-50:]))}


if __name__ == "__main__":
    main()
