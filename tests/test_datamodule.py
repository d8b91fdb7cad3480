"""Corpus preparation, the tokenizer in the workspace, length bucketing and the data module."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import yaml

from botframework import ConfigError, CorpusError, Pair
from botframework.config.loader import BotDefinition, load_definition
from botframework.data.batch import Batch
from botframework.data.bucketing import LengthBucketSampler, ShuffledIndices
from botframework.data.corpus import pairs_from_conversations
from botframework.data.datamodule import DialogueDataModule, last_turn
from botframework.data.encoding import encode_source
from botframework.data.prepare import (
    load_or_train_tokenizer,
    read_conversations,
    tokenizer_from_json,
)
from botframework.plugins import Parts, build_plugin_manager, collect_parts


@pytest.fixture(scope="module")
def parts() -> Parts:
    return collect_parts(build_plugin_manager(block=["decoders.greedy"], entry_points=False))


def conversations(count: int = 40) -> list[list[str]]:
    """Conversations of 2 to 4 turns, each turn starting with its conversation's own word."""
    rng = random.Random(7)
    # Letters, not digits: the word tokenizer reads every digit as "0".
    names = [chr(97 + c % 26) + chr(97 + c // 26) for c in range(count)]
    return [
        [f"{name} " + "word " * rng.randint(0, 12) for _ in range(rng.randint(2, 4))]
        for name in names
    ]


def definition(tmp_path: Path, **sections: dict) -> BotDefinition:
    raw = {"name": "testbot", "workspace": "work", **sections}
    path = tmp_path / "testbot.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_definition(path)


def tiny_bot(tmp_path: Path, **training: object) -> BotDefinition:
    return definition(
        tmp_path,
        corpus={"reader": "pairs", "path": "chat.tsv", "validation_fraction": 0.25},
        tokenizer={"name": "word", "vocab_size": 100},
        training={"batch_size": 4, "seed": 3, **training},
    )


# --- preparation ----------------------------------------------------------------------------


def test_read_conversations_stops_at_max_pairs(parts: Parts, tmp_path: Path) -> None:
    (tmp_path / "chat.tsv").write_text("a\tb\tc\td\ne\tf\n", encoding="utf-8")
    bot = definition(tmp_path, corpus={"reader": "pairs", "path": "chat.tsv", "max_pairs": 2})
    assert read_conversations(bot, parts) == [["a", "b", "c"]]
    bot = definition(tmp_path, corpus={"reader": "pairs", "path": "chat.tsv"})
    assert read_conversations(bot, parts) == [["a", "b", "c", "d"], ["e", "f"]]


def test_read_conversations_errors(parts: Parts, tmp_path: Path) -> None:
    bot = definition(tmp_path, corpus={"reader": "tweets", "path": "chat.txt"})
    with pytest.raises(ConfigError, match=r"testbot.yaml: corpus.reader: unknown corpus reader"):
        read_conversations(bot, parts)
    bot = definition(tmp_path, corpus={"reader": "chitchat", "options": {"min_turns": 10**6}})
    with pytest.raises(CorpusError, match="gave no conversation"):
        read_conversations(bot, parts)


def test_tokenizer_is_trained_once_and_stored(
    parts: Parts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = tiny_bot(tmp_path)
    dialogues = conversations()
    tokenizer = load_or_train_tokenizer(bot, parts, dialogues)
    stored = bot.workspace / "tokenizer.json"
    assert stored.is_file()

    def refuse(*args: object) -> None:
        raise AssertionError("trained again")

    word = parts.tokenizers.get("word", "test")
    monkeypatch.setattr(word, "train", refuse)
    again = load_or_train_tokenizer(bot, parts, dialogues)
    assert again.to_json() == tokenizer.to_json()
    monkeypatch.undo()

    rebuilt = tokenizer_from_json(parts, "word", tokenizer.to_json())
    assert rebuilt.encode("ab word") == tokenizer.encode("ab word")
    # A different tokenizer in the YAML replaces the stored one.
    other = definition(
        tmp_path, workspace="work", tokenizer={"name": "subword", "vocab_size": 300}
    )
    assert load_or_train_tokenizer(other, parts, dialogues).name == "subword"


def test_tokenizer_learns_only_training_conversations(parts: Parts, tmp_path: Path) -> None:
    bot = tiny_bot(tmp_path)
    module_split = DialogueDataModule(bot.config, _identity_tokenizer(parts), conversations())
    tokenizer = load_or_train_tokenizer(bot, parts, conversations())
    held_out = {pair.reply.split()[0] for pair in module_split.val_pairs}
    seen = {pair.reply.split()[0] for pair in module_split.train_pairs}
    assert all(tokenizer.encode(word) == [tokenizer.unk_id] for word in held_out)
    assert all(tokenizer.encode(word) != [tokenizer.unk_id] for word in seen)


def _identity_tokenizer(parts: Parts):
    tokenizer = parts.tokenizers.create("word", {}, where="test")
    tokenizer.train(["unused"], 10)
    return tokenizer


# --- pairs and the split --------------------------------------------------------------------


def test_context_turns_joins_recent_turns_with_sep(parts: Parts) -> None:
    pairs = list(pairs_from_conversations([["a", "b", "c"]], context_turns=2))
    assert pairs == [Pair(("a",), "b"), Pair(("a", "b"), "c")]
    tokenizer = parts.tokenizers.create("word", {}, where="test")
    tokenizer.train(["a b c"], 20)
    a, b = tokenizer.encode("a")[0], tokenizer.encode("b")[0]
    assert encode_source(tokenizer, pairs[1].context, 40) == [a, tokenizer.sep_id, b]


def test_split_keeps_conversations_whole(parts: Parts, tmp_path: Path) -> None:
    data = conversations(60)
    module = DialogueDataModule(tiny_bot(tmp_path).config, _identity_tokenizer(parts), data)
    train_ids = {pair.reply.split()[0] for pair in module.train_pairs}
    val_ids = {pair.reply.split()[0] for pair in module.val_pairs}
    assert train_ids and val_ids and not train_ids & val_ids
    assert len(module.train_pairs) + len(module.val_pairs) == sum(len(c) - 1 for c in data)


# --- bucketing ------------------------------------------------------------------------------


def test_bucketing_covers_every_example_once_with_similar_lengths() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(1, 60) for _ in range(1000)]
    sampler = LengthBucketSampler(
        ShuffledIndices(1000, seed=5), 16, lengths=lengths, chunk_batches=20, seed=5
    )
    batches = list(sampler)
    assert len(batches) == len(sampler) == 63
    assert sorted(i for batch in batches for i in batch) == list(range(1000))

    def spread(groups: list[list[int]]) -> float:
        ranges = [max(lengths[i] for i in g) - min(lengths[i] for i in g) for g in groups]
        return sum(ranges) / len(ranges)

    unsorted = [list(range(s, min(s + 16, 1000))) for s in range(0, 1000, 16)]
    assert spread(batches) < spread(unsorted) / 5


def test_bucketing_is_deterministic_per_seed_and_epoch() -> None:
    lengths = list(range(200))

    def order(seed: int, epoch: int) -> list[list[int]]:
        sampler = LengthBucketSampler(
            ShuffledIndices(200, seed), 8, lengths=lengths, chunk_batches=5, seed=seed
        )
        sampler.sampler.set_epoch(epoch)
        return list(sampler)

    assert order(1, 0) == order(1, 0)
    assert order(1, 0) != order(2, 0)
    assert order(1, 0) != order(1, 1)


def test_bucketing_drop_last_and_sequential() -> None:
    lengths = [5, 1, 4, 2, 3]
    sampler = LengthBucketSampler(
        range(5), 2, drop_last=True, lengths=lengths, chunk_batches=None, shuffle=False
    )
    assert list(sampler) == [[1, 3], [4, 2]]
    assert len(sampler) == 2


# --- the data module ------------------------------------------------------------------------


def test_datamodule_serves_batches_with_bos_and_eos(parts: Parts, tmp_path: Path) -> None:
    bot = tiny_bot(tmp_path)
    tokenizer = load_or_train_tokenizer(bot, parts, conversations())
    module = DialogueDataModule(bot.config, tokenizer, conversations())
    module.setup("fit")
    seen = 0
    for batch in module.train_dataloader():
        assert isinstance(batch, Batch) and len(batch) <= 4
        assert (batch.target_in[:, 0] == tokenizer.bos_id).all()
        for row, length in enumerate(batch.target_lengths.tolist()):
            assert batch.target_out[row, length - 1] == tokenizer.eos_id
            assert (batch.target_out[row, length:] == tokenizer.pad_id).all()
            assert torch.equal(batch.target_in[row, 1:length], batch.target_out[row, : length - 1])
        assert batch.source_lengths.max() == batch.source_ids.shape[1]
        seen += len(batch)
    assert seen == len(module.train_pairs)
    assert sum(len(b) for b in module.val_dataloader()) == len(module.val_pairs)


def test_datamodule_without_validation(parts: Parts, tmp_path: Path) -> None:
    bot = tiny_bot(tmp_path)
    bot.config.corpus.validation_fraction = 0.0
    module = DialogueDataModule(bot.config, _identity_tokenizer(parts), conversations())
    assert module.val_pairs == [] and module.val_dataloader() == []


class _Echo(pl.LightningModule):
    """The least model that consumes a Batch: predicts each target id from an embedding."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, vocab_size)

    def training_step(self, batch: Batch, index: int) -> torch.Tensor:
        logits = self.embedding(batch.target_in)
        return torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), batch.target_out, ignore_index=0
        )

    def validation_step(self, batch: Batch, index: int) -> None:
        self.log("val_loss", self.training_step(batch, index), batch_size=len(batch))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.parametrize("validation_fraction", [0.0, 0.25])
def test_lightning_trains_from_the_datamodule(
    parts: Parts, tmp_path: Path, validation_fraction: float
) -> None:
    bot = tiny_bot(tmp_path)
    bot.config.corpus.validation_fraction = validation_fraction
    tokenizer = load_or_train_tokenizer(bot, parts, conversations())
    module = DialogueDataModule(bot.config, tokenizer, conversations())
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(_Echo(tokenizer.vocab_size), datamodule=module)
    assert trainer.global_step == 2 * -(-len(module.train_pairs) // 4)


def test_empty_source_rate_swaps_training_prompts_only(parts: Parts, tmp_path: Path) -> None:
    bot = tiny_bot(tmp_path, empty_source_rate=0.5)
    talk = conversations(200)
    tokenizer = load_or_train_tokenizer(bot, parts, talk)
    module = DialogueDataModule(bot.config, tokenizer, talk)
    empty = encode_source(tokenizer, (), 1)

    def empty_rows(batches) -> tuple[int, int]:
        emptied = total = 0
        for batch in batches:
            for row, length in enumerate(batch.source_lengths.tolist()):
                emptied += batch.source_ids[row, :length].tolist() == empty
                total += 1
        return emptied, total

    epochs = [empty_rows(module.train_dataloader()) for _ in range(2)]
    for emptied, total in epochs:
        assert total == len(module.train_pairs) and 0.4 < emptied / total < 0.6
    assert empty_rows(module.val_dataloader())[0] == 0
    again = DialogueDataModule(bot.config, tokenizer, talk)
    assert empty_rows(again.train_dataloader()) == epochs[0]  # seeded: runs repeat exactly
    bot.config.training.empty_source_rate = 0.0
    plain = DialogueDataModule(bot.config, tokenizer, talk)
    assert empty_rows(plain.train_dataloader())[0] == 0


def test_last_turn_rate_cuts_training_prompts_to_their_last_turn(
    parts: Parts, tmp_path: Path
) -> None:
    corpus = {"reader": "pairs", "path": "chat.tsv", "validation_fraction": 0.25}
    corpus["context_turns"] = 3
    bot = definition(
        tmp_path,
        corpus=corpus,
        tokenizer={"name": "word", "vocab_size": 100},
        training={"batch_size": 4, "seed": 3, "last_turn_rate": 0.5, "empty_source_rate": 0.2},
    )
    talk = conversations(200)
    tokenizer = load_or_train_tokenizer(bot, parts, talk)
    module = DialogueDataModule(bot.config, tokenizer, talk)
    sep, empty = tokenizer.sep_id, encode_source(tokenizer, (), 1)
    several = sum(len(pair.context) > 1 for pair in module.train_pairs)
    assert several > 100

    def counts(batches) -> tuple[int, int]:
        kept = emptied = 0
        for batch in batches:
            for row, length in enumerate(batch.source_lengths.tolist()):
                source = batch.source_ids[row, :length].tolist()
                kept += sep in source
                emptied += source == empty
        return kept, emptied

    kept, emptied = counts(module.train_dataloader())
    assert 0.2 < kept / several < 0.4  # 1 - 0.5 - 0.2 of them keep every turn
    assert 0.1 < emptied / len(module.train_pairs) < 0.3
    val_several = sum(len(pair.context) > 1 for pair in module.val_pairs)
    assert counts(module.val_dataloader()) == (val_several, 0)


def test_last_turn_keeps_the_ids_after_the_last_separator() -> None:
    assert last_turn([5, 6, 4, 7, 4, 8, 9], sep_id=4) == [8, 9]
    assert last_turn([5, 6], sep_id=4) == [5, 6]
    assert last_turn([5, 4], sep_id=4) == [5, 4]  # never an empty source


def test_the_prompt_rates_must_leave_some_prompts_whole(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must add up to less than 1"):
        tiny_bot(tmp_path, empty_source_rate=0.5, last_turn_rate=0.5)
