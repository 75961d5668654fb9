"""Training support: the language model, its training loop, sampling, evaluation, export, safe checkpoints
and the n-gram baseline."""

from .checkpoint import CheckpointError, flatten_state, load_checkpoint, save_checkpoint, unflatten_state
from .evaluate import evaluate
from .export import export_model, state_dict_arrays, torch_snippet
from .lm import CharLM
from .memory import retain_freed_memory
from .ngram import KneserNeyLM
from .sampling import sample
from .trainer import TrainConfig, Trainer, TrainResult, load_model, train

__all__ = ["CharLM", "CheckpointError", "KneserNeyLM", "TrainConfig", "TrainResult", "Trainer", "evaluate",
           "export_model", "flatten_state", "load_checkpoint", "load_model", "retain_freed_memory", "sample",
           "save_checkpoint", "state_dict_arrays", "torch_snippet", "train", "unflatten_state"]
