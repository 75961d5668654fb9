"""PyTorch's names for recurrent parameters, as data: one function owns the scheme."""

GATE_COUNT = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def recurrent_param_names(layer, reverse, bias):
    """Names of one layer-direction's parameters, in PyTorch's order.

    >>> recurrent_param_names(1, True, True)
    ['weight_ih_l1_reverse', 'weight_hh_l1_reverse', 'bias_ih_l1_reverse', 'bias_hh_l1_reverse']
    """
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    names = [f"weight_ih{suffix}", f"weight_hh{suffix}"]
    if bias:
        names += [f"bias_ih{suffix}", f"bias_hh{suffix}"]
    return names
