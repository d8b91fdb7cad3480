"""Built-in reward rules of reinforcement learning (Li et al., 2016) and its evaluation metrics.

Each rule is a small class called as ``rule(ctx) -> float`` with a
:class:`botframework.RewardContext`; the paper's weights are 0.25 (ease of answering), 0.25 (information flow), 0.5 (semantic coherence).
"""
