"""Metrics by name, computed for every checkpoint, shown as one Markdown table."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pluggy

from botframework.evaluation import core
from botframework.evaluation.run import EvalRun
from botframework.plugins import PartRegistry

Metric = Callable[[EvalRun], "float | dict[str, float]"]


def collect_eval_metrics(manager: pluggy.PluginManager) -> PartRegistry:
    """The built-in metrics, then those of every plugin's ``register_eval_metrics``, in plugin
    registration order (built-in plugins, installed ones, then ``plugins.load``): the report's
    row order."""
    metrics = PartRegistry("metric")
    core.register_eval_metrics(metrics.register)
    for implementation in manager.hook.register_eval_metrics.get_hookimpls():
        implementation.function(register=metrics.register)
    return metrics


def measure(run: EvalRun, metrics: dict[str, Metric]) -> dict[str, float]:
    """Every metric's rows for one run, in order."""
    rows: dict[str, float] = {}
    for name, metric in metrics.items():
        value = metric(run)
        if isinstance(value, dict):
            rows.update({key: float(v) for key, v in value.items()})
        else:
            rows[name] = float(value)
    return rows


def markdown_table(columns: Sequence[str], results: Sequence[dict[str, float]]) -> str:
    """One row per metric, one column per checkpoint; a missing or NaN value shows as n/a."""
    names: list[str] = []
    for result in results:
        names += [name for name in result if name not in names]
    lines = [
        "| metric | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name in names:
        cells = [_cell(result.get(name, math.nan)) for result in results]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def samples_table(
    prompts: Sequence[Sequence[str]],
    references: Sequence[str] | None,
    labels: Sequence[str],
    replies: Sequence[Sequence[str]],
    count: int = 5,
) -> str:
    """The first ``count`` prompts, their true replies when known and every column's reply."""
    truth = ["true reply"] if references else []
    lines = [
        "| prompt | " + " | ".join([*truth, *labels]) + " |",
        "|---|" + "---|" * (len(truth) + len(labels)),
    ]
    for index, prompt in enumerate(prompts[:count]):
        cells = [prompt[-1], *([references[index]] if references else [])]
        cells += [column[index] for column in replies]
        lines.append("| " + " | ".join(_text_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


def _text_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|") or "(none)"


def bar_figure(
    path: str | Path,
    labels: Sequence[str],
    results: Sequence[dict[str, float]],
    rows: Sequence[str],
) -> None:
    """A PNG with one bar chart per row name, one bar per column label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(rows), figsize=(4.5 * len(rows), 3.6), squeeze=False)
    for axis, row in zip(axes[0], rows):
        values = [result.get(row, math.nan) for result in results]
        axis.bar(range(len(labels)), values, color="tab:blue")
        axis.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        axis.set_title(row)
        axis.set_ylim(0, max([1.0, *(v for v in values if not math.isnan(v))]))
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
