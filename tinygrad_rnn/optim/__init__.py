"""Optimizers, gradient clipping and learning-rate schedules, with PyTorch's names and update rules."""

from tinygrad_rnn.optim.adagrad import Adagrad
from tinygrad_rnn.optim.adam import Adam, AdamW
from tinygrad_rnn.optim.clip import clip_grad_norm_, clip_grad_value_
from tinygrad_rnn.optim.lbfgs import LBFGS
from tinygrad_rnn.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    ReduceLROnPlateau,
    StepLR,
)
from tinygrad_rnn.optim.optimizer import Optimizer
from tinygrad_rnn.optim.rmsprop import RMSprop
from tinygrad_rnn.optim.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "LBFGS",
    "clip_grad_norm_", "clip_grad_value_",
    "LRScheduler", "LambdaLR", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ReduceLROnPlateau",
]
