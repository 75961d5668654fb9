"""Test-session settings.

The suite runs thousands of tiny matrix products; OpenBLAS's thread hand-off costs more than such a
product, and on a busy 2-core machine far more. One BLAS thread keeps the suite fast and its timings
steady. Set here, before NumPy is first imported, because OpenBLAS reads it only at load time.
"""
import os
import sys

if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
