"""The cell_zoo demo's --quick run: every cell (LSTM, GRU, MUT1-3) learns clearly below uniform guessing."""
import math

from demo_runner import run_demo


def test_every_cell_learns(tmp_path):
    result = run_demo("cell_zoo", tmp_path)
    uniform = result["uniform"]
    for cell in ("LSTM", "GRU", "MUT1", "MUT2", "MUT3"):
        losses = result[cell]["val_losses"]
        assert all(math.isfinite(v) for v in losses), cell
        assert losses[0] > uniform - 0.3, cell                 # starts near uniform guessing
        assert losses[-1] < uniform - 1.2, cell                # ends clearly below it (uniform: 4.47 nats)
    assert result["MUT1"]["parameters"] < result["MUT3"]["parameters"]   # MUT1 has no W_hz, no W_xh
    assert (tmp_path / "validation_loss.png").stat().st_size > 0
