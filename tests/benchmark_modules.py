"""Import a script of benchmarks/ as a module, for the tests of the benchmarks."""
import importlib.util
import sys
import warnings
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name, monkeypatch):
    """benchmarks/<name>.py as a module, with the thread variables the scripts export restored afterwards.

    The scripts import ``common`` from their own folder and set the BLAS thread variables when imported;
    ``monkeypatch`` undoes both, and the path, after the test."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    common_spec = importlib.util.spec_from_file_location("common", BENCHMARKS / "common.py")
    common = importlib.util.module_from_spec(common_spec)
    common_spec.loader.exec_module(common)
    monkeypatch.setitem(sys.modules, "common", common)
    for var in common.THREAD_VARS:
        monkeypatch.setenv(var, "1")
    if name == "common":
        return common
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "NumPy was imported first": the thread count is the suite's
        spec.loader.exec_module(module)
    return module
