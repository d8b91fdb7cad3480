"""The RL metrics of ``botframework eval``: simulated dialogue length and mean reward per rule."""

from __future__ import annotations

import math

from botframework import EvalRun, hookimpl


def simulated_turns(run: EvalRun) -> float:
    """Mean generated turns before a dull or repeated one, two agents talking from each prompt
    (capped at ``reinforce.max_turns``, 5 by default; Li et al. report 2.68 for MLE, 4.48 RL)."""
    lengths = [dialogue.length for dialogue in run.simulations]
    return sum(lengths) / len(lengths) if lengths else math.nan


def mean_rewards(run: EvalRun) -> dict[str, float]:
    """Each reward rule's mean over the simulated turns, and their weighted sum."""
    if run.scorer is None:
        return {"reward": math.nan}
    values = run.turn_rewards
    means = {
        label: sum(v[label] for v in values) / len(values) if values else math.nan
        for label in run.scorer.labels
    }
    rows = {f"reward: {label}": mean for label, mean in means.items()}
    rows.update({f"reward: {label}": math.nan for label in run.skipped_rules})
    rows["reward"] = run.scorer.total(means) if not run.skipped_rules else math.nan
    return rows


@hookimpl
def register_eval_metrics(register) -> None:
    register("simulated-turns", simulated_turns)
    register("rewards", mean_rewards)
