"""The autograd layer: ``Tensor``, the ``Function`` base, the primitive ops, ``gradcheck``."""
from . import random
from .anomaly import detect_anomaly, is_anomaly_enabled
from .dtypes import get_default_dtype, set_default_dtype
from .function import Function, unbroadcast
from .functional import cat, cross_entropy, dropout, embedding, log_softmax, softmax, stack, where
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .random import manual_seed
from .tensor import Tensor

__all__ = [
    "Tensor", "Function", "unbroadcast", "no_grad", "enable_grad", "is_grad_enabled",
    "get_default_dtype", "set_default_dtype", "manual_seed", "random", "gradcheck", "GradcheckError",
    "cat", "stack", "where", "softmax", "log_softmax", "cross_entropy", "embedding", "dropout",
    "detect_anomaly", "is_anomaly_enabled",
]
