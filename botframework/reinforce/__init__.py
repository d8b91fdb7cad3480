"""Deep reinforcement learning for dialogue (Li, Monroe, Ritter, Galley, Gao, Jurafsky, 2016).

Two copies of a trained bot talk by sampling; reward rules (plugins, ``register_reward_rules``)
score every turn; REINFORCE with a baseline, mixed with MLE, fine-tunes the policy
(:class:`~botframework.reinforce.task.ReinforceTask`); :func:`~botframework.reinforce.run.reinforce`
writes ``<workspace>/checkpoints/rl-step-XXXXXXXX.safetensors``. The modules importing Lightning
(``task``, ``run``) are imported on use.
"""

from botframework.reinforce.context import RewardContext
from botframework.reinforce.rewards import (
    DEFAULT_REWARDS,
    RewardScorer,
    WeightedRule,
    build_reward_rules,
    check_required_models,
)
from botframework.reinforce.simulation import SimulatedDialogue, ending, simulate

__all__ = [
    "DEFAULT_REWARDS",
    "RewardContext",
    "RewardScorer",
    "SimulatedDialogue",
    "WeightedRule",
    "build_reward_rules",
    "check_required_models",
    "ending",
    "simulate",
]
