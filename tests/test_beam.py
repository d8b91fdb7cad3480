"""Beam search (and sampling) on tiny models: greedy agreement, exhaustive search, batching."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
import torch
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.decoders.greedy import GreedyDecoder
from botframework_plugins.decoders.sampling import Sampling
from botframework_plugins.rescorers.antilm import AntiLanguageModel
from botframework_plugins.rescorers.length_bonus import LengthBonus
from botframework_plugins.rescorers.no_repeat_ngram import NoRepeatNGram
from botframework_plugins.tokenizers.word import WordTokenizer

from botframework import Candidate, ScoringContext
from botframework.config.schema import ModelConfig
from botframework.data.encoding import empty_source, encode_source, encode_target
from botframework.model.seq2seq import Seq2Seq
from botframework.plugins import build_plugin_manager, collect_parts
from tests.conftest import TINY_PAIRS

SMALL = ModelConfig(embedding_size=32, hidden_size=64, num_layers=1, dropout=0.0, sampled_softmax=0)


def train_toy(
    pairs: Sequence[tuple[str, str]],
    steps: int = 150,
    seed: int = 0,
    language_model: bool = False,
    config: ModelConfig = SMALL,
    tokenizer: WordTokenizer | None = None,
    vocab_size: int = 1000,
) -> tuple[Seq2Seq, WordTokenizer]:
    """A tiny model fitted to ``pairs`` by a plain full-softmax loop (repeat a pair to weight it).

    With ``language_model``, every reply is also learned from the empty source, so
    the model's decoder with an empty source is a language model of the replies. A tokenizer is
    trained on the pairs unless one is given (a reverse model must share its forward model's).
    """
    torch.manual_seed(seed)
    if tokenizer is None:
        tokenizer = WordTokenizer()
        tokenizer.train([text for pair in pairs for text in pair], vocab_size)
    examples = [
        (encode_source(tokenizer, [p], 40), encode_target(tokenizer, r, 40)) for p, r in pairs
    ]
    if language_model:
        examples += [(empty_source(tokenizer), target) for _, target in examples]
    model = Seq2Seq(tokenizer.vocab_size, config)
    source, source_lengths = pad([s for s, _ in examples])
    target_out, target_lengths = pad([t for _, t in examples])
    target_in = torch.cat(
        [torch.full_like(target_out[:, :1], tokenizer.bos_id), target_out[:, :-1]], 1
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        logits = model.output(model.features(source, source_lengths, target_in))
        loss = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), target_out, ignore_index=tokenizer.pad_id
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), tokenizer


def pad(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.zeros((len(rows), max(map(len, rows))), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(list(row))
    return ids, torch.tensor([len(row) for row in rows])


def context(
    model: Seq2Seq, tokenizer, prompts: Sequence[str], max_length: int = 12
) -> ScoringContext:
    source_ids, lengths = pad([encode_source(tokenizer, [p], 40) for p in prompts])
    return ScoringContext(
        model=model,
        tokenizer=tokenizer,
        source_ids=source_ids,
        source_lengths=lengths,
        dialogues=[[p] for p in prompts],
        max_length=max_length,
    )


def decode(decoder, model, tokenizer, prompts, rescorers=(), max_length: int = 12):
    with torch.inference_mode():
        return decoder(context(model, tokenizer, prompts, max_length), list(rescorers))


def named(rescorer, name: str):
    rescorer.name = name
    return rescorer


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(one_thread) -> tuple[Seq2Seq, WordTokenizer]:
    return train_toy(TINY_PAIRS, steps=120)


PROMPTS = [prompt for prompt, _ in TINY_PAIRS[:8]]


def test_beam_size_one_is_exactly_greedy(tiny) -> None:
    model, tokenizer = tiny
    greedy = decode(GreedyDecoder(), model, tokenizer, PROMPTS)
    beam = decode(BeamSearch(beam_size=1), model, tokenizer, PROMPTS)
    for (g,), (b,) in zip(greedy, beam):
        assert b.token_ids == g.token_ids
        assert b.score == pytest.approx(g.score, abs=1e-4)
    assert [tokenizer.decode(row[0].token_ids) for row in beam] == [r for _, r in TINY_PAIRS[:8]]


def test_beam_size_one_is_greedy_on_an_untrained_model_too() -> None:
    torch.manual_seed(3)
    model, tokenizer = train_toy(TINY_PAIRS, steps=0)
    greedy = decode(GreedyDecoder(), model, tokenizer, PROMPTS, max_length=8)
    beam = decode(BeamSearch(beam_size=1), model, tokenizer, PROMPTS, max_length=8)
    assert [row[0].token_ids for row in beam] == [row[0].token_ids for row in greedy]


def test_zero_weight_rescorers_give_the_plain_beam(tiny) -> None:
    model, tokenizer = tiny
    plain = decode(BeamSearch(beam_size=4), model, tokenizer, PROMPTS)
    zeroed = decode(
        BeamSearch(beam_size=4),
        model,
        tokenizer,
        PROMPTS,
        [
            named(AntiLanguageModel(weight=0), "antilm"),
            named(LengthBonus(weight=0), "length_bonus"),
        ],
    )
    for a, b in zip(plain, zeroed):
        assert [c.token_ids for c in a] == [c.token_ids for c in b]
        assert [c.score for c in a] == pytest.approx([c.score for c in b], abs=1e-5)
        assert all(c.scores["antilm"] == 0 and c.scores["length_bonus"] == 0 for c in b)


def exhaustive_best(model, tokenizer, prompt: str, length: int) -> tuple[float, list[int]]:
    """The best reply by enumerating every token sequence up to ``length`` (EOS ends a reply)."""
    eos, vocab = tokenizer.eos_id, model.vocab_size
    replies = set()
    for sequence in itertools.product(range(vocab), repeat=length):
        replies.add(sequence[: sequence.index(eos) + 1] if eos in sequence else sequence)
    replies = sorted(replies)
    targets, lengths = pad(replies)
    source, source_lengths = pad([encode_source(tokenizer, [prompt], 40)] * len(replies))
    with torch.inference_mode():
        scores = model.sequence_log_probs(source, source_lengths, targets, lengths)
    best = int(scores.argmax())
    return float(scores[best]), [t for t in replies[best] if t != eos]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_beam_keeping_every_prefix_finds_the_exhaustive_best(seed: int) -> None:
    model, tokenizer = train_toy([("a", "b c")], steps=0, seed=seed)  # 8 ids, random weights
    with torch.no_grad():
        model.output.weight.mul_(8.0)  # peaked distributions, so the best is not a near-tie
    length, vocab = 3, model.vocab_size
    best_score, best_ids = exhaustive_best(model, tokenizer, "a b", length)
    ((found, *_),) = decode(
        BeamSearch(beam_size=vocab ** (length - 1)), model, tokenizer, ["a b"], max_length=length
    )
    assert found.score == pytest.approx(best_score, abs=1e-4)
    assert found.token_ids == best_ids


TRAP = [("x", "a p"), ("x", "a q"), ("x", "a r"), ("x", "a s"), ("x", "b c"), ("x", "b c")]


def test_a_wider_beam_finds_a_better_reply_than_greedy() -> None:
    # p(a) = 4/6 but every continuation of "a" has 1/4; p(b c) = 2/6 beats any "a ?" (1/6).
    model, tokenizer = train_toy(TRAP, steps=200)
    ((greedy,),) = decode(GreedyDecoder(), model, tokenizer, ["x"])
    ((best, *_),) = decode(BeamSearch(beam_size=3), model, tokenizer, ["x"])
    assert tokenizer.decode(greedy.token_ids).startswith("a ")
    assert tokenizer.decode(best.token_ids) == "b c"
    assert best.score > greedy.score + 0.3


def test_batched_decoding_equals_one_at_a_time(tiny) -> None:
    model, tokenizer = tiny
    rescorers = [
        named(AntiLanguageModel(weight=0.3, first_tokens=2), "antilm"),
        named(NoRepeatNGram(2), "no_repeat_ngram"),
    ]
    prompts = PROMPTS + ["an unseen prompt with more words than the others", "?"]
    together = decode(BeamSearch(beam_size=5), model, tokenizer, prompts, rescorers)
    for prompt, row in zip(prompts, together):
        (alone,) = decode(BeamSearch(beam_size=5), model, tokenizer, [prompt], rescorers)
        assert [c.token_ids for c in alone] == [c.token_ids for c in row]
        assert [c.score for c in alone] == pytest.approx([c.score for c in row], abs=1e-4)


def test_n_best_lists_are_sorted_with_breakdowns_that_add_up(tiny) -> None:
    model, tokenizer = tiny
    bonus = named(LengthBonus(0.2), "length_bonus")
    rows = decode(
        BeamSearch(beam_size=6, n_best=4), model, tokenizer, PROMPTS, [bonus], max_length=5
    )
    for row in rows:
        assert len(row) == 4
        assert [c.score for c in row] == sorted((c.score for c in row), reverse=True)
        assert len({tuple(c.token_ids) for c in row}) == 4
        for candidate in row:
            assert len(candidate.token_ids) <= 5
            assert sum(candidate.scores.values()) == pytest.approx(candidate.score, abs=1e-4)
            assert candidate.scores["length_bonus"] == pytest.approx(0.2 * len(candidate.token_ids))


def test_an_early_eos_does_not_end_the_search_for_other_beams(tiny) -> None:
    model, tokenizer = tiny
    (row,) = decode(BeamSearch(beam_size=8), model, tokenizer, ["hi"])
    lengths = {len(c.token_ids) for c in row}
    assert len(lengths) > 1  # finished replies of several lengths were collected


def test_min_length_holds_eos_back(tiny) -> None:
    model, tokenizer = tiny
    rows = decode(BeamSearch(beam_size=3, min_length=7), model, tokenizer, ["hi"], max_length=9)
    assert all(len(c.token_ids) >= 7 for c in rows[0])


def test_bfloat16_output_keeps_the_replies_of_a_trained_model(tiny) -> None:
    model, tokenizer = tiny
    plain = decode(BeamSearch(beam_size=4), model, tokenizer, PROMPTS)
    fast = decode(BeamSearch(beam_size=4, output_dtype="bfloat16"), model, tokenizer, PROMPTS)
    assert [r[0].token_ids for r in fast] == [r[0].token_ids for r in plain]
    assert model.output.weight.dtype == torch.float32  # the model is left as it was


def test_sampling_is_repeatable_and_top_k_one_is_greedy(tiny) -> None:
    model, tokenizer = tiny
    first = decode(Sampling(num_samples=3, temperature=1.5, seed=5), model, tokenizer, PROMPTS)
    again = decode(Sampling(num_samples=3, temperature=1.5, seed=5), model, tokenizer, PROMPTS)
    assert [[c.token_ids for c in r] for r in first] == [[c.token_ids for c in r] for r in again]
    assert all(len(row) == 3 for row in first)
    greedy = decode(GreedyDecoder(), model, tokenizer, PROMPTS)
    for top_one in (Sampling(top_k=1, seed=1), Sampling(top_p=1e-6, seed=1)):
        sampled = decode(top_one, model, tokenizer, PROMPTS)
        assert [r[0].token_ids for r in sampled] == [r[0].token_ids for r in greedy]


def test_sampling_with_anti_lm_rows() -> None:
    model, tokenizer = train_toy(TRAP, steps=0)
    antilm = named(AntiLanguageModel(0.5, 2), "antilm")
    rows = decode(
        Sampling(num_samples=4, seed=0), model, tokenizer, ["x", "a"], [antilm], max_length=4
    )
    assert all(c.scores["antilm"] != 0 for row in rows for c in row)


def test_decoders_are_registered_and_check_their_arguments() -> None:
    parts = collect_parts(build_plugin_manager(entry_points=False))
    assert {"greedy", "beam", "sampling"} <= set(parts.decoders.factories)
    beam = parts.decoders.create("beam", {"beam_size": 3}, "bot.yaml: decoding.decoder")
    assert (beam.beam_size, beam.n_best) == (3, 3)
    bad = [
        ("beam", {"beam_size": 0}, "beam_size must be a positive integer, got 0"),
        ("beam", {"beam_size": 2, "n_best": 3}, r"n_best \(3\) cannot exceed beam_size \(2\)"),
        ("beam", {"output_dtype": "half"}, "output_dtype must be one of float32, bfloat16"),
        ("beam", {"min_length": -1}, "min_length must be an integer of at least 0"),
        ("beam", {"beam_size": 5, "groups": 2}, r"beam_size \(5\) must be a multiple of groups"),
        ("beam", {"diversity": -1}, "diversity must be a number of at least 0"),
        ("beam", {"length_penalty_alpha": "x"}, "length_penalty_alpha must be a number"),
        ("sampling", {"temperature": 0}, "temperature must be a positive number"),
        ("sampling", {"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
        ("sampling", {"top_k": -1}, "top_k must be 0"),
    ]
    for name, args, message in bad:
        with pytest.raises(ValueError, match=message):
            parts.decoders.create(name, args, "bot.yaml: decoding.decoder")


def test_decode_benchmark_reports_every_number() -> None:
    from botframework.bench.decode import run_decode_benchmark

    model, tokenizer = train_toy(TRAP, steps=0)
    antilm = {"weight": 0.9, "first_tokens": 5, "plausibility": 0.1}
    result = run_decode_benchmark(
        model, tokenizer, 2, 1, beam_size=3, batch_size=4, reply_length=4, antilm_args=antilm
    )
    assert result["antilm"] == antilm  # the YAML's anti-LM is the one timed
    for key in (
        "greedy_ms",
        "beam3_ms",
        "beam3_antilm_ms",
        "sequential_replies_per_s",
        "batch4_replies_per_s",
        "seed_style_beam3_antilm_ms",
        "hidden_size",
        "vocab_size",
    ):
        assert result[key] > 0
    assert set(result["bfloat16_output"]) >= {"greedy_ms", "same_best_replies", "ratios"}
    floors = result["floor_ms"]
    assert floors["batch4_without_lm_ms_per_reply"] <= floors["batch4_ms_per_reply"]
    assert result["ratios"]["batch_over_sequential_ceiling"] > 0


def test_the_batching_ceiling_is_one_at_a_time_over_the_cheapest_batch_floor() -> None:
    from botframework.bench.decode import _batch_ceiling

    timings = {"beam3_antilm_ms": 30.0}
    floors = {"batch4_without_lm_ms_per_reply": 12.0, "batch4_ms_per_reply": 15.0}
    assert _batch_ceiling(timings, floors, beam_size=3, batch_size=4) == 2.5


def test_test_command_with_beam_and_anti_lm_shorthands(tiny_bot_yaml, tmp_path) -> None:
    import json

    from botframework.cli import main

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(p + "\n" for p in PROMPTS[:4]), encoding="utf-8")
    output = tmp_path / "replies.jsonl"
    argv = [
        "test",
        str(tiny_bot_yaml),
        "--input",
        str(prompts),
        "--output",
        str(output),
        "--beam-size",
        "4",
        "--antilm",
        "0.2",
        "--n-bonus",
        "0.1",
    ]
    assert main(argv) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["input"] for row in rows] == PROMPTS[:4]
    for row in rows:
        assert len(row["replies"]) == 4
        scores = [reply["score"] for reply in row["replies"]]
        assert scores == sorted(scores, reverse=True)
        assert set(row["replies"][0]["scores"]) == {"model", "antilm", "length_bonus"}
    assert [row["replies"][0]["text"] for row in rows] == [r for _, r in TINY_PAIRS[:4]]


@pytest.mark.parametrize(
    ("cell", "attention"), [("lstm", "bahdanau"), ("gru", "bahdanau"), ("lstm", "luong")]
)
def test_other_cells_and_attentions_with_anti_lm_rows(cell: str, attention: str) -> None:
    config = SMALL.model_copy(update={"cell": cell, "attention": attention, "num_layers": 2})
    model, tokenizer = train_toy(TINY_PAIRS, steps=0, seed=2, config=config)
    antilm = named(AntiLanguageModel(0.5, 2), "antilm")
    greedy = decode(GreedyDecoder(), model, tokenizer, PROMPTS, [antilm], max_length=6)
    beam_one = decode(BeamSearch(beam_size=1), model, tokenizer, PROMPTS, [antilm], max_length=6)
    assert [r[0].token_ids for r in beam_one] == [r[0].token_ids for r in greedy]
    together = decode(BeamSearch(beam_size=3), model, tokenizer, PROMPTS, [antilm], max_length=6)
    for prompt, row in zip(PROMPTS, together):
        (alone,) = decode(
            BeamSearch(beam_size=3), model, tokenizer, [prompt], [antilm], max_length=6
        )
        assert [c.token_ids for c in alone] == [c.token_ids for c in row]


def first_words(row) -> set[int]:
    return {c.token_ids[0] for c in row if c.token_ids}


def test_diverse_beam_returns_replies_that_begin_differently(tiny) -> None:
    model, tokenizer = tiny
    prompts = PROMPTS[:4]
    plain = decode(BeamSearch(beam_size=6), model, tokenizer, prompts)
    diverse = decode(BeamSearch(beam_size=6, groups=3, diversity=20.0), model, tokenizer, prompts)
    # the plain n-best mostly varies one word of the best reply ("hello there", "hello tea", ...)
    assert sum(len(first_words(row)) for row in plain) <= 6
    for plain_row, diverse_row in zip(plain, diverse):
        assert len(first_words(diverse_row)) >= max(3, len(first_words(plain_row)) + 1)
        assert diverse_row[0].token_ids == plain_row[0].token_ids  # the best reply stays first
        assert len({tuple(c.token_ids) for c in diverse_row}) == len(diverse_row)
        for candidate in diverse_row:  # scores are log-probabilities, the penalty left out
            assert sum(candidate.scores.values()) == pytest.approx(candidate.score, abs=1e-4)
    scored = [c.score for c in diverse[0]]
    assert scored == sorted(scored, reverse=True)


def test_diverse_beam_batched_equals_one_at_a_time(tiny) -> None:
    model, tokenizer = tiny
    search = BeamSearch(beam_size=4, groups=2, diversity=5.0)
    together = decode(search, model, tokenizer, PROMPTS[:3])
    for prompt, row in zip(PROMPTS[:3], together):
        (alone,) = decode(search, model, tokenizer, [prompt])
        assert [c.token_ids for c in alone] == [c.token_ids for c in row]


def test_length_penalty_alpha_divides_by_the_gnmt_penalty() -> None:
    # short: 2 tokens with EOS, -2.0; long: 8 tokens, -3.0
    short, long = Candidate([5], -2.0, {"model": -2.0}), Candidate([5] * 7, -3.0, {"model": -3.0})
    search = BeamSearch(length_penalty_alpha=1.0)
    assert search.normalised(Candidate([5], -2.0), 2).score == pytest.approx(-2.0 / (7 / 6))
    ranked = sorted(
        [search.normalised(short, 2), search.normalised(long, 8)], key=lambda c: -c.score
    )
    assert ranked[0] is long  # -3 / (13/6) = -1.38 beats -2 / (7/6) = -1.71
    assert long.scores["length_normalisation"] == pytest.approx(-3.0 / (13 / 6) + 3.0)
    plain = BeamSearch().normalised(Candidate([5], -2.0), 2)
    assert plain.score == -2.0 and "length_normalisation" not in plain.scores


def test_length_penalty_alpha_ranks_longer_replies_higher(tiny) -> None:
    model, tokenizer = tiny
    plain = decode(BeamSearch(beam_size=6), model, tokenizer, PROMPTS[:4])
    alpha = decode(BeamSearch(beam_size=6, length_penalty_alpha=1.0), model, tokenizer, PROMPTS[:4])
    overtaken = 0
    for plain_row, alpha_row in zip(plain, alpha):
        raw = {tuple(c.token_ids): c.score for c in plain_row}
        for candidate in alpha_row:
            unnormalised = candidate.score - candidate.scores["length_normalisation"]
            penalty = (5 + len(candidate.token_ids) + 1) / 6  # |Y| counts the EOS
            assert candidate.score == pytest.approx(unnormalised / penalty, abs=1e-5)
            assert raw.get(tuple(candidate.token_ids), unnormalised) == pytest.approx(unnormalised)
        common = [c for c in alpha_row if tuple(c.token_ids) in raw]
        for i, a in enumerate(common):
            for b in common[i + 1 :]:
                if raw[tuple(b.token_ids)] > raw[tuple(a.token_ids)]:
                    assert len(a.token_ids) > len(b.token_ids)  # only a longer reply overtakes
                    overtaken += 1
    assert overtaken > 0
    mean_length = lambda rows: sum(len(c.token_ids) for r in rows for c in r) / 24  # noqa: E731
    assert mean_length(alpha) > mean_length(plain)
