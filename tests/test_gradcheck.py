"""gradcheck itself: it passes right gradients and fails wrong ones, saying where and by how much."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


class WrongCube(tg.Function):
    """y = x^3 with a deliberately wrong backward (2x^2 instead of 3x^2)."""

    def forward(self, x):
        self.x = x
        return x ** 3

    def backward(self, g):
        return g * 2 * self.x ** 2


class WrongSecondInput(tg.Function):
    """y = a * b, correct for a, but the gradient for b drops one element."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        grad_b = g * self.a
        grad_b[..., -1] = 0.0
        return g * self.b, grad_b


def leaf(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_passes_correct_gradients_and_returns_true():
    assert tg.gradcheck(lambda x: x ** 3, [leaf([0.5, -1.5, 2.0])]) is True
    assert tg.gradcheck(lambda x: x ** 3, [leaf([0.5, -1.5, 2.0])], fast=True) is True


def test_wrong_backward_fails_naming_input_element_and_both_values():
    x = leaf([[0.5, -1.0], [2.0, 1.5]])
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(lambda x: WrongCube.apply(x), [x])
    message = str(info.value)
    assert "input 0" in message and "element (0, 0)" in message
    # element (0, 0): analytic 2 x^2 R, numeric 3 x^2 R, R the checker's weight for that element
    weight = np.random.default_rng(0).standard_normal((2, 2))[0, 0]
    analytic, numeric = 2 * 0.25 * weight, 3 * 0.25 * weight
    values = [float(v) for v in message.split("analytic ")[1].split(" vs numeric ")]
    np.testing.assert_allclose(values, [analytic, numeric], rtol=1e-6)


def test_failure_names_the_second_input_and_the_last_element():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([0.5, 0.25, -1.0])
    with pytest.raises(tg.GradcheckError, match=r"input 1 of shape \(3,\), element \(2,\): analytic 0 vs numeric"):
        tg.gradcheck(lambda a, b: WrongSecondInput.apply(a, b), [a, b])


def test_fast_mode_also_catches_a_wrong_backward():
    x = leaf(np.linspace(0.5, 2.0, 12).reshape(3, 4))
    with pytest.raises(tg.GradcheckError, match=r"input 0 of shape \(3, 4\): directional derivative analytic .* vs numeric"):
        tg.gradcheck(lambda x: WrongCube.apply(x), [x], fast=True)
    a, b = leaf([1.0, 2.0, 3.0]), leaf([0.5, 0.25, -1.0])
    with pytest.raises(tg.GradcheckError, match="input 1"):
        tg.gradcheck(lambda a, b: WrongSecondInput.apply(a, b), [a, b], fast=True)


def test_zero_dim_and_non_contiguous_inputs():
    assert tg.gradcheck(lambda x: x.exp() * x, [leaf(0.3)])
    with pytest.raises(tg.GradcheckError, match=r"element \(\)"):
        tg.gradcheck(lambda x: WrongCube.apply(x), [leaf(1.5)])
    t = Tensor(np.arange(1.0, 7.0).reshape(2, 3).T, requires_grad=True)
    assert not t.data.flags.c_contiguous
    assert tg.gradcheck(lambda x: (x * x).sum(axis=0), [t])
    np.testing.assert_array_equal(t.data, np.arange(1.0, 7.0).reshape(2, 3).T)   # restored after perturbing


def test_tuple_outputs_and_constant_inputs():
    x = leaf([0.1, 0.2, 0.3, 0.4])
    const = Tensor(np.array([2.0, 3.0]))
    assert tg.gradcheck(lambda x, c: (x[:2] * c, x[2:].tanh()), [x, const])
    with pytest.raises(tg.GradcheckError, match="input 0"):
        tg.gradcheck(lambda x, c: (x[:2] * c, WrongCube.apply(x[2:])), [x, const])


def test_gradcheck_rejects_bad_usage():
    with pytest.raises(TypeError, match="gradcheck: input 0 is float32; finite differences need float64"):
        tg.gradcheck(lambda x: x * 2, [Tensor(np.ones(2, dtype=np.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        tg.gradcheck(lambda x: x * 2, [Tensor(np.ones(2))])
    with pytest.raises(tg.GradcheckError, match="no output depends"):
        tg.gradcheck(lambda x: Tensor(np.ones(2)), [leaf([1.0])])


def test_tolerances_are_respected():
    class SlightlyWrong(tg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g * 2.0001

    x = leaf([1.0, 2.0])
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(lambda x: SlightlyWrong.apply(x), [x], atol=1e-8, rtol=1e-6)
    assert tg.gradcheck(lambda x: SlightlyWrong.apply(x), [x], atol=1e-2, rtol=1e-2)
