"""Bad input to the recurrent layers raises at the boundary, naming what was expected and what came."""
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor


def f32(*shape):
    return Tensor(np.zeros(shape, np.float32))


@pytest.fixture(scope="module")
def lstm():
    return tg.nn.LSTM(4, 16, num_layers=2)


@pytest.fixture(scope="module")
def gru():
    return tg.nn.GRU(4, 16, batch_first=True)


# ---------------------------------------------------------------- forward of the stacks
def test_wrong_input_size(lstm, gru):
    with pytest.raises(ValueError, match=r"LSTM: expected input of shape \(T, B, 4\) or \(T, 4\), got \(5, 8, 3\)"):
        lstm(f32(5, 8, 3))
    with pytest.raises(ValueError, match=r"GRU: expected input of shape \(B, T, 4\) or \(T, 4\), got \(2, 5, 6\)"):
        gru(f32(2, 5, 6))


@pytest.mark.parametrize("shape", [(4,), (1, 5, 8, 4)])
def test_wrong_input_rank(lstm, shape):
    with pytest.raises(ValueError, match=r"LSTM: expected input of shape .* got \(" + ", ".join(map(str, shape))):
        lstm(f32(*shape))


def test_wrong_h0_and_c0_shape(lstm):
    x = f32(5, 8, 4)
    with pytest.raises(ValueError, match=r"^LSTM: expected h0 of shape \(2, 8, 16\), got \(1, 8, 16\)$"):
        lstm(x, (f32(1, 8, 16), f32(2, 8, 16)))
    with pytest.raises(ValueError, match=r"^LSTM: expected c0 of shape \(2, 8, 16\), got \(2, 8, 15\)$"):
        lstm(x, (f32(2, 8, 16), f32(2, 8, 15)))
    with pytest.raises(ValueError, match=r"^GRU: expected h0 of shape \(1, 3, 16\), got \(3, 16\)$"):
        tg.nn.GRU(4, 16)(f32(5, 3, 4), f32(3, 16))


def test_h0_batch_must_match_input_batch(lstm, gru):
    with pytest.raises(ValueError, match=r"LSTM: expected h0 of shape \(2, 8, 16\), got \(2, 3, 16\)"):
        lstm(f32(5, 8, 4), (f32(2, 3, 16), f32(2, 3, 16)))
    # batch_first: h0 stays (layers*directions, B, H), as PyTorch
    with pytest.raises(ValueError, match=r"GRU: expected h0 of shape \(1, 2, 16\), got \(1, 5, 16\)"):
        gru(f32(2, 5, 4), f32(1, 5, 16))


def test_unbatched_input_takes_unbatched_state(lstm):
    with pytest.raises(ValueError, match=r"LSTM: expected h0 of shape \(2, 16\), got \(2, 1, 16\)"):
        lstm(f32(5, 4), (f32(2, 1, 16), f32(2, 1, 16)))


def test_wrong_dtype(lstm):
    with pytest.raises(TypeError, match=r"LSTM: expected input of dtype float32, got float64 \(convert the input, "
                                        r"or the module with .to\(dtype\)\)"):
        lstm(Tensor(np.zeros((5, 8, 4))))
    with pytest.raises(TypeError, match="LSTM: expected h0 of dtype float32, got float64"):
        lstm(f32(5, 8, 4), (Tensor(np.zeros((2, 8, 16))), f32(2, 8, 16)))
    with pytest.raises(TypeError, match="LSTM: expected c0 of dtype float32, got float64"):
        lstm(f32(5, 8, 4), (f32(2, 8, 16), Tensor(np.zeros((2, 8, 16)))))


def test_empty_sequence_and_empty_batch(lstm, gru):
    with pytest.raises(ValueError, match=r"LSTM: expected a sequence of at least one step, got an empty one "
                                         r"\(shape \(0, 8, 4\)\)"):
        lstm(f32(0, 8, 4))
    with pytest.raises(ValueError, match="GRU: expected a sequence of at least one step"):
        gru(f32(3, 0, 4))
    with pytest.raises(ValueError, match="LSTM: expected a sequence of at least one step"):
        lstm(f32(0, 4))
    with pytest.raises(ValueError, match=r"LSTM: expected a batch of at least one sequence, got shape \(5, 0, 4\)"):
        lstm(f32(5, 0, 4))


def test_bad_lengths(lstm):
    x = f32(5, 3, 4)
    with pytest.raises(ValueError, match=r"LSTM: expected every length in \[1, 5\] \(T = 5\), got min 2 max 6"):
        lstm(x, lengths=[5, 6, 2])
    with pytest.raises(ValueError, match=r"LSTM: expected every length in \[1, 5\] \(T = 5\), got min 0 max 5"):
        lstm(x, lengths=[5, 0, 2])
    with pytest.raises(ValueError, match=r"LSTM: expected lengths to be 3 integers \(one per sequence\), "
                                         r"got shape \(2,\) dtype int64"):
        lstm(x, lengths=np.array([5, 2]))
    with pytest.raises(ValueError, match=r"LSTM: expected lengths to be 3 integers .* dtype float64"):
        lstm(x, lengths=np.array([5.0, 2.0, 1.0]))


def test_non_tensor_input_and_state(lstm, gru):
    with pytest.raises(TypeError, match="LSTM: expected input to be a Tensor, got ndarray"):
        lstm(np.zeros((5, 8, 4), np.float32))
    with pytest.raises(TypeError, match="LSTM: expected input to be a Tensor, got list"):
        lstm([[[0.0] * 4]])
    with pytest.raises(TypeError, match=r"LSTM: expected hx to be a tuple \(h0, c0\), got Tensor"):
        lstm(f32(5, 8, 4), f32(2, 8, 16))
    with pytest.raises(TypeError, match=r"LSTM: expected hx to be a tuple \(h0, c0\), got tuple"):
        lstm(f32(5, 8, 4), (f32(2, 8, 16),))
    with pytest.raises(TypeError, match="LSTM: expected h0 to be a Tensor, got ndarray"):
        lstm(f32(5, 8, 4), (np.zeros((2, 8, 16), np.float32), f32(2, 8, 16)))
    with pytest.raises(TypeError, match="GRU: expected h0 to be a Tensor, got ndarray"):
        gru(f32(2, 5, 4), np.zeros((1, 2, 16), np.float32))


# ---------------------------------------------------------------- constructors: TypeError, then ValueError
@pytest.mark.parametrize("cls", [tg.nn.RNN, tg.nn.LSTM, tg.nn.GRU])
def test_constructor_type_errors(cls):
    name = cls.__name__
    with pytest.raises(TypeError, match=f"{name}: input_size must be an int, got float"):
        cls(4.0, 8)
    with pytest.raises(TypeError, match=f"{name}: hidden_size must be an int, got bool"):
        cls(4, True)
    with pytest.raises(TypeError, match=f"{name}: num_layers must be an int, got str"):
        cls(4, 8, num_layers="2")
    with pytest.raises(TypeError, match=f"{name}: dropout must be a number, got str"):
        cls(4, 8, num_layers=2, dropout="0.5")
    with pytest.raises(TypeError, match=f"{name}: expected dtype float32 or float64, got int32"):
        cls(4, 8, dtype=np.int32)


@pytest.mark.parametrize("cls", [tg.nn.RNN, tg.nn.LSTM, tg.nn.GRU])
def test_constructor_value_errors(cls):
    name = cls.__name__
    with pytest.raises(ValueError, match=f"{name}: input_size must be positive, got 0"):
        cls(0, 8)
    with pytest.raises(ValueError, match=f"{name}: hidden_size must be positive, got -1"):
        cls(4, -1)
    with pytest.raises(ValueError, match=f"{name}: num_layers must be positive, got 0"):
        cls(4, 8, num_layers=0)
    with pytest.raises(ValueError, match=rf"{name}: dropout must be in \[0, 1\], got 1.5"):
        cls(4, 8, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match=f"{name}: recurrent_init must be 'uniform', 'identity' or 'orthogonal', "
                                         "got 'zeros'"):
        cls(4, 8, recurrent_init="zeros")
    with pytest.raises(ValueError, match=f"{name}: expected fused to be True, False, 'step' or 'sequence', "
                                         "got 'fast'"):
        cls(4, 8, fused="fast")


def test_type_is_checked_before_value():
    with pytest.raises(TypeError, match="input_size must be an int"):
        tg.nn.LSTM(-1.0, 0)


def test_rnn_nonlinearity_must_be_tanh_or_relu():
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        tg.nn.RNN(4, 8, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="RNNCell: nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        tg.nn.RNNCell(4, 8, nonlinearity="gelu")


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="LSTM: dropout=0.5 acts between layers, so with num_layers=1 it does nothing"):
        tg.nn.LSTM(4, 8, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.nn.LSTM(4, 8, num_layers=2, dropout=0.5)


# ---------------------------------------------------------------- cells
@pytest.mark.parametrize("cls", [tg.nn.RNNCell, tg.nn.LSTMCell, tg.nn.GRUCell])
def test_cell_constructor_errors(cls):
    name = cls.__name__
    with pytest.raises(TypeError, match=f"{name}: input_size must be an int, got float"):
        cls(3.0, 5)
    with pytest.raises(ValueError, match=f"{name}: hidden_size must be positive, got 0"):
        cls(3, 0)
    with pytest.raises(TypeError, match=f"{name}: expected dtype float32 or float64, got int64"):
        cls(3, 5, dtype="int64")


def test_cell_bad_input():
    cell = tg.nn.LSTMCell(3, 5)
    with pytest.raises(ValueError, match=r"LSTMCell: expected input with last dimension 3, got shape \(2, 4\)"):
        cell(f32(2, 4))
    with pytest.raises(ValueError, match=r"LSTMCell: expected input of shape \(B, 3\) or \(3,\), got \(2, 2, 3\)"):
        cell(f32(2, 2, 3))
    with pytest.raises(TypeError, match="LSTMCell: expected input of dtype float32, got float64"):
        cell(Tensor(np.zeros((2, 3))))
    with pytest.raises(TypeError, match="LSTMCell: expected a Tensor input, got ndarray"):
        cell(np.zeros((2, 3), np.float32))


def test_cell_bad_state():
    cell, x = tg.nn.LSTMCell(3, 5), f32(2, 3)
    with pytest.raises(TypeError, match=r"LSTMCell: expected hx to be a tuple \(h, c\), got Tensor"):
        cell(x, f32(2, 5))
    with pytest.raises(ValueError, match=r"^LSTMCell: expected h of shape \(2, 5\), got \(3, 5\)$"):
        cell(x, (f32(3, 5), f32(2, 5)))
    with pytest.raises(ValueError, match=r"^LSTMCell: expected c of shape \(2, 5\), got \(2, 4\)$"):
        cell(x, (f32(2, 5), f32(2, 4)))
    with pytest.raises(TypeError, match="LSTMCell: expected h of dtype float32, got float64"):
        cell(x, (Tensor(np.zeros((2, 5))), f32(2, 5)))
    with pytest.raises(TypeError, match="LSTMCell: expected c to be a Tensor, got ndarray"):
        cell(x, (f32(2, 5), np.zeros((2, 5), np.float32)))
    with pytest.raises(ValueError, match=r"GRUCell: expected h of shape \(2, 5\), got \(5,\)"):
        tg.nn.GRUCell(3, 5)(x, f32(5))
    with pytest.raises(ValueError, match=r"RNNCell: expected h of shape \(5,\), got \(1, 5\)"):
        tg.nn.RNNCell(3, 5)(f32(3), f32(1, 5))
