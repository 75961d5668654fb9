"""The lbfgs_vs_first_order demo's --quick run: with the same number of evaluations, L-BFGS fits the
sequence far more closely than SGD with momentum and Adam."""
import importlib
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as the demos do, when this file runs on its own

DEMOS = Path(__file__).resolve().parents[1] / "demos"


def test_lbfgs_beats_first_order_methods(tmp_path):
    if str(DEMOS) not in sys.path:
        sys.path.insert(0, str(DEMOS))
    result = importlib.import_module("lbfgs_vs_first_order").main(["--quick", "--out", str(tmp_path)])
    lbfgs = result["L-BFGS"]
    assert lbfgs["evaluations"] <= 150
    assert lbfgs["losses"][0] > 0.05                            # the same start for every method
    assert lbfgs["final_loss"] < 1e-5
    for name in ("SGD + momentum", "Adam"):
        assert result[name]["losses"][0] == lbfgs["losses"][0]
        assert result[name]["final_loss"] < 0.01 * result[name]["losses"][0]      # they learn too ...
        assert lbfgs["final_loss"] < 0.1 * result[name]["final_loss"], name     # ... ten times less well
    assert (tmp_path / "loss_curves.png").stat().st_size > 0
