"""Metrics by name, computed for every checkpoint, shown as one Markdown table."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pluggy

from botframework.evaluation import core
from botframework.evaluation.run import EvalRun
from botframework.plugins import PartRegistry

Metric = Callable[[EvalRun], "float | dict[str, float]"]
CORE_PLUGIN = "evaluation.core"


def collect_eval_metrics(manager: pluggy.PluginManager) -> PartRegistry:
    """The built-in metrics, then those every plugin registers through ``register_eval_metrics``."""
    if not manager.has_plugin(CORE_PLUGIN) and not manager.is_blocked(CORE_PLUGIN):
        manager.register(core, name=CORE_PLUGIN)
    metrics = PartRegistry("metric")
    manager.hook.register_eval_metrics(register=metrics.register)
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
