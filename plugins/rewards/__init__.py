"""Built-in reward rules of reinforcement learning (Li et al., 2016) and its evaluation metrics.

Each rule is a small class called as ``rule(ctx) -> float`` with a
:class:`botframework.RewardContext`; the paper weights them 0.25 (ease of answering),
0.25 (information flow) and 0.5 (semantic coherence), the defaults when a bot lists no rewards.
"""
