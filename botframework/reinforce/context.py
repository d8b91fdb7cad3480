"""What a reward rule sees: the dialogue, the reply, a judge model and helpers to score with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from botframework.data.encoding import encode_source
from botframework.data.turns import last_turns
from botframework.decoding.context import ScoringContext
from botframework.tensors import pad_sequences
from botframework.text import DEFAULT_DULL_REPLIES
from botframework.model.seq2seq import Seq2Seq
from botframework.tensors import pad_sequences


@dataclass
class RewardContext(ScoringContext):
    """A :class:`ScoringContext` for one reply of a simulated dialogue.

    ``dialogues[0]`` (also :attr:`dialogue`) holds the turns before the reply, the corpus prompt
    first and the turn being answered last; ``reply`` is the action being rewarded. ``model`` is the
    judge: the frozen MLE model reinforcement learning started from, so rewards do not drift while
    the policy learns. ``extra_models["reverse"]`` is the backward model p(prompt | reply) when the
    bot has one. ``source_ids`` hold the turns the policy answered, encoded.
    ``context_turns`` and ``max_source_length`` say how the model was trained to read a dialogue;
    ``dull_replies`` is the bot's dull-reply list (``reinforce.dull_replies``).
    ``batch_replies`` holds every reply scored with this one: all the turns the policy generated in
    the same training step (or, in ``eval``, for all the prompts), this reply among them, so that a
    rule can compare a reply with the others (e.g. pay for variety); empty when a reply is scored
    alone.
    """

    context_turns: int = 1
    max_source_length: int = 40
    dull_replies: tuple[str, ...] = DEFAULT_DULL_REPLIES
    batch_replies: tuple[str, ...] = ()

    @property
    def dialogue(self) -> list[str]:
        return self.dialogues[0]

    @property
    def query(self) -> str:
        """The turn the reply answers (the other agent's last turn)."""
        return self.dialogue[-1]

    @property
    def previous_own_turn(self) -> str | None:
        """The replying agent's previous turn, two turns back; None for the first reply."""
        return self.dialogue[-2] if len(self.dialogue) >= 2 else None

    def source_turns(self, turns: Sequence[str]) -> list[str]:
        """The last ``context_turns`` of ``turns``: what the model conditions on."""
        return last_turns(turns, self.context_turns)

    def log_likelihood(
        self,
        sources: Sequence[Sequence[str]],
        targets: Sequence[str],
        model: Seq2Seq | None = None,
        normalize: bool = True,
    ) -> torch.Tensor:
        """log p(target | source turns) for each row (N,), under ``model`` (default: the judge).

        With ``normalize`` the log-likelihood is divided by the target's length in tokens, EOS
        included (the 1/N of Li et al.'s rewards). No gradient flows.
        """
        model = model if model is not None else self.model
        tokenizer, device = self.tokenizer, next(model.parameters()).device
        source_ids = [encode_source(tokenizer, turns, self.max_source_length) for turns in sources]
        target_ids = [tokenizer.encode(text) + [tokenizer.eos_id] for text in targets]
        with torch.no_grad():
            scores = model.sequence_log_probs(
                *pad_sequences(source_ids, tokenizer.pad_id, device),
                *pad_sequences(target_ids, tokenizer.pad_id, device),
            )
        if normalize:
            scores = scores / torch.tensor([len(t) for t in target_ids], device=device)
        return scores.cpu()

    def encoder_states(
        self, sources: Sequence[Sequence[str]], model: Seq2Seq | None = None
    ) -> torch.Tensor:
        """The final hidden state of the encoder's top layer for each source (N, hidden_size)."""
        model = model if model is not None else self.model
        device = next(model.parameters()).device
        source_ids = [
            encode_source(self.tokenizer, turns, self.max_source_length) for turns in sources
        ]
        with torch.no_grad():
            padded = pad_sequences(source_ids, self.tokenizer.pad_id, device)
            return model.encode(*padded).hidden[-1].cpu()
