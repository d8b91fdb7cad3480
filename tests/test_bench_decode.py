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
