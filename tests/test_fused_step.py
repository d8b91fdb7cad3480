"""The fast decoding step: packed weights and the fused GRU step give nn.Linear's and nn.GRU's
numbers, and a PyTorch that cannot pack falls back to the transposed copy."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from botframework.model import Seq2Seq
from botframework.model import projection
from botframework.model.fused_step import fusable, gru_step
from tests.test_model import VOCAB, tiny_config

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("rows", [1, 10, 70])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_on_the_copied_weight_equals_nn_linear(rows: int, bias: bool) -> None:
    torch.manual_seed(0)
    layer = nn.Linear(48, 300, bias=bias)
    features = torch.randn(rows, 48)
    with torch.inference_mode():
        copied = projection.project(layer, features)
        plain = layer(features)
    torch.testing.assert_close(copied, plain, atol=1e-5, rtol=1e-5)


def test_a_changed_weight_is_copied_again() -> None:
    torch.manual_seed(0)
    layer, features = nn.Linear(8, 20), torch.randn(3, 8)
    with torch.inference_mode():
        before = projection.project(layer, features)
    with torch.no_grad():
        layer.weight.mul_(2)
    with torch.inference_mode():
        after = projection.project(layer, features)
    torch.testing.assert_close(after - layer.bias, 2 * (before - layer.bias))


def test_without_packing_the_transposed_copy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*args: object, **kwargs: object) -> torch.Tensor:
        raise RuntimeError("no oneDNN here")

    monkeypatch.setattr(projection, "_packing_failed", False)
    monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", unavailable, raising=False)
    torch.manual_seed(0)
    layer, features = nn.Linear(16, 40), torch.randn(5, 16)
    with torch.inference_mode():
        result = projection.project(layer, features)
    assert projection._COPIES[layer]["weight"][1] == "transposed"
    torch.testing.assert_close(result, layer(features).detach(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("rows", [1, 7])
def test_fused_gru_step_equals_nn_gru(layers: int, rows: int) -> None:
    torch.manual_seed(layers)
    rnn = nn.GRU(12, 24, layers, batch_first=True).eval()
    inputs, hidden = torch.randn(rows, 1, 12), torch.randn(layers, rows, 24)
    with torch.inference_mode():
        assert fusable(rnn, inputs)
        output, state = gru_step(rnn, inputs, hidden)
        expected_output, expected_state = rnn(inputs, hidden)
    torch.testing.assert_close(output, expected_output, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(state, expected_state, atol=1e-6, rtol=1e-5)


def test_only_an_inference_step_of_a_gru_is_fused() -> None:
    gru, one = nn.GRU(4, 4, batch_first=True).eval(), torch.zeros(2, 1, 4)
    with torch.inference_mode():
        assert not fusable(nn.LSTM(4, 4, batch_first=True).eval(), one)
        assert not fusable(gru, torch.zeros(2, 3, 4))  # several positions
        assert not fusable(gru.train(), one)  # dropout between layers
    assert not fusable(gru.eval(), one)  # gradients


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_fast_decoding_steps_equal_the_plain_ones(attention: str) -> None:
    torch.manual_seed(0)
    model = Seq2Seq(VOCAB, tiny_config(attention=attention)).eval()
    source, lengths = torch.randint(4, VOCAB, (3, 5)), torch.tensor([5, 4, 2])
    with torch.inference_mode():
        plain_state = fast_state = model.start(model.encode(source, lengths))
        tokens = torch.tensor([1, 1, 1])
        for _ in range(4):
            plain, plain_state = model.step(tokens, plain_state)
            fast, fast_state = model.step(tokens, fast_state, transposed_output=True)
            torch.testing.assert_close(fast, plain, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(fast_state.hidden, plain_state.hidden, atol=1e-6, rtol=1e-5)
            tokens = plain.argmax(dim=1)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="a PyTorch without oneDNN")
def test_with_onednn_the_weight_is_packed() -> None:
    layer = nn.Linear(16, 40)
    with torch.inference_mode():
        projection.project(layer, torch.randn(2, 16))
    assert projection._COPIES[layer]["weight"][1] == "packed"


def test_bfloat16_output_on_its_packed_weight_equals_f_linear_in_bfloat16() -> None:
    from botframework.decoding.precision import Bfloat16Linear

    torch.manual_seed(0)
    layer = Bfloat16Linear(nn.Linear(32, 100))
    features = torch.randn(6, 32)
    with torch.inference_mode():
        stepped = layer(features)
    expected = nn.functional.linear(features.to(torch.bfloat16), layer.weight, layer.bias)
    torch.testing.assert_close(stepped, expected.float(), atol=1e-2, rtol=1e-2)


def test_the_decoders_run_the_fused_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from botframework_plugins.decoders.beam import BeamSearch
    from botframework_plugins.decoders.greedy import GreedyDecoder

    from botframework.model import seq2seq
    from tests.conftest import TINY_PAIRS
    from tests.test_beam import decode, train_toy

    model, tokenizer = train_toy(TINY_PAIRS, steps=5)
    calls: list[int] = []

    def counted(rnn: nn.GRU, inputs: torch.Tensor, hidden: torch.Tensor):
        calls.append(len(inputs))
        return gru_step(rnn, inputs, hidden)

    monkeypatch.setattr(seq2seq, "gru_step", counted)
    prompts = [prompt for prompt, _ in TINY_PAIRS[:3]]
    decode(GreedyDecoder(max_length=4), model, tokenizer, prompts)
    assert calls and calls[0] == len(prompts)
    decode(BeamSearch(beam_size=3, max_length=4), model, tokenizer, prompts)
    assert len(calls) > 4 and max(calls) == 3 * len(prompts)
