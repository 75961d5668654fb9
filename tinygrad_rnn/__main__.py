"""``python -m tinygrad_rnn``: the same command line as ``tinygrad-rnn`` (see :mod:`tinygrad_rnn.cli`)."""
import sys

from .cli import run

sys.exit(run())
