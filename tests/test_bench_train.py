"""`botframework bench train`: the command reads its options; botframework.bench measures."""

from __future__ import annotations

from pathlib import Path

import pytest

from botframework.bench.train import run_train_benchmark
from botframework.cli import main
from botframework.config.schema import BotConfig

pytestmark = pytest.mark.usefixtures("one_thread")
BOT = Path(__file__).resolve().parents[1] / "bots" / "chitchat.yaml"


def test_train_benchmark_reports_every_number() -> None:
    config = BotConfig.model_validate(
        {"name": "bench", "model": {"embedding_size": 8, "hidden_size": 8, "num_layers": 1}}
    )
    result = run_train_benchmark(
        config, (40,), steps=1, warmup=1, rounds=1, batch_size=4, num_samples=8, lengths=(2, 4)
    )
    row = result["tokens_per_second"]["40"]
    assert set(row) == {
        "plain_full_softmax",
        "plain_sampled_8",
        "lightning_sampled_8",
        "sampled_speedup",
        "lightning_vs_plain",
    }
    assert all(value > 0 for value in row.values())
    # The report rounds ratios to two decimals.
    assert row["sampled_speedup"] == pytest.approx(
        row["plain_sampled_8"] / row["plain_full_softmax"], rel=0.01, abs=0.005
    )
    assert result["timed_steps"] == 1 and result["rounds"] == 1
    assert set(result["goals"]) == {"sampled_speedup_at_largest_vocab", "lightning_vs_plain_worst"}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--steps", "0", "argument --steps: expected a whole number of at least 1, got '0'"),
        ("--warmup", "-1", "argument --warmup: expected a whole number of at least 0, got '-1'"),
        ("--rounds", "two", "argument --rounds: expected a whole number of at least 1, got 'two'"),
        ("--vocab-sizes", "20k", "argument --vocab-sizes: expected comma-separated vocabulary"),
    ],
)
def test_bench_train_rejects_bad_numbers(option: str, value: str, message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "train", str(BOT), option, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
