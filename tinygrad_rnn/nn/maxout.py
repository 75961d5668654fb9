"""Maxout (Goodfellow et al., 2013): each output unit is the largest of ``pieces`` affine functions of x.

    z_{j,p} = W_{j,p} . x + b_{j,p}           y_j = max_p z_{j,p}

Shapes: x (..., in_features) -> y (..., out_features). ``weight`` (out_features * pieces, in_features)
and ``bias`` (out_features * pieces,) stack the pieces unit by unit: row j * pieces + p is piece p of
unit j. Init U(-1/sqrt(in), 1/sqrt(in)) as ``Linear``. The gradient goes to the winning piece.

>>> import numpy as np, tinygrad_rnn as tg
>>> tg.nn.Maxout(3, 2, pieces=4)(tg.Tensor(np.ones((5, 3), np.float32))).shape
(5, 2)
"""
import math

import numpy as np

from . import functional as F
from . import init
from .layers import check_input, check_size, module_dtype
from .module import Module, Parameter


class Maxout(Module):
    """y_j = max over p of (W_{j,p} x + b_{j,p}), ``pieces`` affine pieces per output unit (module docstring)."""

    def __init__(self, in_features, out_features, pieces=2, bias=True, dtype=None):
        super().__init__()
        check_size("Maxout", "in_features", in_features)
        check_size("Maxout", "out_features", out_features)
        check_size("Maxout", "pieces", pieces)
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.dtype = module_dtype("Maxout", dtype)
        rows, bound = out_features * pieces, 1.0 / math.sqrt(in_features)
        self.weight = init.uniform_(Parameter(np.empty((rows, in_features), self.dtype)), -bound, bound)
        self.bias = init.uniform_(Parameter(np.empty(rows, self.dtype)), -bound, bound) if bias else None

    def forward(self, x):
        check_input(self, x, self.in_features)
        z = F.linear(x, self.weight, self.bias)                              # (..., out * pieces)
        return z.reshape(x.shape[:-1] + (self.out_features, self.pieces)).max(axis=-1)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}"
