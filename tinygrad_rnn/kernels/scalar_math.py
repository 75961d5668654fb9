"""The scalar ``sigmoid`` and ``tanh`` every gate kernel calls, built on an exp that vectorises.

Both are built on e = exp(-|x|), which cannot overflow:

    sigmoid(x) = 1 / (1 + e)          for x >= 0,   e / (1 + e) for x < 0,       e = exp(-|x|)
    tanh(x)    = sign(x) * -m / (2 + m),                                         m = expm1(-2|x|)

numba on this kind of machine has no vector math library, so a loop that calls libm's ``exp``
runs one element at a time, and those calls were most of the LSTM gate kernels' time. So exp is
computed here from arithmetic alone, which LLVM turns into AVX2 code (8 float32 or 4 float64
lanes; the float32 LSTM forward kernel measured 4-5x faster):

    x = n ln2 + r,  n = round(x / ln2),  |r| <= ln2 / 2
    expm1(x) = 2^n (r + r^2/2! + ... + r^k/k!) + (2^n - 1),    exp(x) = 2^n (e^r - 1) + 2^n

with k = 7 for float32 and k = 13 for float64: the Taylor tail left out is below each type's
resolution. The polynomial is evaluated as two interleaved Horner chains (``_even_odd_horner``),
whose shorter chains of dependent operations suit vector units. ln2 is split into a short high
part and a low correction (Cody and Waite), so ``n * ln2_hi`` is exact; 2^n is built from its
IEEE bits (``_float_from_bits``). Writing the result as ``2^n * (...) + (2^n - 1)`` keeps expm1
accurate near 0, so tanh keeps its relative accuracy for tiny x instead of cancelling in 1 - e. The
tests hold the results to float64 references over every magnitude: float32 within 3e-7 relative
(about 2 ulp), float64 within 1e-15, so a fused float64 kernel still equals the NumPy composition
to ~1e-15; nan stays nan and ±inf saturates.

Under ``NUMBA_DISABLE_JIT=1`` the same code runs as Python on NumPy scalars.

>>> float(sigmoid(0.0)), float(sigmoid(np.float32(0.0)))
(0.5, 0.5)
>>> bool(abs(float(tanh(np.float32(0.5))) - np.tanh(0.5)) < 1e-7)
True
"""

import math
from collections import namedtuple

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload, register_jitable

from tinygrad_rnn.kernels.policy import FASTMATH

_JIT_OPTIONS = dict(fastmath=set(FASTMATH), error_model="numpy")


def _float_from_bits(bits, like):
    """The float of ``like``'s type whose IEEE-754 bit pattern is the integer ``bits`` (Python fallback)."""
    int_type = np.int32 if isinstance(like, np.float32) else np.int64
    return np.array(bits, dtype=int_type).view(type(like))[()]


@intrinsic
def _bitcast_to_float(typingctx, bits, like):
    """Reinterpret an integer, cut or widened to ``like``'s width, as a float of ``like``'s type."""
    if not isinstance(bits, types.Integer) or like not in (types.float32, types.float64):
        return None

    def codegen(context, builder, signature, args):
        value, width = args[0], like.bitwidth
        if bits.bitwidth > width:
            value = builder.trunc(value, ir.IntType(width))
        elif bits.bitwidth < width:
            value = builder.sext(value, ir.IntType(width))
        return builder.bitcast(value, context.get_value_type(like))

    return like(bits, like), codegen


@overload(_float_from_bits)
def _float_from_bits_jit(bits, like):
    return lambda bits, like: _bitcast_to_float(bits, like)


def _even_odd_horner(coefficients):
    """Build ``p(r) = c_0 + c_1 r + ... + c_n r^n`` (``coefficients`` lowest first, of one float type) as

        p(r) = E(r^2) + r O(r^2),   E(s) = c_0 + c_2 s + c_4 s^2 + ...,   O(s) = c_1 + c_3 s + ...,

    E and O each by Horner's rule, side by side. Each chain of dependent multiply-adds is half as long
    as one Horner chain over all coefficients, so the vector units overlap more of the work. Measured
    with float64's 12 coefficients: a tanh loop and the LSTM gate kernel (batch 32, hidden 128) 1.3x
    faster than one chain; float32's 6 coefficients took the same time either way. (Estrin's scheme,
    shorter still, measured no faster and made the gate kernels compile 1-2 s longer.)
    """
    evens, odds = coefficients[0::2][::-1], coefficients[1::2][::-1]          # highest first
    if len(odds) < len(evens):
        odds = (type(evens[0])(0.0),) + odds                                  # a zero top: both chains in step
    top_even, rest_even, top_odd, rest_odd = evens[0], evens[1:], odds[0], odds[1:]

    @register_jitable(**_JIT_OPTIONS)
    def polynomial(r):
        r2 = r * r
        even, odd = top_even, top_odd
        for k in range(len(rest_even)):                                       # unrolled by the compiler
            even = even * r2 + rest_even[k]
            odd = odd * r2 + rest_odd[k]
        return even + r * odd

    return polynomial


def _exp_parts_for(float_type, int_type, mantissa_bits, ln2_hi, ln2_lo, terms):
    """Build ``exp_parts(x) -> (2^n, e^r - 1)`` with x = n ln2 + r, for x <= 0 of ``float_type``.

    ``ln2_hi`` has few enough significant bits that n * ln2_hi is exact; ln2_lo = ln2 - ln2_hi.
    e^r - 1 = r + r^2 tail(r) is the Taylor series up to r^terms / terms! (``_even_odd_horner``).
    Below ln of the smallest normal number, 2^n is returned as 0 (so exp gives 0 and expm1 gives -1).
    n goes to an integer through int32, which AVX2 converts four float64 at a time (it has no
    float64-to-int64 conversion), and is widened for the shift.
    """
    F = float_type
    log2e, hi, lo = F(1.0 / math.log(2.0)), F(ln2_hi), F(ln2_lo)
    underflow = F(math.log(np.finfo(float_type).tiny))
    bias = int_type(np.finfo(float_type).maxexp - 1)
    tail_of = _even_odd_horner(tuple(F(1.0 / math.factorial(k)) for k in range(2, terms + 1)))  # 1/2!, ..., 1/terms!

    @register_jitable(**_JIT_OPTIONS)
    def exp_parts(x):
        clamped = underflow if x < underflow else x            # keeps nan: nan < c is False
        n = np.floor(clamped * log2e + F(0.5))
        n = n if n == n else F(0.0)                              # nan: r carries it; n stays an integer
        r = clamped - n * hi - n * lo
        scale = _float_from_bits((int_type(np.int32(n)) + bias) << mantissa_bits, F(0.0))
        return (F(0.0) if x < underflow else scale), tail_of(r) * r * r + r

    return exp_parts


# float32: |r| <= ln2/2 and r^8/8! < 6e-9, far below float32's resolution.
_exp_parts_f32 = _exp_parts_for(np.float32, np.int32, 23, 0.693359375, -2.1219444005469057e-4, terms=7)
# float64: r^14/14! < 5e-18, below float64's resolution. ln2_hi has 20 significant bits.
_exp_parts_f64 = _exp_parts_for(np.float64, np.int64, 52, 0.693145751953125, 1.4286068203094172321e-6, terms=13)


_Functions = namedtuple("_Functions", "exp_nonpositive expm1_nonpositive sigmoid tanh")


def _functions_for(float_type, exp_parts):
    """exp, expm1 (of x <= 0), sigmoid and tanh for one float type, all from ``exp_parts``."""
    F = float_type

    @register_jitable(**_JIT_OPTIONS)
    def exp_nonpositive(x):
        scale, expm1_r = exp_parts(x)
        return scale * expm1_r + scale

    @register_jitable(**_JIT_OPTIONS)
    def expm1_nonpositive(x):
        scale, expm1_r = exp_parts(x)
        return scale * expm1_r + (scale - F(1.0))

    @register_jitable(**_JIT_OPTIONS)
    def sigmoid_of(x):
        e = exp_nonpositive(-abs(x))
        d = F(1.0) / (F(1.0) + e)
        return d if x >= F(0.0) else e * d

    @register_jitable(**_JIT_OPTIONS)
    def tanh_of(x):
        m = expm1_nonpositive(F(-2.0) * abs(x))
        return np.copysign(-m / (F(2.0) + m), x)

    return _Functions(exp_nonpositive, expm1_nonpositive, sigmoid_of, tanh_of)


_F32 = _functions_for(np.float32, _exp_parts_f32)
_F64 = _functions_for(np.float64, _exp_parts_f64)


def _for_type_of(x):
    return _F32 if isinstance(x, np.float32) else _F64


def exp_nonpositive(x):
    """exp(x) for x <= 0 from arithmetic only, in x's float type; 0 below the smallest normal number.

    >>> float(exp_nonpositive(np.float32(-1000.0))), float(exp_nonpositive(0.0))
    (0.0, 1.0)
    """
    return _for_type_of(x).exp_nonpositive(x)


def expm1_nonpositive(x):
    """expm1(x) = exp(x) - 1 for x <= 0, accurate also for tiny |x|; -1 for very negative x; nan gives nan.

    >>> float(expm1_nonpositive(np.float32(-1000.0))), float(expm1_nonpositive(-1e-20))
    (-1.0, -1e-20)
    """
    return _for_type_of(x).expm1_nonpositive(x)


def sigmoid(x):
    """Numerically stable logistic function of one scalar: 1 / (1 + exp(-x)).

    With e = exp(-|x|) (which cannot overflow) and d = 1 / (1 + e): sigmoid(x) = d for x >= 0 and
    e * d for x < 0. Both branches are computed and one is selected, so there is no branch to
    mispredict on data of random sign; a nan x gives nan either way.

    >>> float(sigmoid(-1000.0)), float(sigmoid(np.float32(1000.0)))
    (0.0, 1.0)
    """
    return _for_type_of(x).sigmoid(x)


def tanh(x):
    """tanh of one scalar: with m = expm1(-2|x|), tanh(|x|) = -m / (2 + m), sign restored.

    expm1 rather than 1 - exp keeps the relative accuracy for tiny |x| too, where tanh(x) ~ x.

    >>> round(float(tanh(0.5)), 12) == round(float(np.tanh(0.5)), 12)
    True
    """
    return _for_type_of(x).tanh(x)


def _overload_by_type(python_function):
    """In compiled code, ``python_function(x)`` becomes the float32 or float64 version, chosen at compile time."""
    @overload(python_function, jit_options=_JIT_OPTIONS)
    def typed(x):
        return getattr(_F32 if x == types.float32 else _F64, python_function.__name__)


for _function in (exp_nonpositive, expm1_nonpositive, sigmoid, tanh):
    _overload_by_type(_function)
