"""Metrics by name, computed for every checkpoint, shown as one Markdown table."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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
