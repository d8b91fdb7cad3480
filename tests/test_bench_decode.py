"""``botframework bench decode`` from the command line: parts come from the bot's plugins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from botframework.cli import main
from tests.conftest import write_bot_yaml


def tiny_bench(path: Path) -> list[str]:
    """``bench decode`` of the YAML's model with random weights, on tiny inputs."""
    argv = ["bench", "decode", str(path), "--random-weights", "--inputs", "2"]
    argv += ["--seed-style-inputs", "1", "--beam-size", "2", "--batch-size", "2"]
    return argv + ["--input-length", "3", "--reply-length", "3", "--threads", "1"]


def test_bench_decode_times_the_yamls_anti_lm_with_random_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = "  rescorers:\n    - {name: antilm, weight: 0.9, first_tokens: 2}\n"
    path = write_bot_yaml(tmp_path, extra=extra)
    assert main(tiny_bench(path)) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"].startswith("random weights")
    assert result["antilm"] == {"weight": 0.9, "first_tokens": 2}
    assert result["beam2_antilm_ms"] > 0 and result["seed_style_beam2_antilm_ms"] > 0


def test_bench_decode_uses_the_rescorer_a_plugin_registers_as_antilm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "my_antilm.py").write_text(
        "from botframework import StepRescorer, hookimpl\n\n"
        "class Mine(StepRescorer):\n"
        "    calls = 0\n\n"
        "    def __init__(self, weight=0.25):\n"
        "        self.weight = weight\n\n"
        "    def __call__(self, ctx, prefixes, log_probs):\n"
        "        Mine.calls += 1\n"
        "        return log_probs\n\n"
        "@hookimpl\n"
        "def register_rescorers(register):\n"
        "    register('antilm', Mine)\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    extra = "plugins:\n  load: [my_antilm]\n  block: [rescorers.antilm]\n"
    path = write_bot_yaml(tmp_path, extra=extra)
    assert main(tiny_bench(path)) == 0
    import sys

    assert sys.modules.pop("my_antilm").Mine.calls > 0
    assert json.loads(capsys.readouterr().out)["antilm"] == {"weight": 0.25, "first_tokens": None}


def test_the_gemm_rate_is_the_fastest_product_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """The floor takes the best rate among a square GEMM and the decoder's own product on each
    layer, so a kernel faster than the square GEMM (oneDNN's packed weights) cannot beat it."""
    from torch import nn

    from botframework.bench import hardware

    # seconds for: the square GEMM, the generic layer, the model's layer, the copy
    seconds = iter([1.0, 10.0, 0.1, 2.0])
    monkeypatch.setattr(hardware, "_best_seconds", lambda run, repeats: next(seconds))
    layer = nn.Linear(8, 30)
    measured = hardware.measure_hardware(size=16, megabytes=1, layers=[layer])
    assert measured.gemm_flops == pytest.approx(2 * 512 * 8 * 30 / 0.1)
    assert measured.bandwidth == pytest.approx(2 * 2**20 / 2.0)


def test_rounds_keep_the_best_of_each_timing_and_of_the_hardware(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botframework.bench import decode

    seen: list[tuple[str, dict[str, float]]] = []
    machines: list[decode.Hardware] = []
    measure, measure_hardware = decode._Timings.measure, decode.measure_hardware

    def recorded_measure(self, dtype: str, batch_size: int) -> dict[str, float]:
        timings = measure(self, dtype, batch_size)
        seen.append((dtype, timings))
        return timings

    def recorded_hardware(**kwargs) -> decode.Hardware:
        machines.append(measure_hardware(**kwargs))
        return machines[-1]

    monkeypatch.setattr(decode._Timings, "measure", recorded_measure)
    monkeypatch.setattr(decode, "measure_hardware", recorded_hardware)
    assert main([*tiny_bench(write_bot_yaml(tmp_path)), "--rounds", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    float32 = [timings for dtype, timings in seen if dtype == "float32"]
    assert result["rounds"] == 2 and len(float32) == 2 and len(machines) == 2
    assert result["greedy_ms"] == min(t["greedy_ms"] for t in float32)
    assert result["beam2_antilm_ms"] == min(t["beam2_antilm_ms"] for t in float32)
    rates = [t["batch2_replies_per_s"] for t in float32]
    assert result["batch2_replies_per_s"] == max(rates)
    int8 = [timings["beam2_ms"] for dtype, timings in seen if dtype == "int8"]
    assert result["int8_output"]["beam2_ms"] == min(int8) and len(int8) == 2
    best_rate = max(machine.gemm_flops for machine in machines)
    assert result["hardware"]["gemm_gflops"] == round(best_rate / 1e9, 1)


@pytest.mark.parametrize("option", ["--inputs", "--rounds", "--beam-size", "--reply-length"])
def test_a_count_below_one_is_refused_in_one_line(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([*tiny_bench(write_bot_yaml(tmp_path)), option, "0"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}: expected a whole number of at least 1, got '0'" in error
    assert "Traceback" not in error


def test_the_kernels_alone_multiply_each_steps_rows_by_every_decoder_weight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each step's rows meet every weight matrix of the decoder step, through the decoder's own
    product, and the vocabulary's scores are normalised in place."""
    import torch

    from botframework.bench import hardware
    from tests.test_beam import TRAP, train_toy

    model, _ = train_toy(TRAP, steps=0)
    model.eval()
    shapes: list[tuple[str, int, int]] = []
    normalised: list[tuple[int, ...]] = []
    linear, log_softmax = hardware.linear, torch.log_softmax

    def recorded(owner, name, bias, features):
        assert (bias is None) == (getattr(owner, name.replace("weight", "bias"), None) is None)
        shapes.append((name, len(features), features.shape[1]))
        return linear(owner, name, bias, features)

    def recorded_log_softmax(scores, dim, out):
        assert out is scores and dim == -1
        normalised.append(tuple(scores.shape))
        return log_softmax(scores, dim=dim, out=out)

    monkeypatch.setattr(hardware, "linear", recorded)
    monkeypatch.setattr(torch, "log_softmax", recorded_log_softmax)
    weights = hardware.product_layers(model)
    layers = [type(owner).__name__ + "." + name for owner, name, _ in weights]
    assert layers == ["GRU.weight_ih_l0", "GRU.weight_hh_l0", "Linear.weight", "Linear.weight"]
    assert weights[-1][0] is model.output and weights[-2][0] is model.combine
    milliseconds = hardware.kernels_ms(model, [1, 6, 3], repeats=2)
    assert milliseconds > 0
    passes = 3  # a warm-up and two timed
    assert len(shapes) == passes * 3 * len(weights)
    one_pass = shapes[: 3 * len(weights)]
    assert [rows for _, rows, _ in one_pass] == [r for r in (1, 6, 3) for _ in weights]
    widths = [getattr(owner, name).shape[1] for owner, name, _ in weights]
    assert [width for _, _, width in one_pass] == widths * 3
    assert normalised == [(rows, model.vocab_size) for rows in (1, 6, 3)] * passes
    assert not torch.is_inference_mode_enabled()


def test_the_benchmark_reports_the_kernels_alone_against_each_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botframework.bench import decode

    passes: list[list[int]] = []
    configurations = 5

    def recorded(model, rows_per_step, repeats=3):
        passes.append(rows_per_step)
        # a stand-in time: 2 ms per row in the first round, 1 ms in the second
        return (2.0 if len(passes) <= configurations else 1.0) * sum(rows_per_step)

    monkeypatch.setattr(decode, "kernels_ms", recorded)
    assert main([*tiny_bench(write_bot_yaml(tmp_path)), "--rounds", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    kernels, floors = result["kernels_ms"], result["floor_ms"]
    assert set(kernels) == set(floors) == set(result["kernels_over_floor"])
    assert len(floors) == configurations and len(passes) == 2 * configurations
    # the faster round's; greedy: one row at each of the 3 steps; batch: 2 inputs × 2 beams
    # after the first step
    assert kernels["greedy_ms"] == 1.0 * 3
    assert kernels["batch2_without_lm_ms_per_reply"] == 1.0 * (2 + 4 + 4) / 2
    for key, floor in floors.items():  # the floors are printed rounded to 0.01 ms
        over = result["kernels_over_floor"][key]
        most = kernels[key] / (floor - 0.005) if floor > 0.005 else float("inf")
        assert kernels[key] / (floor + 0.005) <= over <= most
