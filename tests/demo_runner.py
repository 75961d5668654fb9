"""Import a demo from demos/ and run its --quick configuration (shared by the demo tests)."""
import importlib
import sys
from pathlib import Path

DEMOS = Path(__file__).resolve().parents[1] / "demos"


def demo(name):
    """The module demos/<name>.py (demos/ goes on sys.path once, so a demo's own imports resolve)."""
    if str(DEMOS) not in sys.path:
        sys.path.insert(0, str(DEMOS))
    return importlib.import_module(name)


def run_demo(name, tmp_path, *extra):
    """Run demos/<name>.py's --quick configuration into tmp_path (plus ``extra`` flags); return its result dict."""
    return demo(name).main(["--quick", "--out", str(tmp_path), *extra])
