"""The scalar ``sigmoid`` and ``tanh`` every gate kernel calls, exact in float64 and SIMD-friendly in float32.

Both are built on e = exp(-|x|), which cannot overflow:

    sigmoid(x) = 1 / (1 + e)          for x >= 0,   e / (1 + e) for x < 0,       e = exp(-|x|)
    tanh(x)    = sign(x) * -m / (2 + m),                                         m = expm1(-2|x|)

float64 (and every type but float32) calls ``np.exp``/``np.expm1``, so a fused kernel equals the NumPy
composition of the same equation to ~1e-15. numba on this kind of machine has no vector math
library, so a loop calling ``exp`` runs one element at a time; for float32 that single ``exp`` is
most of the LSTM gate kernel's time. So float32 computes expm1 itself, from arithmetic alone,
which LLVM turns into AVX2 code eight lanes wide (the LSTM forward kernel measured 4-5x faster):

    x = n ln2 + r,  n = round(x / ln2),  |r| <= ln2 / 2
    expm1(x) = 2^n (r + r^2/2! + ... + r^7/7!) + (2^n - 1)

ln2 is split into a short high part and a low correction (Cody and Waite), so ``n * ln2_hi`` is
exact; 2^n is built from its IEEE bits (``_f32_from_bits``); exp(x) is 2^n (e^r - 1) + 2^n. The Taylor tail left out is at most
r^8/8! < 6e-9, far below float32's resolution; the tests check the result against float64 over
every magnitude: relative error below 3e-7 (about 2 ulp), nan stays nan, ±inf saturates.
Writing the result as ``2^n * (...) + (2^n - 1)`` keeps expm1 accurate near 0, so tanh(x) keeps
its relative accuracy for tiny x instead of cancelling in 1 - e.

Under ``NUMBA_DISABLE_JIT=1`` the same code runs as Python on NumPy scalars.

>>> float(sigmoid(0.0)), float(sigmoid(np.float32(0.0)))
(0.5, 0.5)
>>> bool(abs(float(tanh(np.float32(0.5))) - np.tanh(0.5)) < 1e-7)
True
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

from tinygrad_rnn.kernels.policy import FASTMATH

F32 = np.float32
_LOG2E = F32(1.4426950408889634)      # 1 / ln 2
_LN2_HI = F32(0.693359375)            # 355/512: n * _LN2_HI is exact for |n| < 2^15
_LN2_LO = F32(-2.1219444005469057e-4)  # ln 2 - _LN2_HI
_EXP_UNDERFLOW = F32(-87.33654)       # ln of float32's smallest normal number: below it e = 0
_INV_FACTORIALS = tuple(F32(1.0 / f) for f in (2.0, 6.0, 24.0, 120.0, 720.0, 5040.0))
_C2, _C3, _C4, _C5, _C6, _C7 = _INV_FACTORIALS


def _f32_from_bits(bits):
    """The float32 whose IEEE-754 bit pattern is the int32 ``bits`` (Python fallback)."""
    return np.array(bits, dtype=np.int32).view(np.float32)[()]


@intrinsic
def _bitcast_to_f32(typingctx, bits):
    """Reinterpret the low 32 bits of an integer as a float32 (one LLVM ``bitcast``)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value, int32 = args[0], ir.IntType(32)
        if bits.bitwidth > 32:
            value = builder.trunc(value, int32)
        elif bits.bitwidth < 32:
            value = builder.sext(value, int32)
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


@overload(_f32_from_bits)
def _f32_from_bits_jit(bits):
    return lambda bits: _bitcast_to_f32(bits)


_JIT_OPTIONS = dict(fastmath=set(FASTMATH), error_model="numpy")


@register_jitable(**_JIT_OPTIONS)
def _exp_parts_f32(x):
    """(2^n, e^r - 1) with x = n ln2 + r, for a float32 x <= 0; 2^n is 0 below the underflow bound."""
    clamped = _EXP_UNDERFLOW if x < _EXP_UNDERFLOW else x        # keeps nan: nan < c is False
    n = np.floor(clamped * _LOG2E + F32(0.5))
    n = n if n == n else F32(0.0)                                # nan: r carries it; n stays an integer
    r = clamped - n * _LN2_HI - n * _LN2_LO
    tail = _C7
    tail = tail * r + _C6
    tail = tail * r + _C5
    tail = tail * r + _C4
    tail = tail * r + _C3
    tail = tail * r + _C2
    scale = _f32_from_bits((np.int32(n) + 127) << 23)
    return (F32(0.0) if x < _EXP_UNDERFLOW else scale), tail * r * r + r


@register_jitable(**_JIT_OPTIONS)
def exp_nonpositive_f32(x):
    """exp(x) for a float32 x <= 0, from arithmetic only (see the module docstring); 0 below 2^-126.

    >>> float(exp_nonpositive_f32(np.float32(-1000.0))), float(exp_nonpositive_f32(np.float32(0.0)))
    (0.0, 1.0)
    """
    scale, expm1_r = _exp_parts_f32(x)
    return scale * expm1_r + scale


@register_jitable(**_JIT_OPTIONS)
def expm1_nonpositive_f32(x):
    """expm1(x) = exp(x) - 1 for a float32 x <= 0, accurate also for tiny |x|; nan gives nan.

    >>> float(expm1_nonpositive_f32(np.float32(-1000.0)))
    -1.0
    """
    scale, expm1_r = _exp_parts_f32(x)
    return scale * expm1_r + (scale - F32(1.0))


def _sigmoid_f32(x):
    e = exp_nonpositive_f32(-abs(x))
    d = F32(1.0) / (F32(1.0) + e)
    return d if x >= F32(0.0) else e * d


def _tanh_f32(x):
    m = expm1_nonpositive_f32(F32(-2.0) * abs(x))
    return np.copysign(-m / (F32(2.0) + m), x)


def _sigmoid_exact(x):
    e = np.exp(-abs(x))
    d = 1.0 / (1.0 + e)
    return d if x >= 0 else e * d


def _tanh_exact(x):
    m = np.expm1(-2.0 * abs(x))
    return np.copysign(-m / (2.0 + m), x)


def sigmoid(x):
    """Numerically stable logistic function of one scalar: 1 / (1 + exp(-x)).

    With e = exp(-|x|) (which cannot overflow) and d = 1 / (1 + e): sigmoid(x) = d for x >= 0 and
    e * d for x < 0. Both branches (d for x >= 0, e * d for x < 0) are computed and one is selected, so there is no
    branch to mispredict on data of random sign; a nan x gives nan either way.

    >>> float(sigmoid(-1000.0)), float(sigmoid(np.float32(1000.0)))
    (0.0, 1.0)
    """
    return _sigmoid_f32(x) if isinstance(x, np.float32) else _sigmoid_exact(x)


def tanh(x):
    """tanh of one scalar from one expm1 (libm's scalar tanh costs about three exp).

    With m = expm1(-2|x|): tanh(|x|) = -m / (2 + m), sign restored. Using expm1 rather than
    1 - exp keeps the relative accuracy for tiny |x| too, where tanh(x) ~ x.

    >>> round(float(tanh(0.5)), 12) == round(float(np.tanh(0.5)), 12)
    True
    """
    return _tanh_f32(x) if isinstance(x, np.float32) else _tanh_exact(x)


@overload(sigmoid, jit_options=_JIT_OPTIONS)
def _sigmoid_jit(x):
    return _sigmoid_f32 if x == types.float32 else _sigmoid_exact


@overload(tanh, jit_options=_JIT_OPTIONS)
def _tanh_jit(x):
    return _tanh_f32 if x == types.float32 else _tanh_exact
