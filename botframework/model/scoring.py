"""Whole-sequence log-likelihoods of a :class:`~botframework.model.seq2seq.Seq2Seq`.

Scoring (perplexity, MMI-bidi's backward pass, reinforcement learning's rewards and losses) feeds a
whole target after BOS and reads log p(target | source), with the source cache mixed in. Without
gradients it avoids the (B, T, vocabulary) tensor and the padding of long rows; with them it keeps
the full softmax that training's losses differentiate.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from botframework.config.schema import ModelConfig
from botframework.model import source_cache
from botframework.model.projection import project


class SequenceScoring:
    """The scoring methods of the model; it provides ``features`` (the teacher-forced decoder
    outputs), ``output``, ``bos_id`` and ``config``."""

    config: ModelConfig
    output: nn.Linear
    bos_id: int
    features: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

    def sequence_log_probs(
        self,
        source_ids: torch.Tensor,
        source_lengths: torch.Tensor,
        target_out: torch.Tensor,
        target_lengths: torch.Tensor,
        bucket: int = 64,
    ) -> torch.Tensor:
        """log p(target | source) (B,) under the full softmax, EOS included, padding excluded.

        Without gradients (scoring, MMI re-ranking) the rows go in buckets of ``bucket`` with
        similar target lengths, each cut to its own longest source and target, so that a few long
        rows do not make every row pay for their padding. Only the real target positions are
        projected, a chunk of them at a time, and each needs only its token's logit and the
        log-normaliser: no (B, T, vocabulary) tensor is made.
        """
        if torch.is_grad_enabled():
            features, padding = self._teacher_forced(
                source_ids, source_lengths, target_out, target_lengths
            )
            return self._full_softmax(features, padding, source_ids, target_out)[0]
        order, scored = target_lengths.argsort(stable=True), []
        for rows in order.split(bucket):
            source_rows, target_rows = source_lengths[rows], target_lengths[rows]
            sources, targets = max(1, int(source_rows.max())), max(1, int(target_rows.max()))
            rows = rows.to(target_out.device)
            scored.append(
                self._scored_without_gradients(
                    source_ids[rows, :sources], source_rows, target_out[rows, :targets], target_rows
                )
            )
        scores = torch.cat(scored)
        return torch.empty_like(scores).index_copy_(0, order.to(scores.device), scores)

    def _scored_without_gradients(
        self,
        source_ids: torch.Tensor,
        source_lengths: torch.Tensor,
        target_out: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> torch.Tensor:
        """:meth:`sequence_log_probs` of one bucket of rows, projecting real positions only."""
        features, padding = self._teacher_forced(
            source_ids, source_lengths, target_out, target_lengths
        )
        token_log_probs = self._token_log_probs(features, target_out, ~padding)
        return self._summed(token_log_probs, padding, source_ids, target_out)

    def sequence_log_probs_and_entropy(
        self,
        source_ids: torch.Tensor,
        source_lengths: torch.Tensor,
        target_out: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`sequence_log_probs` (B,) and, from the same forward pass, the entropy of the
        model's next-token softmax summed over each target's positions (B,). The entropy is that of
        the network's own distribution, before the source cache mixes in the prompt's words. Makes
        the (B, T, vocabulary) tensor: meant for training."""
        features, padding = self._teacher_forced(
            source_ids, source_lengths, target_out, target_lengths
        )
        summed, log_probs = self._full_softmax(features, padding, source_ids, target_out)
        entropies = -(log_probs.exp() * log_probs).sum(dim=-1)
        return summed, entropies.masked_fill(padding, 0.0).sum(dim=1)

    def _full_softmax(
        self,
        features: torch.Tensor,
        padding: torch.Tensor,
        source_ids: torch.Tensor,
        target_out: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log p(target | source) (B,) with the source cache, and the network's own next-token
        log-probabilities (B, T, vocabulary) it came from."""
        log_probs = torch.log_softmax(self.output(features), dim=-1)
        token_log_probs = log_probs.gather(-1, target_out.unsqueeze(-1)).squeeze(-1)
        return self._summed(token_log_probs, padding, source_ids, target_out), log_probs

    def _summed(
        self,
        token_log_probs: torch.Tensor,
        padding: torch.Tensor,
        source_ids: torch.Tensor,
        target_out: torch.Tensor,
    ) -> torch.Tensor:
        """Each row's log p(target | source) (B,): the tokens' log-probabilities (B, T) mixed with
        the source cache and summed over the real positions."""
        token_log_probs = self.with_source_cache(token_log_probs, source_ids, target_out)
        return token_log_probs.masked_fill(padding, 0.0).sum(dim=1)

    def _teacher_forced(
        self,
        source_ids: torch.Tensor,
        source_lengths: torch.Tensor,
        target_out: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder features (B, T, H) with the targets fed in after BOS, and the padding (B, T)."""
        target_in = torch.cat(
            [torch.full_like(target_out[:, :1], self.bos_id), target_out[:, :-1]], dim=1
        )
        features = self.features(source_ids, source_lengths, target_in)
        positions = torch.arange(target_out.shape[1], device=target_out.device)
        padding = positions.unsqueeze(0) >= target_lengths.to(target_out.device).unsqueeze(1)
        return features, padding

    def _token_log_probs(
        self, features: torch.Tensor, targets: torch.Tensor, real: torch.Tensor, chunk: int = 128
    ) -> torch.Tensor:
        """log p of each target (B, T) at the ``real`` positions (B, T), 0 elsewhere; chunks
        small enough for the logits to stay in cache."""
        wanted, ids = features[real], targets[real]
        scores = []
        for start in range(0, len(ids), chunk):
            logits = project(self.output, wanted[start : start + chunk]).float()
            log_probs = torch.log_softmax(logits, dim=1)
            scores.append(log_probs.gather(1, ids[start : start + chunk, None]).squeeze(1))
        result = torch.zeros(targets.shape, dtype=features.dtype, device=features.device)
        return result.masked_scatter_(real, torch.cat(scores) if scores else result[real])

    def with_source_cache(
        self, token_log_probs: torch.Tensor, source_ids: torch.Tensor, target_out: torch.Tensor
    ) -> torch.Tensor:
        """The model's log-probabilities (B, T) of ``target_out`` (B, T) mixed with the source cache
        of ``source_ids`` (B, S); unchanged when ``model.source_cache`` is 0."""
        if not self.config.source_cache:
            return token_log_probs
        weights = source_cache.cache_weights(source_ids)
        cache = source_cache.target_cache_probs(source_ids, weights, target_out)
        lams = source_cache.row_weights(weights, self.config.source_cache)
        return source_cache.mix(token_log_probs, cache, lams)
