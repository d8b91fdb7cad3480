"""The RL system: simulated dialogues, rewards, REINFORCE with a baseline, mixed with MLE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from botframework.config.schema import BotConfig, ReinforceConfig
from botframework.data.corpus import Pair
from botframework.data.encoding import encode_source, encode_target
from botframework.data.tokenizer import Tokenizer
from botframework.data.turns import last_turns
from botframework.model.seq2seq import Seq2Seq
from botframework.reinforce.rewards import RewardScorer
from botframework.reinforce.sampling import SampledReply, sample_tokens
from botframework.reinforce.simulation import SimulatedDialogue, simulate
from botframework.tensors import pad_sequences


def curriculum_turns(settings: ReinforceConfig, step: int) -> int:
    """Turns per simulated dialogue at ``step``: ``min_turns``, one more every ``turns_every``
    steps, at most ``max_turns`` (Li et al. grow dialogues from 2 to 5 turns)."""
    return min(settings.max_turns, settings.min_turns + step // settings.turns_every)


@dataclass
class Action:
    """One generated turn: what the policy answered, what it said, its rewards and return."""

    reply: SampledReply
    turn: int
    values: dict[str, float]
    reward: float
    ret: float = 0.0


class ReinforceTask(pl.LightningModule):
    """Fine-tunes a trained :class:`Seq2Seq` (``model``) by policy gradient (Li et al., 2016).

    Each step simulates one dialogue per corpus pair of the batch: its context is the prompt, then
    the policy answers itself by sampling for up to :func:`curriculum_turns` turns,
    stopping early on a dull or repeated turn. Every turn is an action rewarded by the weighted
    rules; its return is its reward plus ``discount`` times the next turn's return (the default 0
    credits each reply with its own reward: the rules already look one turn ahead, and a sum of
    mostly negative log-likelihood rewards would otherwise pay for ending dialogues early). A turn
    that ends its dialogue early (dull, or a repeat of the agent's previous turn) also loses
    ``ending_penalty``: without it nothing stops the policy from settling on one well-paid stock
    reply, since repeating it merely ends the simulation.
    The loss is ``(1 - mle_weight) * -(A * log p(action)).mean() + mle_weight * MLE`` on the
    batch's true replies, with advantage A = return - baseline (a learned linear value of the
    encoder state and the turn, or a running mean per turn), optionally divided by its standard
    deviation. With ``kl_weight`` > 0 the return first loses ``kl_weight * (log p(action) -
    log p_start(action))``, p_start being the scorer's frozen judge (the starting model): without
    that guard the policy can collapse onto the few replies the rules like best. With
    ``entropy_weight`` > 0 the policy-gradient loss also loses that weight times the entropy of the
    policy's next-token distributions summed over each action's tokens (an entropy bonus, as in
    A3C): it pays the policy for spreading its probability, against the sharpening that chasing
    the rewards brings. Dropout stays off
    so the log-probabilities are those of the policy that sampled.
    """

    def __init__(
        self,
        model: Seq2Seq,
        scorer: RewardScorer,
        tokenizer: Tokenizer,
        trained_config: BotConfig,
        settings: ReinforceConfig,
        max_length: int,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.model = model
        self.scorer = scorer
        self.tokenizer = tokenizer
        self.settings = settings
        self.max_length = settings.max_length or max_length
        corpus = trained_config.corpus
        self.context_turns, self.max_source_length = corpus.context_turns, corpus.max_source_length
        self.max_target_length = corpus.max_target_length
        hidden, turns = trained_config.model.hidden_size, settings.max_turns
        self.value = nn.Linear(hidden + turns, 1) if settings.baseline == "learned" else None
        self.register_buffer("turn_means", torch.zeros(turns))
        self.register_buffer("turn_seen", torch.zeros(turns, dtype=torch.bool))

    def on_fit_start(self) -> None:
        self.scorer.to(self.device)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        groups = [{"params": list(self.model.parameters()), "lr": self.settings.learning_rate}]
        if self.value is not None:
            groups.append(
                {"params": list(self.value.parameters()), "lr": self.settings.baseline_learning_rate}
            )
        return torch.optim.Adam(groups)

    def transfer_batch_to_device(
        self, batch: list[Pair], device: torch.device, dataloader_idx: int
    ) -> list[Pair]:
        return batch  # texts, encoded onto the device as the simulation goes

    def training_step(self, batch: list[Pair], batch_idx: int) -> torch.Tensor:
        self.model.eval()
        limit = curriculum_turns(self.settings, self.global_step)
        dialogues = self.simulate([list(pair.context) for pair in batch], limit)
        actions = self.score(dialogues)
        mle_weight = self.settings.mle_weight
        zero = torch.zeros((), device=self.device)
        pg_loss, value_loss, divergence, entropy = (
            self.policy_gradient_loss(actions) if mle_weight < 1 else (zero, zero, zero, zero)
        )
        mle_loss = self.mle_loss(batch) if mle_weight > 0 else zero
        loss = (1 - mle_weight) * pg_loss + mle_weight * mle_loss + value_loss
        optimizer = self.optimizers()
        optimizer.zero_grad()
        self.manual_backward(loss)
        if self.settings.gradient_clip:
            self.clip_gradients(optimizer, self.settings.gradient_clip, "norm")
        optimizer.step()
        losses = (pg_loss, mle_loss, value_loss, divergence, entropy)
        self.log_step(dialogues, actions, losses, limit, len(batch))
        return loss.detach()

    def simulate(
        self, starts: list[list[str]], max_turns: int
    ) -> list[SimulatedDialogue[SampledReply]]:
        s = self.settings
        return simulate(self.respond, starts, max_turns, s.dull_replies, s.repetition_threshold)

    def respond(self, dialogues: list[list[str]]) -> list[SampledReply]:
        """One sampled reply per dialogue, from its last ``context_turns`` turns."""
        sources = [
            encode_source(self.tokenizer, last_turns(d, self.context_turns), self.max_source_length)
            for d in dialogues
        ]
        ids, finished = sample_tokens(
            self.model,
            *self.padded(sources),
            bos_id=self.tokenizer.bos_id,
            eos_id=self.tokenizer.eos_id,
            max_length=self.max_length,
            temperature=self.settings.temperature,
            top_k=self.settings.top_k,
        )
        eos = [self.tokenizer.eos_id]
        return [
            SampledReply(self.tokenizer.decode(row), source, row + eos if done else row, done)
            for source, row, done in zip(sources, ids, finished)
        ]

    def score(self, dialogues: Sequence[SimulatedDialogue[SampledReply]]) -> list[Action]:
        """Every generated turn as an action, with its rule values (each rule seeing all the
        batch's turns as ``batch_replies``), reward and return."""
        actions: list[Action] = []
        batch = tuple(text for dialogue in dialogues for text in dialogue.texts)
        for dialogue in dialogues:
            turns = []
            for index, (history, reply) in enumerate(dialogue.steps()):
                values = self.scorer.score(history, reply.text, batch)
                turns.append(Action(reply, index, values, self.scorer.total(values)))
            if dialogue.ended_by is not None and turns:
                turns[-1].reward -= self.settings.ending_penalty
            following = 0.0
            for action in reversed(turns):
                action.ret = following = action.reward + self.settings.discount * following
            actions.extend(turns)
        return actions

    def policy_gradient_loss(
        self, actions: list[Action]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The REINFORCE loss (with the entropy bonus), the learned baseline's squared error (0 for
        the running mean), the mean log-probability ratio of the actions to the starting model
        (their KL estimate) and the policy's mean entropy per generated token."""
        sources = self.padded([a.reply.source_ids for a in actions])
        targets = self.padded([a.reply.target_ids for a in actions])
        returns = torch.tensor([a.ret for a in actions], device=self.device)
        turns = torch.tensor([a.turn for a in actions], device=self.device)
        log_probs, entropies = self.model.sequence_log_probs_and_entropy(*sources, *targets)
        with torch.no_grad():
            divergence = log_probs.detach() - self.scorer.judge.sequence_log_probs(
                *sources, *targets
            )
        returns = returns - self.settings.kl_weight * divergence
        value_loss = torch.zeros((), device=self.device)
        if self.value is not None:
            state = self.model.encode(*sources).hidden[-1].detach()
            features = torch.cat([state, F.one_hot(turns, self.settings.max_turns).float()], 1)
            values = self.value(features).squeeze(1)
            value_loss = F.mse_loss(values, returns)
            baseline = values.detach()
        else:
            baseline = self.running_mean(turns, returns)
        advantage = returns - baseline
        if self.settings.normalize_advantage and len(actions) > 1:
            advantage = advantage / (advantage.std() + 1e-6)
        pg_loss = -(advantage * log_probs).mean() - self.settings.entropy_weight * entropies.mean()
        entropy = entropies.detach().sum() / targets[1].sum()
        return pg_loss, value_loss, divergence.mean(), entropy

    def running_mean(self, turns: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
        """Each action's turn's running mean return (before this batch), then updated with it."""
        baseline = self.turn_means[turns].clone()
        unseen = ~self.turn_seen[turns]
        baseline[unseen] = returns[unseen].mean()  # no history yet: the batch's own mean
        momentum = self.settings.baseline_momentum
        for turn in turns.unique():
            mean = returns[turns == turn].mean()
            if self.turn_seen[turn]:
                mean = momentum * self.turn_means[turn] + (1 - momentum) * mean
            self.turn_means[turn] = mean
            self.turn_seen[turn] = True
        return baseline

    def mle_loss(self, batch: list[Pair]) -> torch.Tensor:
        """Mean negative log-likelihood per token of the corpus replies (full softmax)."""
        sources = [encode_source(self.tokenizer, p.context, self.max_source_length) for p in batch]
        targets = [encode_target(self.tokenizer, p.reply, self.max_target_length) for p in batch]
        log_probs = self.model.sequence_log_probs(
            *self.padded(sources), *self.padded(targets)
        )
        return -log_probs.sum() / sum(map(len, targets))

    def padded(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """``rows`` of ids padded into a batch on the model's device, with their lengths."""
        return pad_sequences(rows, self.tokenizer.pad_id, self.device)

    def log_step(
        self,
        dialogues: Sequence[SimulatedDialogue[SampledReply]],
        actions: list[Action],
        losses: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
        turn_limit: int,
        batch_size: int,
    ) -> None:
        """Logged each step: mean reward (total and per rule), turns, dull endings, losses and
        the KL estimate to the starting model."""
        pg_loss, mle_loss, value_loss, divergence, entropy = losses
        mean = lambda xs: sum(xs) / len(xs) if xs else 0.0  # noqa: E731
        metrics = {
            "reward": mean([a.reward for a in actions]),
            "turns": mean([d.length for d in dialogues]),
            "dull_rate": mean([d.ended_by == "dull" for d in dialogues]),
            "turn_limit": float(turn_limit),
            "loss_pg": float(pg_loss.detach()),
            "loss_mle": float(mle_loss.detach()),
            "kl": float(divergence),
            "entropy": float(entropy),
        }
        if self.value is not None:
            metrics["loss_value"] = float(value_loss.detach())
        for label in self.scorer.labels:
            metrics[f"reward/{label}"] = mean([a.values[label] for a in actions])
        shown = {"reward", "turns"}
        for name, value in metrics.items():
            self.log(name, value, prog_bar=name in shown, batch_size=batch_size)
