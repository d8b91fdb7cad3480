"""The seq2seq model: incremental decoding agrees with teacher forcing, padding is invisible, and a
tiny model memorises a few random pairs."""

from __future__ import annotations

import random

import pytest
import torch

from botframework.config.schema import ModelConfig
from botframework.data.batch import Batch, collate
from botframework.model import DecoderState, Seq2Seq

EOS = 2
VOCAB = 50


def tiny_config(**changes: object) -> ModelConfig:
    values = {"embedding_size": 16, "hidden_size": 32, "num_layers": 2, "dropout": 0.0}
    return ModelConfig(**{**values, **changes})


def random_pairs(count: int, seed: int, vocab: int = VOCAB) -> list[tuple[list[int], list[int]]]:
    rng = random.Random(seed)
    return [
        (
            [rng.randrange(5, vocab) for _ in range(rng.randint(2, 7))],
            [rng.randrange(5, vocab) for _ in range(rng.randint(1, 6))] + [EOS],
        )
        for _ in range(count)
    ]


def step_log_probs(model: Seq2Seq, batch: Batch) -> torch.Tensor:
    """(B, T, V) log-probabilities from ``step``, fed the teacher-forced inputs one at a time."""
    state = model.start(model.encode(batch.source_ids, batch.source_lengths))
    outputs = []
    for position in range(batch.target_in.shape[1]):
        log_probs, state = model.step(batch.target_in[:, position], state)
        outputs.append(log_probs)
    return torch.stack(outputs, dim=1)


def greedy(model: Seq2Seq, source: list[int], max_length: int = 12) -> list[int]:
    ids = torch.tensor([source])
    state = model.start(model.encode(ids, torch.tensor([len(source)])))
    token, reply = torch.tensor([1]), []
    for _ in range(max_length):
        log_probs, state = model.step(token, state)
        token = log_probs.argmax(dim=-1)
        reply.append(int(token))
        if reply[-1] == EOS:
            break
    return reply


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_step_matches_teacher_forced_features(cell: str, attention: str) -> None:
    torch.manual_seed(0)
    model = Seq2Seq(VOCAB, tiny_config(cell=cell, attention=attention)).eval()
    batch = collate(random_pairs(5, seed=1))
    with torch.no_grad():
        features = model.features(batch.source_ids, batch.source_lengths, batch.target_in)
        teacher_forced = torch.log_softmax(model.output(features), dim=-1)
        stepped = step_log_probs(model, batch)
        scores = model.sequence_log_probs(
            batch.source_ids, batch.source_lengths, batch.target_out, batch.target_lengths
        )
    assert features.shape == (5, batch.target_in.shape[1], 32)
    torch.testing.assert_close(stepped, teacher_forced, atol=1e-5, rtol=1e-5)
    token_scores = stepped.gather(-1, batch.target_out.unsqueeze(-1)).squeeze(-1)
    expected = [
        float(token_scores[row, :length].sum()) for row, length in enumerate(batch.target_lengths)
    ]
    torch.testing.assert_close(scores, torch.tensor(expected), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_reorder_selects_and_repeats_rows(cell: str) -> None:
    torch.manual_seed(0)
    model = Seq2Seq(VOCAB, tiny_config(cell=cell, attention="bahdanau")).eval()
    batch = collate(random_pairs(3, seed=2))
    state = model.start(model.encode(batch.source_ids, batch.source_lengths))
    index = torch.tensor([2, 0, 0, 1])
    reordered = model.reorder(state, index)
    assert isinstance(reordered, DecoderState)
    torch.testing.assert_close(reordered.hidden, state.hidden[:, index])
    torch.testing.assert_close(reordered.memory, state.memory[index])
    assert torch.equal(reordered.memory_mask, state.memory_mask[index])
    if cell == "lstm":
        assert state.cell is not None and reordered.cell is not None
        torch.testing.assert_close(reordered.cell, state.cell[:, index])
    with torch.no_grad():
        tokens = torch.tensor([7, 8, 9])
        log_probs, _ = model.step(tokens, state)
        reordered_log_probs, _ = model.step(tokens[index], reordered)
    torch.testing.assert_close(reordered_log_probs, log_probs[index])


@pytest.mark.parametrize("reverse_source", [True, False])
def test_padding_changes_nothing(reverse_source: bool) -> None:
    torch.manual_seed(0)
    model = Seq2Seq(VOCAB, tiny_config(reverse_source=reverse_source)).eval()
    pairs = random_pairs(4, seed=3)
    batch = collate(pairs)
    with torch.no_grad():
        together = model.sequence_log_probs(*_scoring_args(batch))
        alone = torch.cat([model.sequence_log_probs(*_scoring_args(collate([p]))) for p in pairs])
        garbage = batch.source_ids.clone()
        padding = torch.arange(garbage.shape[1]) >= batch.source_lengths.unsqueeze(1)
        garbage[padding] = 17
        with_garbage = model.sequence_log_probs(
            garbage, batch.source_lengths, batch.target_out, batch.target_lengths
        )
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(with_garbage, together)


def test_reverse_source_reverses_each_sequence_within_its_length() -> None:
    torch.manual_seed(0)
    reversing = Seq2Seq(VOCAB, tiny_config(reverse_source=True)).eval()
    plain = Seq2Seq(VOCAB, tiny_config(reverse_source=False)).eval()
    plain.load_state_dict(reversing.state_dict())
    source = torch.tensor([[5, 6, 7, 0], [8, 9, 10, 11]])
    flipped = torch.tensor([[7, 6, 5, 0], [11, 10, 9, 8]])
    lengths = torch.tensor([3, 4])
    with torch.no_grad():
        torch.testing.assert_close(
            reversing.encode(source, lengths).memory, plain.encode(flipped, lengths).memory
        )
    assert reversing.encode(source, lengths).memory_mask.tolist() == [
        [True, True, True, False],
        [True, True, True, True],
    ]


def test_tiny_model_memorises_twenty_pairs() -> None:
    torch.manual_seed(0)
    pairs = random_pairs(20, seed=4)
    batch = collate(pairs)
    model = Seq2Seq(VOCAB, tiny_config(embedding_size=32, hidden_size=64, num_layers=1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    for step in range(400):
        features = model(batch.source_ids, batch.source_lengths, batch.target_in)
        log_probs = torch.log_softmax(model.output(features), dim=-1)
        nll = -log_probs.gather(-1, batch.target_out.unsqueeze(-1)).squeeze(-1)
        loss = nll[batch.target_out != 0].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if loss.item() < 0.02:
            break
    model.eval()
    with torch.no_grad():
        assert [greedy(model, source) for source, _ in pairs] == [target for _, target in pairs]


def _scoring_args(batch: Batch) -> tuple[torch.Tensor, ...]:
    return batch.source_ids, batch.source_lengths, batch.target_out, batch.target_lengths


def test_source_cache_mixes_the_prompts_words_into_every_step() -> None:
    torch.manual_seed(0)
    lam = 0.2
    plain = Seq2Seq(VOCAB, tiny_config()).eval()
    cached = Seq2Seq(VOCAB, tiny_config(source_cache=lam)).eval()
    cached.load_state_dict(plain.state_dict())
    # Row 0 reads words 7, 7, 9 around a separator (4); row 1 only the empty prompt's EOS.
    batch = collate([([7, 4, 7, 9], [9, 11, EOS]), ([EOS], [12, EOS])])
    with torch.no_grad():
        p = step_log_probs(plain, batch).exp()
        mixed = step_log_probs(cached, batch).exp()
        teacher = cached.sequence_log_probs(
            batch.source_ids, batch.source_lengths, batch.target_out, batch.target_lengths
        )

    cache = torch.zeros(VOCAB)
    cache[7], cache[9] = 2 / 3, 1 / 3
    torch.testing.assert_close(mixed[0], (1 - lam) * p[0] + lam * cache, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mixed[1], p[1])  # no words: the plain model, e.g. the anti-LM's U
    torch.testing.assert_close(mixed.sum(dim=-1), torch.ones(2, 3))
    real = torch.arange(3) < batch.target_lengths.unsqueeze(1)
    expected = (mixed.log().gather(-1, batch.target_out.unsqueeze(-1)).squeeze(-1) * real).sum(1)
    torch.testing.assert_close(teacher, expected, rtol=1e-5, atol=1e-5)
