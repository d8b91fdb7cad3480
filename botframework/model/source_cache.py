"""The source cache: a share of every next-token probability goes to the words of the prompt.

With weight λ (``model.source_cache``)::

    p(w) = (1 - λ) p_model(w) + λ c(w)

where ``c(w)`` is the share of the prompt's word positions that hold ``w``: a unigram cache (Kuhn
and De Mori, 1990) over what the user just said. Replies often repeat a word of the prompt ("my
favourite movie is ..."); a name or a rare word the model gives little probability gets some from
the cache. Special ids (padding, markers, separator, unknown word) are not words. A prompt without
words gets λ = 0, so the anti-LM's empty prompt still gives the plain language model U.
"""

from __future__ import annotations

import torch

from botframework.data.tokenizer import SPECIAL_TOKENS


def cache_weights(source_ids: torch.Tensor) -> torch.Tensor:
    """Each source position's share of the cache (B, S): 1 / (words in the row) at word positions,
    0 elsewhere; a row without words is all zeros."""
    words = (source_ids >= len(SPECIAL_TOKENS)).float()
    return words / words.sum(dim=1, keepdim=True).clamp(min=1.0)


def target_cache_probs(
    source_ids: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """c(target) (B, T) for target ids (B, T), given the sources (B, S) and their cache weights."""
    matches = source_ids.unsqueeze(1) == targets.unsqueeze(2)  # (B, T, S)
    return (matches.float() * weights.unsqueeze(1)).sum(dim=-1)


def mix_vocabulary(
    log_probs: torch.Tensor, source_ids: torch.Tensor, weights: torch.Tensor, lam: float
) -> torch.Tensor:
    """log((1 - λ) p + λ c) for every word (N, V), from the model's ``log_probs`` (N, V).

    The cache is sparse: a word outside the prompt only gets log(1 - λ) added, so the exact mixture
    is computed at the prompt's ids alone rather than over the whole vocabulary.
    """
    cache_terms, keep = prompt_cache_terms(source_ids, weights, lam)
    return mix_prompt_cache(log_probs.to(torch.float32, copy=True), source_ids, cache_terms, keep)


def prompt_cache_terms(
    source_ids: torch.Tensor, weights: torch.Tensor, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """What a source gives every step of :func:`mix_prompt_cache`, computed once: log(λ c) at
    each of its positions (N, S) and log(1 - λ) for each row (N, 1)."""
    lams = row_weights(weights, lam).unsqueeze(1)
    # log(0) = -inf where the cache gives nothing; logaddexp then returns the model's term.
    cache_terms = torch.log(lams * target_cache_probs(source_ids, weights, source_ids))
    return cache_terms, torch.log1p(-lams)


def mix_prompt_cache(
    log_probs: torch.Tensor,
    source_ids: torch.Tensor,
    cache_terms: torch.Tensor,
    keep: torch.Tensor,
) -> torch.Tensor:
    """:func:`mix_vocabulary` from :func:`prompt_cache_terms` (``cache_terms`` N × S, ``keep``
    N × 1). ``log_probs`` (N, V, float) is changed in place and returned."""
    at_prompt = torch.logaddexp(log_probs.gather(1, source_ids).add_(keep), cache_terms)
    return log_probs.add_(keep).scatter_(1, source_ids, at_prompt)


def row_weights(weights: torch.Tensor, lam: float) -> torch.Tensor:
    """Each row's λ (B,) from its cache weights (B, S): 0 for a prompt without words."""
    return torch.where(weights.sum(dim=1) > 0, lam, 0.0)


def mix(log_probs: torch.Tensor, cache_probs: torch.Tensor, lams: torch.Tensor) -> torch.Tensor:
    """log((1 - λ) p + λ c) from the model's ``log_probs`` and ``cache_probs`` of the same shape,
    whose first dimension is the batch, with each row's λ from :func:`row_weights`."""
    lams = lams.view((-1,) + (1,) * (log_probs.dim() - 1))
    # log(0) = -inf where the cache gives nothing; logaddexp then returns the model's term.
    from_model = torch.log1p(-lams) + log_probs.float()
    return torch.logaddexp(from_model, torch.log(lams * cache_probs))
