"""interpretable_cells: single LSTM cells that track quotes, comments, indentation, brackets and the line.

Karpathy, Johnson and Fei-Fei (2015, "Visualizing and Understanding Recurrent Networks") trained character
LSTMs on source code and found cells whose value follows a property of the text: one is on inside quotes,
one counts the position in the line, one follows the depth of nested brackets. This demo repeats the search:

    1. train (or load with --checkpoint) a character LSTM on Python source (default: the stdlib corpus)
    2. read a validation text, recording a[t, j] = tanh(c_t)[j] for every layer's cells      A (N, L*H)
    3. compute five properties of each character with a small hand-written scanner          p (N,)
    4. score every cell by |r|, r = corr(A[:, j], p) (Pearson); keep the best cell per property
    5. colour the text by that cell's value: red > 0, blue < 0 (cells.html, cells.png)

The same search over the untrained model (its initial weights) is the baseline: whatever it finds comes
from the current character alone, not from anything learned about the text's structure.

Run:  python demos/interpretable_cells.py        (writes cells.html, cells.png, correlations.png to --out)
      python demos/interpretable_cells.py --checkpoint runs/lstm-1x256-stdlib/best.npz
"""
from dataclasses import dataclass
import html
import os
import time

from _common import output_dir, parse_config, pyplot, save_figure  # first: it sets BLAS threads before NumPy loads
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn.data import train_val_split
from tinygrad_rnn.training import CharLM, TrainConfig, Trainer, load_model
from tinygrad_rnn.training.trainer import load_text


@dataclass
class Config:
    checkpoint: str = ""            # a training checkpoint (best.npz) of an LSTM to read instead of training one
    data: str = ""                  # a text file of Python source to train on ("": the stdlib corpus)
    max_chars: int = 600_000        # characters of the text to use (90% train, 10% validation)
    layers: int = 1
    hidden: int = 256
    embedding: int = 32
    seq_len: int = 100              # BPTT window: long enough to see a line end and a quote close
    batch: int = 32
    lr: float = 3e-3
    steps: int = 1200
    analyse_chars: int = 20_000     # validation characters read to record the cells
    streams: int = 8                # ... as this many pieces side by side (each from a zero state)
    show_lines: int = 24            # lines of text coloured in cells.png
    seed: int = 0
    out: str = "runs/demos/interpretable_cells"


QUICK = {"max_chars": 120_000, "hidden": 64, "seq_len": 64, "steps": 150, "analyse_chars": 4_000,
         "show_lines": 6}

PROPERTIES = {                      # name: what the scanner reports after reading each character
    "in_string": "inside a string literal",
    "in_comment": "inside a # comment",
    "indent": "indentation of the line",
    "brackets": "depth of open ( [ {",
    "column": "position in the line",
}
OPENERS, CLOSERS = "([{", ")]}"


# --- the properties of each character, from a hand-written scanner

def scan_python(text):
    """{property: (N,) float32} for Python source ``text``: the scanner's state after reading each character.

    The quotes that open a string count as inside it, the ones that close it as outside (like the
    newline that ends a comment or a line). Escapes (a backslash and the next character) stay inside.
    A one-line string that meets a newline is closed there, so one stray quote cannot paint the rest.
    """
    n = len(text)
    props = {name: np.zeros(n, np.float32) for name in PROPERTIES}
    quote, comment, escaped = "", False, False        # the open string's delimiter ('', ', ", ''' or """)
    depth, column, indent, line_start = 0, 0, 0, True
    i = 0
    while i < n:
        ch = text[i]
        width = 1                                     # characters consumed by this step
        if ch == "\n":
            comment, column, indent, line_start = False, 0, 0, True
            if len(quote) == 1:
                quote, escaped = "", False
        else:
            column += 1
            if line_start and ch in " \t":
                indent += 1
            else:
                line_start = False
            if comment:
                pass
            elif quote:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif text.startswith(quote, i):
                    quote, width = "", len(quote)     # the closing quotes: outside from here
            elif ch == "#":
                comment = True
            elif ch in "'\"":
                quote = ch * 3 if text.startswith(ch * 3, i) else ch
                width = len(quote)
            elif ch in OPENERS:
                depth += 1
            elif ch in CLOSERS:
                depth = max(depth - 1, 0)
        for k in range(i, i + width):
            props["in_string"][k] = bool(quote)
            props["in_comment"][k] = comment
            props["brackets"][k] = depth
            props["indent"][k] = indent
            props["column"][k] = column + (k - i)
        column += width - 1
        i += width
    return props


# --- recording tanh(c_t) of every cell

def record_cells(model, ids, streams):
    """tanh(c_t) of every layer and cell after each token of ``ids`` (N,): (N, L*H) float32.

    The text is cut into ``streams`` contiguous pieces read side by side as one batch, one step at a time,
    carrying (h, c); each piece starts from a zero state.
    """
    n = len(ids)
    steps = -(-n // streams)                                            # ceil(n / streams)
    padded = np.zeros(steps * streams, np.int64)
    padded[:n] = ids
    columns = padded.reshape(streams, steps).T                          # (steps, S): piece b in column b
    L, H = model.num_layers, model.hidden_size
    out = np.zeros((steps, streams, L * H), np.float32)
    state = None
    model.eval()
    with tg.no_grad():
        for t in range(steps):
            _, state = model(columns[t:t + 1], state)                   # state (h, c), each (L, S, H)
            c = state[1].numpy()
            out[t] = np.tanh(c).transpose(1, 0, 2).reshape(streams, L * H)   # (S, L*H), layer-major
    return out.transpose(1, 0, 2).reshape(steps * streams, L * H)[:n]  # back to text order


def correlations(acts, prop):
    """Pearson r between every cell (column of acts (N, C)) and prop (N,); 0 for a constant column."""
    a = acts.astype(np.float64) - acts.mean(axis=0)
    p = prop.astype(np.float64) - prop.mean()
    denom = np.sqrt((a * a).sum(axis=0) * (p * p).sum())
    return np.where(denom > 0, (a * p[:, None]).sum(axis=0) / np.where(denom > 0, denom, 1.0), 0.0)


def best_cells(acts, props):
    """{property: (cell index, r, |r| of every cell)} with the cell of largest |r|."""
    out = {}
    for name, prop in props.items():
        r = correlations(acts, prop)
        j = int(np.argmax(np.abs(r)))
        out[name] = (j, float(r[j]), np.abs(r))
    return out


# --- colouring text by a cell's value

def colour(value):
    """(r, g, b) in 0..1 for a value in [-1, 1]: white at 0, red towards +1, blue towards -1."""
    v = float(np.clip(value, -1.0, 1.0))
    fade = 1.0 - abs(v)
    return (1.0, fade, fade) if v >= 0 else (fade, fade, 1.0)


def html_section(title, text, values):
    """One <pre> block of ``text`` with each character's background coloured by its value."""
    spans = []
    for ch, v in zip(text, values):
        r, g, b = (int(round(255 * x)) for x in colour(v))
        shown = html.escape(ch) if ch != "\n" else "\u21b5\n"            # show the newline, then break
        spans.append(f'<span style="background:rgb({r},{g},{b})" title="{v:+.2f}">{shown}</span>')
    return f"<h2>{html.escape(title)}</h2>\n<pre>{''.join(spans)}</pre>\n"


def draw_text_panel(ax, text, values, title, lines, width=80):
    """Characters on a grid of ``lines`` x ``width`` cells, each cell's background coloured by its value."""
    grid = np.ones((lines, width, 3))
    row = col = 0
    for ch, v in zip(text, values):
        if row >= lines:
            break
        if col < width:
            grid[row, col] = colour(v)
            if ch not in " \n":
                ax.text(col, row, ch, ha="center", va="center", family="monospace", fontsize=6)
        col += 1
        if ch == "\n":
            row, col = row + 1, 0
    ax.imshow(grid, aspect="auto", interpolation="nearest")
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xticks([])
    ax.set_yticks([])


def main(argv=None):
    cfg = parse_config(Config, argv, __doc__, QUICK)
    out = output_dir(cfg.out)
    t_start = time.perf_counter()

    # --- the model: load a checkpoint, or train one with the library's Trainer
    if cfg.checkpoint:
        model, vocab, meta = load_model(cfg.checkpoint)
        train_cfg = TrainConfig(**meta["train"])
        if model.cell != "lstm":
            raise ValueError(f"interpretable_cells: expected an LSTM checkpoint (cells have c_t), "
                             f"got a {model.cell.upper()} in '{cfg.checkpoint}'")
        print(f"loaded {model.cell.upper()} {model.num_layers}x{model.hidden_size} from {cfg.checkpoint}")
    else:
        train_cfg = TrainConfig(data=cfg.data or None, max_chars=cfg.max_chars, cell="lstm", layers=cfg.layers,
                                hidden=cfg.hidden, embedding=cfg.embedding, seq_len=cfg.seq_len, batch=cfg.batch,
                                lr=cfg.lr, steps=cfg.steps, eval_every=0, val_streams=cfg.streams,
                                sample_every=0, seed=cfg.seed, out=str(out / "model"))
        for name in ("best.npz", "last.npz"):                          # each run of the demo starts afresh
            if os.path.exists(os.path.join(train_cfg.out, name)):
                os.remove(os.path.join(train_cfg.out, name))
        trainer = Trainer(train_cfg)
        print(f"training an LSTM {cfg.layers}x{cfg.hidden} for {cfg.steps} steps on "
              f"{trainer.data_desc['n_chars']:,} characters")
        result = trainer.run()
        model, vocab = trainer.model, trainer.vocab
        print(f"validation {result.val_nats:.3f} nats/char after {result.wall_time:.0f} s")

    # --- the untrained twin: same architecture and seed, initial weights
    tg.manual_seed(train_cfg.seed)
    untrained = CharLM.from_config(model.config)

    # --- the validation text, the properties of its characters, and the cells read over it
    text, _ = load_text(train_cfg)
    _, val_ids = train_val_split(vocab.encode(text), train_cfg.val_fraction)
    ids = np.asarray(val_ids[:cfg.analyse_chars])
    sample_text = vocab.decode(ids)
    props = scan_python(sample_text)
    t0 = time.perf_counter()
    acts = {"trained": record_cells(model, ids, cfg.streams), "untrained": record_cells(untrained, ids, cfg.streams)}
    print(f"recorded {acts['trained'].shape[1]} cells over {len(ids):,} validation characters "
          f"in {time.perf_counter() - t0:.1f} s")
    found = {which: best_cells(a, props) for which, a in acts.items()}

    H = model.hidden_size
    print(f"\n{'property':<12} {'description':<26} {'best cell':>10} {'r':>7} {'untrained |r|':>14}")
    results = {}
    for name, description in PROPERTIES.items():
        j, r, _ = found["trained"][name]
        r0 = found["untrained"][name][1]
        label = f"L{j // H}/{j % H}"                                    # layer / cell within the layer
        print(f"{name:<12} {description:<26} {label:>10} {r:+7.3f} {abs(r0):14.3f}")
        results[name] = {"cell": j, "label": label, "r": r, "untrained_r": r0}

    # --- cells.html: the text coloured by each property's best cell
    sections = []
    for name, description in PROPERTIES.items():
        j, label, r = results[name]["cell"], results[name]["label"], results[name]["r"]
        shown = min(len(sample_text), 3000)
        sections.append(html_section(f"{description}: cell {label}, r = {r:+.3f}", sample_text[:shown],
                                     acts["trained"][:shown, j]))
    page = ("<!doctype html><meta charset='utf-8'><title>interpretable LSTM cells</title>\n"
            "<style>pre{font:12px/1.35 monospace} span{white-space:pre}</style>\n"
            "<p>Background: tanh(c) of one cell after reading each character; red &gt; 0, blue &lt; 0. "
            "Hover a character for its value.</p>\n" + "".join(sections))
    (out / "cells.html").write_text(page, encoding="utf-8")

    # --- cells.png: the same, the first lines of the text per property
    plt = pyplot()
    fig, axes = plt.subplots(len(PROPERTIES), 1, figsize=(10, 1.9 + 0.2 * cfg.show_lines * len(PROPERTIES)))
    for ax, (name, description) in zip(axes, PROPERTIES.items()):
        res = results[name]
        draw_text_panel(ax, sample_text, acts["trained"][:, res["cell"]],
                        f"{description}: cell {res['label']}, r = {res['r']:+.3f}", cfg.show_lines)
    save_figure(fig, out / "cells.png")

    # --- correlations.png: every cell's |r|, sorted, trained against untrained
    fig, axes = plt.subplots(1, len(PROPERTIES), figsize=(14, 3), sharey=True)
    for ax, name in zip(axes, PROPERTIES):
        for which, style in (("trained", "-"), ("untrained", "--")):
            ax.plot(np.sort(found[which][name][2])[::-1], style, label=which)
        ax.set_title(PROPERTIES[name], fontsize=9)
        ax.set_xlabel("cells, by |r|")
    axes[0].set_ylabel("|correlation| with the property")
    axes[0].legend()
    save_figure(fig, out / "correlations.png")
    print(f"\nwrote {out / 'cells.html'}, cells.png, correlations.png in {time.perf_counter() - t_start:.0f} s")
    return {"cells": results, "n_chars": len(ids), "n_cells": acts["trained"].shape[1],
            "activations": acts["trained"], "properties": props, "text": sample_text}


if __name__ == "__main__":
    main()
