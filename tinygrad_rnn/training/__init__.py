"""Training support: safe checkpoints and the n-gram baseline (training and sampling loops live beside them)."""

from .checkpoint import CheckpointError, flatten_state, load_checkpoint, save_checkpoint, unflatten_state
from .ngram import KneserNeyLM

__all__ = ["CheckpointError", "KneserNeyLM", "flatten_state", "load_checkpoint", "save_checkpoint",
           "unflatten_state"]
