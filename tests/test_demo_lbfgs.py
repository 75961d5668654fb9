"""The lbfgs_vs_first_order demo's --quick run: with the same number of evaluations, L-BFGS fits the
sequence far more closely than SGD with momentum and Adam."""

from demo_runner import run_demo


def test_lbfgs_beats_first_order_methods(tmp_path):
    result = run_demo("lbfgs_vs_first_order", tmp_path)
    lbfgs = result["L-BFGS"]
    assert lbfgs["evaluations"] <= 150
    assert lbfgs["losses"][0] > 0.05                            # the same start for every method
    assert lbfgs["final_loss"] < 1e-5
    for name in ("SGD + momentum", "Adam"):
        assert result[name]["losses"][0] == lbfgs["losses"][0]
        assert result[name]["final_loss"] < 0.01 * result[name]["losses"][0]      # they learn too ...
        assert lbfgs["final_loss"] < 0.1 * result[name]["final_loss"], name     # ... ten times less well
    assert (tmp_path / "loss_curves.png").stat().st_size > 0
