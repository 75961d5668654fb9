"""Export a language model's weights under PyTorch's state_dict names, for torch.nn.Embedding + LSTM/GRU/RNN + Linear.

The model's own parameter names already are PyTorch's (``embedding.weight``, ``rnn.weight_ih_l0``,
``rnn.bias_hh_l1``, ..., ``decoder.weight``, ``decoder.bias``; gates stacked i,f,g,o for the LSTM and r,z,n
for the GRU, as PyTorch stacks them), so exporting writes them unchanged:

* ``<out>.npz``  — one float32 array per name (``np.load`` reads it without pickle);
* ``<out>.json`` — the model's config and vocabulary, to rebuild and to decode;
* ``<out>.pt``   — the same tensors via ``torch.save`` when torch is installed (load it with
  ``torch.load(path, weights_only=True)``).

:func:`torch_snippet` prints code that loads the ``.npz`` into torch modules and computes the same logits.

>>> from tinygrad_rnn.training.lm import CharLM
>>> names = sorted(state_dict_arrays(CharLM(5, "gru", 4, 1, 3)))
>>> names[:4], len(names)
(['decoder.bias', 'decoder.weight', 'embedding.weight', 'rnn.bias_hh_l0'], 7)
"""

from __future__ import annotations

import json
import os

import numpy as np

TORCH_CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def state_dict_arrays(model) -> dict[str, np.ndarray]:
    """{PyTorch state_dict name: float array} for ``model`` (a :class:`CharLM`)."""
    return {name: np.ascontiguousarray(value) for name, value in model.state_dict().items()}


def export_model(model, vocab, out: str) -> dict[str, str]:
    """Write ``out`` (.npz), its .json and, with torch installed, its .pt; return {kind: path} of the files."""
    stem = out[:-4] if out.endswith(".npz") else out
    paths = {"npz": stem + ".npz", "json": stem + ".json"}
    directory = os.path.dirname(os.path.abspath(paths["npz"]))
    os.makedirs(directory, exist_ok=True)
    arrays = state_dict_arrays(model)
    np.savez(paths["npz"], **arrays)
    with open(paths["json"], "w", encoding="utf-8") as f:
        json.dump({"model": model.config, "vocab": vocab.to_dict()}, f, indent=1)
    try:
        import torch
    except ImportError:
        return paths
    paths["pt"] = stem + ".pt"
    torch.save({name: torch.from_numpy(a.copy()) for name, a in arrays.items()}, paths["pt"])
    return paths


def torch_snippet(config: dict, npz_path: str) -> str:
    """Python code that loads the exported ``npz_path`` into torch modules and computes logits (T, B, V)."""
    V, E, H, L = config["vocab_size"], config["embedding_dim"], config["hidden_size"], config["num_layers"]
    cell = TORCH_CELLS[config["cell"]]
    lines = [
        "import numpy as np, torch",
        f"weights = np.load({npz_path!r})                   # plain float32 arrays, no pickle",
        "tensors = {name: torch.from_numpy(weights[name]) for name in weights.files}",
        "def part(prefix):",
        "    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}",
    ]
    if E:
        lines.append(f"embedding = torch.nn.Embedding({V}, {E})")
    lines += [
        f"rnn = torch.nn.{cell}({E or V}, {H}, num_layers={L})",
        f"decoder = torch.nn.Linear({H}, {V})",
    ]
    if E:
        lines.append('embedding.load_state_dict(part("embedding."))')
    lines += [
        'rnn.load_state_dict(part("rnn."))',
        'decoder.load_state_dict(part("decoder."))',
        "rnn.eval()",
        "ids = torch.zeros((5, 1), dtype=torch.long)         # (T, B) token ids; the vocabulary is in the .json",
        "with torch.no_grad():",
    ]
    if E:
        lines.append("    x = embedding(ids)                              # (T, B, E)")
    else:
        lines.append(f"    x = torch.nn.functional.one_hot(ids, {V}).float()  # (T, B, V) one-hot inputs")
    lines += [
        "    out, state = rnn(x)                              # (T, B, H); pass state back in to continue",
        "    logits = decoder(out)                            # (T, B, V): next-token scores",
    ]
    return "\n".join(lines) + "\n"
