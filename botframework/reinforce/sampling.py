"""Replies drawn token by token from the policy, for the simulated dialogues of RL."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from botframework.model.seq2seq import Seq2Seq


@dataclass
class SampledReply:
    """A sampled turn: its text, the source ids it answered and the action's token ids.

    ``target_ids`` end with EOS when the sample drew one (``finished``): the EOS is then part of
    the action whose log-probability the policy gradient raises or lowers.
    """

    text: str
    source_ids: list[int]
    target_ids: list[int]
    finished: bool


@torch.no_grad()
def sample_tokens(
    model: Seq2Seq,
    source_ids: torch.Tensor,
    source_lengths: torch.Tensor,
    *,
    bos_id: int,
    eos_id: int,
    max_length: int,
    temperature: float = 1.0,
    top_k: int = 0,
) -> tuple[list[list[int]], list[bool]]:
    """One sample per source row: its token ids before EOS, and whether EOS was drawn.

    Tokens come from softmax(log p / ``temperature``) cut to the ``top_k`` likeliest (0: no cut);
    with the defaults the samples follow the policy exactly, as REINFORCE assumes. Rows that drew
    EOS leave the batch.
    """
    state = model.start(model.encode(source_ids, source_lengths))
    rows = torch.arange(source_ids.shape[0], device=source_ids.device)
    tokens = torch.full_like(rows, bos_id)
    drawn: list[list[int]] = [[] for _ in range(len(rows))]
    finished = [False] * len(rows)
    for _ in range(max_length):
        log_probs, state = model.step(tokens, state)
        tokens = draw(log_probs, temperature, top_k)
        for row, token in zip(rows.tolist(), tokens.tolist()):
            if token == eos_id:
                finished[row] = True
            else:
                drawn[row].append(token)
        going = tokens != eos_id
        if not bool(going.any()):
            break
        if not bool(going.all()):
            keep = going.nonzero().squeeze(1)
            rows, tokens, state = rows[keep], tokens[keep], model.reorder(state, keep)
    return drawn, finished


def draw(log_probs: torch.Tensor, temperature: float = 1.0, top_k: int = 0) -> torch.Tensor:
    """One token per row from softmax(``log_probs`` / temperature), cut to the ``top_k`` likeliest.

    Gumbel-max: the argmax of the scores plus Gumbel noise is a draw from their softmax (faster
    than ``torch.multinomial`` over a large vocabulary).
    """
    scores = log_probs / temperature
    if 0 < top_k < scores.shape[1]:
        threshold = scores.topk(top_k, dim=1).values[:, -1:]
        scores = scores.masked_fill(scores < threshold, float("-inf"))
    gumbel = -torch.empty_like(scores).exponential_().log()
    return (scores + gumbel).argmax(dim=1)
