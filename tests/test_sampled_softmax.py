"""Sampled softmax: exact when every word is a negative, corrected and masked otherwise, and good
enough to train with."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from botframework.config.schema import ModelConfig
from botframework.data.batch import collate
from botframework.model import SampledSoftmaxLoss, Seq2Seq


def layer(vocab: int, hidden: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(vocab, hidden, generator=generator), torch.randn(vocab, generator=generator)


@pytest.mark.parametrize("counts", [None, [5, 0, 9, 1, 3, 3, 7, 2, 8, 4, 6, 1]])
@pytest.mark.parametrize("num_samples", [11, 12, 100])
def test_every_word_as_negative_is_the_full_softmax(
    counts: list[int] | None, num_samples: int
) -> None:
    weight, bias = layer(12)
    features, targets = torch.randn(9, 8), torch.randint(0, 12, (9,))
    loss = SampledSoftmaxLoss(num_samples, counts, 12)
    full = F.cross_entropy(features @ weight.t() + bias, targets)
    torch.testing.assert_close(loss(features, targets, weight, bias), full)


def test_zero_samples_is_the_full_softmax() -> None:
    weight, bias = layer(30)
    features, targets = torch.randn(4, 8), torch.randint(0, 30, (4,))
    loss = SampledSoftmaxLoss(0, None, 30)
    full = F.cross_entropy(features @ weight.t() + bias, targets)
    torch.testing.assert_close(loss(features, targets, weight, bias), full)


def test_sampled_logits_are_corrected_and_accidental_hits_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vocab, samples = 100, 3
    weight, bias = layer(vocab)
    features, targets = torch.randn(2, 8), torch.tensor([4, 50])
    loss = SampledSoftmaxLoss(samples, None, vocab)
    negatives = torch.tensor([0, 4, 9])
    monkeypatch.setattr(loss, "sample", lambda: negatives)
    logits = features @ weight.t() + bias

    def log_expected(word: int) -> float:
        return math.log(samples * math.log((word + 2) / (word + 1)) / math.log(vocab + 1))

    expected = []
    for row, target in enumerate(targets.tolist()):
        true = logits[row, target] - log_expected(target)
        sampled = [
            logits[row, word] - log_expected(word) for word in negatives.tolist() if word != target
        ]
        expected.append(-true + torch.logsumexp(torch.stack([true, *sampled]), dim=0))
    torch.testing.assert_close(
        loss(features, targets, weight, bias), torch.stack(expected).mean(), atol=1e-5, rtol=1e-5
    )


def test_samples_follow_a_zipf_law_over_frequency_ranks() -> None:
    torch.manual_seed(0)
    counts = [1, 100, 10, 1000, 0]
    loss = SampledSoftmaxLoss(20000, counts + [0] * 995, 1000)
    drawn = torch.bincount(loss.sample(), minlength=1000).double() / 20000
    # Rank 0 is id 3, rank 1 id 1, rank 2 id 2: P(rank r) = log((r + 2) / (r + 1)) / log(V + 1).
    for rank, word in enumerate([3, 1, 2]):
        probability = math.log((rank + 2) / (rank + 1)) / math.log(1001)
        assert abs(float(drawn[word]) - probability) < 0.01


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_samples"):
        SampledSoftmaxLoss(-1, None, 10)
    with pytest.raises(ValueError, match="token_counts has 3 entries"):
        SampledSoftmaxLoss(5, [1, 2, 3], 10)


def test_training_with_sampled_softmax_lowers_the_full_validation_loss() -> None:
    torch.manual_seed(0)
    vocab = 2000
    # Zipf-distributed replies whose first word repeats the prompt's: something to learn both from
    # frequencies and from the source.
    ranks = torch.arange(1, vocab - 4, dtype=torch.float64)
    zipf = 1.0 / ranks

    def pairs(count: int) -> list[tuple[list[int], list[int]]]:
        words = (torch.multinomial(zipf, count * 6, replacement=True) + 5).view(count, 6).tolist()
        return [(row[:3], [row[0], *row[3:], 2]) for row in words]

    train, held_out = collate(pairs(256)), collate(pairs(128))
    config = ModelConfig(embedding_size=16, hidden_size=32, num_layers=1, dropout=0.0)
    model = Seq2Seq(vocab, config)
    loss = SampledSoftmaxLoss(512, None, vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def validation_loss() -> float:
        with torch.no_grad():
            scores = model.sequence_log_probs(
                held_out.source_ids,
                held_out.source_lengths,
                held_out.target_out,
                held_out.target_lengths,
            )
        return float(-scores.sum() / held_out.target_lengths.sum())

    before = validation_loss()
    for _ in range(100):
        features = model(train.source_ids, train.source_lengths, train.target_in)
        real = train.target_out != 0
        value = loss(features[real], train.target_out[real], model.output.weight, model.output.bias)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    after = validation_loss()
    assert before > math.log(vocab) - 0.5
    assert after < before - 1.0
