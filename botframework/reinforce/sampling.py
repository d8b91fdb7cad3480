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
    with the defaults the samples follow the policy exactly, as REINFORCE assumes.
    """
    rows = source_ids.shape[0]
    state = model.start(model.encode(source_ids, source_lengths))
    tokens = torch.full((rows,), bos_id, dtype=torch.long, device=source_ids.device)
    drawn = torch.empty((rows, 0), dtype=torch.long, device=source_ids.device)
    finished = torch.zeros(rows, dtype=torch.bool, device=source_ids.device)
    for _ in range(max_length):
        log_probs, state = model.step(tokens, state)
        scores = log_probs / temperature
        if 0 < top_k < scores.shape[1]:
            threshold = scores.topk(top_k, dim=1).values[:, -1:]
            scores = scores.masked_fill(scores < threshold, float("-inf"))
        tokens = torch.multinomial(torch.softmax(scores, dim=-1), 1).squeeze(1)
        tokens = tokens.masked_fill(finished, eos_id)
        drawn = torch.cat([drawn, tokens[:, None]], dim=1)
        finished |= tokens == eos_id
        if bool(finished.all()):
            break
    ids, ended = [], []
    for row in drawn.tolist():
        cut = row.index(eos_id) if eos_id in row else len(row)
        ids.append(row[:cut])
        ended.append(cut < len(row))
    return ids, ended
