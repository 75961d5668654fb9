"""Export under PyTorch's state_dict names (training/export.py), and the round trip through torch."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.data import CharVocab
from tinygrad_rnn.training.export import export_model, state_dict_arrays, torch_snippet
from tinygrad_rnn.training.lm import CharLM

VOCAB = CharVocab.from_text("abcdefg\n")


def make_model(cell, embedding_dim, layers=2):
    tg.manual_seed(7)
    return CharLM(len(VOCAB), cell=cell, hidden_size=6, num_layers=layers, embedding_dim=embedding_dim)


def test_npz_and_json_hold_the_weights_config_and_vocab(tmp_path):
    model = make_model("lstm", 4)
    paths = export_model(model, VOCAB, str(tmp_path / "m.npz"))
    with np.load(paths["npz"], allow_pickle=False) as f:
        loaded = {k: f[k] for k in f.files}
    want = dict(model.named_parameters())
    assert set(loaded) == set(want)
    for name, p in want.items():
        assert loaded[name].dtype == np.float32
        np.testing.assert_array_equal(loaded[name], p.data)
    doc = json.loads(open(paths["json"], encoding="utf-8").read())
    assert doc["model"] == model.config and CharVocab.from_dict(doc["vocab"]) == VOCAB


def test_state_dict_names_follow_pytorch():
    names = set(state_dict_arrays(make_model("gru", 0, layers=1)))
    assert names == {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                     "decoder.weight", "decoder.bias"}


def torch_logits(torch, npz_path, config, ids):
    """Build torch.nn.Embedding + LSTM/GRU/RNN + Linear, load the exported arrays, return logits (T, B, V)."""
    V, E, H, L = (config[k] for k in ("vocab_size", "embedding_dim", "hidden_size", "num_layers"))
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[config["cell"]]
    rnn, decoder = cls(E or V, H, num_layers=L), torch.nn.Linear(H, V)
    with np.load(npz_path) as f:
        t = {k: torch.from_numpy(f[k]) for k in f.files}
    rnn.load_state_dict({k[4:]: v for k, v in t.items() if k.startswith("rnn.")})
    decoder.load_state_dict({"weight": t["decoder.weight"], "bias": t["decoder.bias"]})
    ids_t = torch.from_numpy(ids)
    with torch.no_grad():
        if E:
            emb = torch.nn.Embedding(V, E)
            emb.load_state_dict({"weight": t["embedding.weight"]})
            x = emb(ids_t)
        else:
            x = torch.nn.functional.one_hot(ids_t, V).float()
        return decoder(rnn(x)[0]).numpy()


@pytest.mark.parametrize("cell,embedding_dim", [("lstm", 4), ("gru", 4), ("rnn", 4), ("lstm", 0)])
def test_torch_gives_the_same_logits(tmp_path, cell, embedding_dim):
    torch = pytest.importorskip("torch")
    model = make_model(cell, embedding_dim).eval()
    paths = export_model(model, VOCAB, str(tmp_path / "m.npz"))
    ids = np.random.default_rng(0).integers(0, len(VOCAB), size=(9, 3)).astype(np.int64)
    ours = model(ids)[0].data
    theirs = torch_logits(torch, paths["npz"], model.config, ids)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
    pt = torch.load(paths["pt"], weights_only=True)
    assert set(pt) == set(state_dict_arrays(model))
    np.testing.assert_array_equal(pt["decoder.weight"].numpy(), model.decoder.weight.data)


def test_printed_snippet_runs_and_matches(tmp_path):
    pytest.importorskip("torch")
    model = make_model("lstm", 4).eval()
    paths = export_model(model, VOCAB, str(tmp_path / "m.npz"))
    code = torch_snippet(model.config, paths["npz"])
    code += f"np.save({str(tmp_path / 'logits.npy')!r}, logits.numpy())\n"
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=str(tmp_path), env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stderr
    ours = model(np.zeros((5, 1), np.int64))[0].data
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), ours, rtol=1e-5, atol=1e-5)
