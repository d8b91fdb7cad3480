"""The training and validation data of one bot, served as padded, length-bucketed batches."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial

import pytorch_lightning as pl
from torch.utils.data import DataLoader, SequentialSampler, get_worker_info

from botframework.config.schema import BotConfig
from botframework.data.batch import Batch, collate
from botframework.data.bucketing import LengthBucketSampler, ShuffledIndices
from botframework.data.corpus import Pair, pairs_from_conversations
from botframework.data.encoding import empty_source, encode_source, encode_target
from botframework.data.prepare import split_dialogues
from botframework.data.tokenizer import Tokenizer

Example = tuple[list[int], list[int]]


class DialogueDataModule(pl.LightningDataModule):
    """Splits whole conversations into training and validation, then encodes their pairs.

    ``train_pairs`` and ``val_pairs`` are known as soon as it is built (evaluation reuses them);
    the ids are encoded once, on first use. Training batches hold examples of similar length in an
    order fixed by ``training.seed``; validation batches are sorted by length. With
    ``training.empty_source_rate`` each training prompt is swapped for the empty prompt with that
    probability, drawn anew every epoch, so the decoder also learns the language model p(reply);
    with ``training.last_turn_rate`` a prompt is cut to its last turn instead, so that one turn
    alone is not only ever a conversation's opening.
    With no validation conversations, :meth:`val_dataloader` returns an empty list and Lightning
    skips validation.
    With ``reverse`` every pair is turned around (reply -> prompt): the data of a backward model
    p(prompt | reply) that MMI re-ranking and reward rules use.
    """

    def __init__(
        self,
        config: BotConfig,
        tokenizer: Tokenizer,
        conversations: list[list[str]],
        reverse: bool = False,
    ) -> None:
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        training, validation = split_dialogues(config, conversations)
        self.train_pairs: list[Pair] = list(
            pairs_from_conversations(training, config.corpus.context_turns)
        )
        self.val_pairs: list[Pair] = list(
            pairs_from_conversations(validation, config.corpus.context_turns)
        )
        if reverse:
            self.train_pairs = [Pair((p.reply,), p.prompt) for p in self.train_pairs]
            self.val_pairs = [Pair((p.reply,), p.prompt) for p in self.val_pairs]
        seed = config.training.seed
        self.seed = seed if seed is not None else random.randrange(2**31)
        self._train_examples: list[Example] | None = None
        self._val_examples: list[Example] | None = None

    def setup(self, stage: str | None = None) -> None:
        """Encode every pair (once; later calls do nothing)."""
        if self._train_examples is None:
            self._train_examples = self.encode(self.train_pairs)
            self._val_examples = self.encode(self.val_pairs)

    def encode(self, pairs: list[Pair]) -> list[Example]:
        """(source ids, target ids ending with EOS) for each pair, cut to the configured lengths."""
        corpus = self.config.corpus
        return [
            (
                encode_source(self.tokenizer, pair.context, corpus.max_source_length),
                encode_target(self.tokenizer, pair.reply, corpus.max_target_length),
            )
            for pair in pairs
        ]

    @property
    def train_examples(self) -> list[Example]:
        self.setup()
        assert self._train_examples is not None
        return self._train_examples

    @property
    def val_examples(self) -> list[Example]:
        self.setup()
        assert self._val_examples is not None
        return self._val_examples

    def train_dataloader(self) -> DataLoader:
        examples = self.train_examples
        if not examples:
            raise ValueError("no training pairs: the corpus holds no conversation for training")
        sampler = LengthBucketSampler(
            ShuffledIndices(len(examples), self.seed),
            self.config.training.batch_size,
            lengths=_lengths(examples),
            shuffle=True,
            seed=self.seed,
        )
        training = self.config.training
        if training.empty_source_rate or training.last_turn_rate:
            dropout = PromptDropout(
                training.empty_source_rate,
                training.last_turn_rate,
                empty_source(self.tokenizer),
                self.tokenizer.sep_id,
                self.seed,
            )
            return self._loader(examples, sampler, dropout)
        return self._loader(examples, sampler)

    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        examples = self.val_examples
        if not examples:
            return []
        sampler = LengthBucketSampler(
            SequentialSampler(examples),
            self.config.training.batch_size,
            lengths=_lengths(examples),
            chunk_batches=None,
            shuffle=False,
        )
        return self._loader(examples, sampler)

    def _loader(
        self,
        examples: list[Example],
        sampler: LengthBucketSampler,
        transform: Callable[[list[Example]], list[Example]] | None = None,
    ) -> DataLoader:
        workers = self.config.training.num_workers
        pad = partial(collate, pad_id=self.tokenizer.pad_id, bos_id=self.tokenizer.bos_id)
        return DataLoader(
            examples,
            batch_sampler=sampler,
            collate_fn=pad if transform is None else partial(_transformed, transform, pad),
            num_workers=workers,
            persistent_workers=workers > 0,
        )


class PromptDropout:
    """Swaps each example's source for ``empty`` with probability ``empty_rate``, or cuts it to
    its last turn (the ids after its last ``sep_id``) with probability ``last_turn_rate``.

    Each data-loader worker draws from its own seeded stream, so runs repeat exactly.
    """

    def __init__(
        self, empty_rate: float, last_turn_rate: float, empty: list[int], sep_id: int, seed: int
    ) -> None:
        self.empty_rate, self.last_turn_rate = empty_rate, last_turn_rate
        self.empty, self.sep_id, self.seed = empty, sep_id, seed
        self._random: random.Random | None = None

    def __call__(self, examples: list[Example]) -> list[Example]:
        if self._random is None:
            worker = get_worker_info()
            self._random = random.Random(self.seed * 1000 + (worker.id + 1 if worker else 0))
        changed = []
        for source, target in examples:
            draw = self._random.random()
            if draw < self.empty_rate:
                source = self.empty
            elif draw < self.empty_rate + self.last_turn_rate:
                source = last_turn(source, self.sep_id)
            changed.append((source, target))
        return changed


def last_turn(source: list[int], sep_id: int) -> list[int]:
    """The ids of ``source``'s last turn: all of it when it holds one turn."""
    if sep_id not in source:
        return source
    return source[len(source) - source[::-1].index(sep_id) :] or source


def _transformed(transform: Callable[[list[Example]], list[Example]], pad, examples) -> Batch:
    return pad(transform(examples))


def _lengths(examples: list[Example]) -> list[int]:
    # A batch is padded on both sides, so the longer side decides how much of it is padding.
    return [max(len(source), len(target)) for source, target in examples]
