"""One GRU decoding step written out with torch ops, on weights laid out for few rows.

``nn.GRU`` called on one position of a few rows spends more time around the product than in it;
this step runs each layer's two gate products through :func:`botframework.model.projection.linear`
(packed weights) and the gates as a handful of element-wise ops. The same numbers as ``nn.GRU`` up
to float rounding (below 1e-6); only for inference (no dropout, no gradients).
"""

from __future__ import annotations

import torch
from torch import nn

from botframework.model.projection import linear


def fusable(rnn: nn.Module, inputs: torch.Tensor) -> bool:
    """Whether :func:`gru_step` computes ``rnn(inputs, hidden)`` for these batch-first inputs
    (N, T, E): a unidirectional GRU in eval mode, one position, no gradients."""
    return (
        type(rnn) is nn.GRU
        and not rnn.training
        and not rnn.bidirectional
        and rnn.batch_first
        and rnn.bias
        and inputs.shape[1] == 1
        and not torch.is_grad_enabled()
    )


def gru_step(
    rnn: nn.GRU, inputs: torch.Tensor, hidden: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``rnn(inputs, hidden)`` for inputs (N, 1, E) and hidden (layers, N, H)."""
    layer_input, states, size = inputs.squeeze(1), [], rnn.hidden_size
    for layer in range(rnn.num_layers):
        previous = hidden[layer]
        input_bias, hidden_bias = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
        from_input = linear(rnn, f"weight_ih_l{layer}", input_bias, layer_input)
        from_hidden = linear(rnn, f"weight_hh_l{layer}", hidden_bias, previous)
        # the reset and update gates (the first two thirds) in one sum and one sigmoid
        gates = torch.sigmoid(from_input[:, : 2 * size] + from_hidden[:, : 2 * size])
        reset, update = gates[:, :size], gates[:, size:]
        candidate = torch.addcmul(from_input[:, 2 * size :], reset, from_hidden[:, 2 * size :])
        new = torch.tanh(candidate)
        layer_input = torch.lerp(new, previous, update)  # (1 - z) n + z h
        states.append(layer_input)
    return layer_input.unsqueeze(1), torch.stack(states)
