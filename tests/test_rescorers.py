"""Rescorers: anti-LM, length bonus, MMI-bidi, token bans; composition, plugins, CLI shorthands."""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.decoders.greedy import GreedyDecoder
from botframework_plugins.rescorers.antilm import AntiLanguageModel
from botframework_plugins.rescorers.length_bonus import LengthBonus
from botframework_plugins.rescorers.mmi_bidi import BidirectionalMMI
from botframework_plugins.rescorers.no_copy import NoCopy
from botframework_plugins.rescorers.no_repeat_ngram import NoRepeatNGram
from botframework_plugins.rescorers.no_unknown import NoUnknown

from botframework import ConfigError, language_model_log_probs
from botframework.cli.decoding_options import (
    add_decoding_options,
    apply_decoding_options,
)
from botframework.decoding.settings import set_decoding
from botframework.config.schema import BotConfig
from botframework.data.encoding import empty_source, encode_source
from botframework.plugins import build_plugin_manager, collect_parts
from tests.conftest import TINY_PAIRS, write_bot_yaml, write_twitter_corpus
from tests.test_beam import context, decode, named, pad, train_toy  # noqa: F401

PROMPTS = [prompt for prompt, _ in TINY_PAIRS]
GENERIC = "i don't know"
DULL_PROMPTS = [
    "how are you",
    "what is up",
    "where is it",
    "who are they",
    "tell me more",
    "why not",
    "what now",
    "is it true",
]
# "do you like jazz" gets the generic reply twice as often as the specific one.
IDK_PAIRS = [(p, GENERIC) for p in DULL_PROMPTS] + [
    ("do you like jazz", GENERIC),
    ("do you like jazz", GENERIC),
    ("do you like jazz", "yes i love jazz"),
]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(one_thread):
    return train_toy(TINY_PAIRS, steps=120)


@pytest.fixture(scope="module")
def dull(one_thread):
    """A model trained to say "i don't know" to most inputs, and its language model of replies."""
    return train_toy(IDK_PAIRS, steps=200, language_model=True)


def texts(tokenizer, rows):
    return [tokenizer.decode(row[0].token_ids) for row in rows]


# --- anti-LM -----------------------------------------------------------------------------------


@pytest.mark.parametrize("plausibility", [0.0, 0.2])
def test_anti_lm_changes_only_the_first_g_steps(tiny, plausibility: float) -> None:
    """−λ·log U over the first g steps; with α, only tokens with p ≥ α·max p stay possible."""
    model, tokenizer = tiny
    antilm = AntiLanguageModel(weight=0.7, first_tokens=2, plausibility=plausibility)
    antilm = named(antilm, "antilm")
    ctx = context(model, tokenizer, PROMPTS[:3])
    log_probs = (3 * torch.randn(3, model.vocab_size)).log_softmax(-1)
    plausible = torch.ones_like(log_probs, dtype=torch.bool)
    if plausibility:
        plausible = log_probs >= log_probs.max(-1, keepdim=True).values + math.log(plausibility)
        assert 0 < int(plausible.sum()) < plausible.numel()
    for step in range(4):
        ctx.step = step
        prefixes = torch.randint(5, model.vocab_size, (3, step))
        with torch.inference_mode():
            rescored = antilm(ctx, prefixes, log_probs)
            lm = language_model_log_probs(ctx, prefixes)
        if step < 2:
            assert torch.isneginf(rescored[~plausible]).all()
            assert torch.allclose(rescored[plausible], (log_probs - 0.7 * lm)[plausible], atol=1e-5)
        else:
            assert torch.equal(rescored, log_probs)


def lm_log_prob(model, tokenizer, ids: list[int]) -> float:
    """log U(ids): the reply's tokens under the decoder with an empty source."""
    source, lengths = pad([empty_source(tokenizer)])
    target, target_lengths = pad([ids])
    with torch.inference_mode():
        return float(model.sequence_log_probs(source, lengths, target, target_lengths)[0])


@pytest.mark.parametrize("plausibility", [0.0, 0.1])
def test_anti_lm_share_is_minus_lambda_log_u_of_the_first_g_tokens(tiny, plausibility) -> None:
    # with α, U is read at the plausible tokens alone (language_model_at): the same shares
    model, tokenizer = tiny
    weight, g = 0.5, 2
    antilm = AntiLanguageModel(weight=weight, first_tokens=g, plausibility=plausibility)
    antilm = named(antilm, "antilm")
    rows = decode(BeamSearch(beam_size=4), model, tokenizer, PROMPTS[:6], [antilm])
    for row in rows:
        for candidate in row:
            counted = (candidate.token_ids + [tokenizer.eos_id])[:g]
            expected = -weight * lm_log_prob(model, tokenizer, counted)
            assert candidate.scores["antilm"] == pytest.approx(expected, abs=1e-4)


def test_carried_language_model_rows_equal_the_recomputed_ones(tiny) -> None:
    # Greedy and a beam of 1 carry the LM through the one loop the same way: same tokens and shares.
    model, tokenizer = tiny
    antilm = named(AntiLanguageModel(weight=0.4, first_tokens=3), "antilm")
    greedy = decode(GreedyDecoder(), model, tokenizer, PROMPTS, [antilm])
    beam = decode(BeamSearch(beam_size=1), model, tokenizer, PROMPTS, [antilm])
    for (g,), (b,) in zip(greedy, beam):
        assert b.token_ids == g.token_ids
        assert b.scores["antilm"] == pytest.approx(g.scores["antilm"], abs=1e-4)


def test_anti_lm_pushes_the_generic_reply_below_a_specific_one(dull) -> None:
    model, tokenizer = dull
    plain = decode(BeamSearch(beam_size=5), model, tokenizer, ["do you like jazz", "how are you"])
    assert texts(tokenizer, plain) == [GENERIC, GENERIC]
    antilm = named(AntiLanguageModel(weight=0.5, first_tokens=3), "antilm")
    mmi = decode(BeamSearch(beam_size=5), model, tokenizer, ["do you like jazz"], [antilm])
    assert texts(tokenizer, mmi) == ["yes i love jazz"]
    best, *rest = mmi[0]
    generic = next(c for c in rest if tokenizer.decode(c.token_ids) == GENERIC)
    assert generic.scores["model"] > best.scores["model"]  # the model alone still prefers it


def first_token_divergence(bot) -> float:
    """KL(replies' first-token distribution in TINY_PAIRS || U's first token), in nats."""
    tokenizer, model = bot.tokenizer, bot.model
    firsts = Counter(tokenizer.encode(reply)[0] for _, reply in TINY_PAIRS)
    source, lengths = pad([empty_source(tokenizer)])
    with torch.inference_mode():
        state = model.start(model.encode(source, lengths))
        u, _ = model.step(torch.tensor([tokenizer.bos_id]), state)
    total = sum(firsts.values())
    return sum(n / total * (math.log(n / total) - float(u[0, t])) for t, n in firsts.items())


def test_empty_source_rate_trains_u_into_the_language_model_of_replies(
    tiny_bot, tmp_path: Path
) -> None:
    from botframework import Bot
    from botframework.cli import main

    write_twitter_corpus(tmp_path / "corpus.txt")
    path = write_bot_yaml(tmp_path)
    rate = ["--set", "training.empty_source_rate=0.3"]
    assert main(["train", str(path), "--no-progress", *rate]) == 0
    trained = first_token_divergence(Bot.load(path))
    untrained = first_token_divergence(tiny_bot)  # the same bot trained without empty prompts
    assert trained < 0.5 and untrained > 1.5  # measured: 0.31 and 2.14


# --- MMI-bidi ----------------------------------------------------------------------------------


def test_mmi_bidi_reranks_with_the_reverse_model(dull) -> None:
    model, tokenizer = dull
    reverse, _ = train_toy([(r, p) for p, r in IDK_PAIRS], steps=200, tokenizer=tokenizer)
    ctx = context(model, tokenizer, ["do you like jazz"])
    ctx.extra_models["reverse"] = reverse
    with torch.inference_mode():
        candidates = BeamSearch(beam_size=5)(ctx, [])
    assert tokenizer.decode(candidates[0][0].token_ids) == GENERIC
    from botframework import apply_candidate_rescorers

    bidi = named(BidirectionalMMI(weight=0.5, length_weight=0.1), "mmi_bidi")
    model_scores = {tuple(c.token_ids): c.scores["model"] for c in candidates[0]}
    with torch.inference_mode():
        reranked = apply_candidate_rescorers(ctx, [bidi], candidates)
    assert tokenizer.decode(reranked[0][0].token_ids) == "yes i love jazz"
    for candidate in reranked[0]:
        ids = candidate.token_ids or [tokenizer.eos_id]
        source, lengths = pad([ids])
        target, target_lengths = pad(
            [encode_source(tokenizer, ["do you like jazz"], 40) + [tokenizer.eos_id]]
        )
        with torch.inference_mode():
            backward = float(reverse.sequence_log_probs(source, lengths, target, target_lengths)[0])
        forward = model_scores[tuple(candidate.token_ids)]
        expected = 0.5 * forward + 0.5 * backward + 0.1 * len(candidate.token_ids)
        assert candidate.score == pytest.approx(expected, abs=1e-4)


def test_mmi_bidi_without_a_reverse_model_says_what_is_missing(tiny) -> None:
    model, tokenizer = tiny
    ctx = context(model, tokenizer, ["hi"])
    candidates = decode(GreedyDecoder(), model, tokenizer, ["hi"])
    with pytest.raises(
        ConfigError,
        match=r"'mmi_bidi' needs a reverse model .*botframework train BOT.yaml --reverse",
    ):
        BidirectionalMMI()(ctx, candidates)


# --- token rescorers ---------------------------------------------------------------------------


def test_length_bonus_adds_gamma_per_token_and_lengthens_replies(tiny) -> None:
    model, tokenizer = tiny
    plain = decode(BeamSearch(beam_size=3), model, tokenizer, PROMPTS, max_length=8)
    bonus = named(LengthBonus(weight=5.0), "length_bonus")
    longer = decode(BeamSearch(beam_size=3), model, tokenizer, PROMPTS, [bonus], max_length=8)
    assert sum(len(r[0].token_ids) for r in longer) > sum(len(r[0].token_ids) for r in plain)
    for row in longer:
        assert row[0].scores["length_bonus"] == pytest.approx(5.0 * len(row[0].token_ids))


def test_no_unknown_never_emits_the_unknown_token() -> None:
    # A vocabulary of 14 ids leaves most reply words unknown.
    model, tokenizer = train_toy(TINY_PAIRS, steps=120, vocab_size=14)
    plain = decode(BeamSearch(beam_size=3), model, tokenizer, PROMPTS)
    assert any(tokenizer.unk_id in row[0].token_ids for row in plain)
    banned = decode(
        BeamSearch(beam_size=3), model, tokenizer, PROMPTS, [named(NoUnknown(), "no_unknown")]
    )
    assert all(tokenizer.unk_id not in c.token_ids for row in banned for c in row)


def test_no_copy_keeps_the_users_words_out(tiny) -> None:
    model, tokenizer = tiny
    ((plain,),) = decode(GreedyDecoder(), model, tokenizer, ["good morning"])
    assert tokenizer.decode(plain.token_ids) == "good morning to you"
    for decoder in (GreedyDecoder(), BeamSearch(beam_size=4)):
        rows = decode(
            decoder,
            model,
            tokenizer,
            ["good morning", "hi"],
            [named(NoCopy(float("inf")), "no_copy")],
        )
        assert not {"good", "morning"} & set(tokenizer.decode(rows[0][0].token_ids).split())
        assert tokenizer.decode(rows[1][0].token_ids) == "hello there"  # nothing to copy from "hi"


def test_no_copy_subtracts_its_weight_from_source_words_only(tiny) -> None:
    model, tokenizer = tiny
    ctx = context(model, tokenizer, ["good morning", "hi"])
    ctx.rows = torch.tensor([1, 0, 0])
    log_probs = torch.zeros(3, model.vocab_size)
    changed = NoCopy(2.0)(ctx, torch.empty(3, 0, dtype=torch.long), log_probs)
    good, hi = tokenizer.encode("good")[0], tokenizer.encode("hi")[0]
    assert changed[0, hi] == -2 and changed[0, good] == 0
    assert changed[1, good] == -2 and changed[1, hi] == 0
    assert (changed[:, :5] == 0).all()
    # every row: exactly its own input's words, each once, whatever the order of the rows
    ctx = context(model, tokenizer, ["good morning good", "hi", "what is your name?"])
    ctx.rows = torch.tensor([2, 0, 2, 1, 0])
    changed = NoCopy(2.0)(ctx, torch.empty(5, 0, dtype=torch.long), torch.zeros(5, model.vocab_size))
    for row, source in enumerate(ctx.rows.tolist()):
        words = {i for i in ctx.source_ids[source].tolist() if i >= 5}
        assert set((changed[row] == -2).nonzero().view(-1).tolist()) == words
        assert int((changed[row] != 0).sum()) == len(words)


def test_no_repeat_ngram_bans_the_token_that_would_repeat_an_ngram(tiny) -> None:
    model, tokenizer = tiny
    ctx = context(model, tokenizer, ["hi"])
    log_probs = torch.zeros(2, 12)
    prefixes = torch.tensor([[7, 8, 9, 7], [7, 8, 9, 10]])
    banned = NoRepeatNGram(2)(ctx, prefixes, log_probs)
    assert torch.isinf(banned[0]).nonzero().flatten().tolist() == [8]
    assert not torch.isinf(banned[1]).any()
    assert torch.isinf(
        NoRepeatNGram(1)(ctx, prefixes, log_probs)[1]
    ).nonzero().flatten().tolist() == [7, 8, 9, 10]


def test_no_repeat_ngram_in_beam_search() -> None:
    model, tokenizer = train_toy(TINY_PAIRS, steps=0, seed=4)  # untrained: it babbles
    rows = decode(
        BeamSearch(beam_size=3),
        model,
        tokenizer,
        PROMPTS[:5],
        [named(NoRepeatNGram(2), "nr")],
        max_length=20,
    )
    for row in rows:
        for candidate in row:
            bigrams = list(zip(candidate.token_ids, candidate.token_ids[1:]))
            assert len(bigrams) == len(set(bigrams))


# --- validation, registration, composition, third-party ----------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        (
            "antilm",
            {"weight": -0.1},
            r"weight \(λ\) must be a finite number of at least 0, got -0.1",
        ),
        ("antilm", {"first_tokens": 0}, r"first_tokens \(g\) must be a positive integer, got 0"),
        ("antilm", {"plausibility": 1}, r"plausibility \(α\) must be a number in \[0, 1\), got 1"),
        ("length_bonus", {"weight": "big"}, r"weight \(γ\) must be a finite number, got 'big'"),
        ("mmi_bidi", {"weight": 1.5}, r"weight \(λ\) must be a number from 0 to 1, got 1.5"),
        (
            "mmi_bidi",
            {"length_weight": float("nan")},
            r"length_weight \(γ\) must be a finite number",
        ),
        ("no_copy", {"weight": 0}, "weight must be a positive number"),
        ("no_repeat_ngram", {"size": 0}, "size must be a positive integer, got 0"),
        ("no_unknown", {"weight": 1}, r"NoUnknown\(\) takes no arguments"),
    ],
)
def test_rescorers_check_their_arguments(name: str, args: dict, message: str) -> None:
    parts = collect_parts(build_plugin_manager(entry_points=False))
    with pytest.raises(ConfigError, match=rf"decoding.rescorers.0: rescorer '{name}': {message}"):
        parts.rescorers.create(name, args, "bot.yaml: decoding.rescorers.0")


def build(entries: list[dict], load: tuple[str, ...] = ()):
    parts = collect_parts(build_plugin_manager(load=load, entry_points=False))
    return [
        parts.rescorers.create(e["name"], {k: v for k, v in e.items() if k != "name"}, "test")
        for e in entries
    ]


def test_rescorers_compose_in_the_listed_order(tiny) -> None:
    model, tokenizer = tiny
    rescorers = build(
        [
            {"name": "no_unknown"},
            {"name": "antilm", "weight": 0.3, "first_tokens": 2},
            {"name": "length_bonus", "weight": 0.4},
            {"name": "no_repeat_ngram", "size": 2},
        ]
    )
    assert [r.name for r in rescorers] == [
        "no_unknown",
        "antilm",
        "length_bonus",
        "no_repeat_ngram",
    ]
    rows = decode(BeamSearch(beam_size=4), model, tokenizer, PROMPTS, rescorers)
    for row in rows:
        for c in row:
            assert set(c.scores) == {
                "model",
                "no_unknown",
                "antilm",
                "length_bonus",
                "no_repeat_ngram",
            }
            assert c.scores["length_bonus"] == pytest.approx(0.4 * len(c.token_ids))
            assert sum(c.scores.values()) == pytest.approx(c.score, abs=1e-4)
    # The composition is the rescorers applied one after another.
    ctx = context(model, tokenizer, ["hi"])
    ctx.step, ctx.rows = 1, torch.tensor([0])
    prefixes = torch.tensor([[tokenizer.encode("hello")[0]]])
    log_probs = torch.randn(1, model.vocab_size).log_softmax(-1)
    expected = log_probs
    for rescorer in rescorers:
        expected = rescorer(ctx, prefixes, expected)
    from botframework import apply_step_rescorers

    with torch.inference_mode():
        combined, changes = apply_step_rescorers(ctx, rescorers, prefixes, log_probs)
    assert torch.equal(combined, expected)
    assert [name for name, _ in changes] == [r.name for r in rescorers]


THIRD_PARTY = '''
from botframework import StepRescorer, hookimpl


class BanWord(StepRescorer):
    """Never say ``word``."""

    def __init__(self, word: str) -> None:
        if not word:
            raise ValueError("word must not be empty")
        self.word = word

    def __call__(self, ctx, prefixes, log_probs):
        ids = ctx.tokenizer.encode(self.word)
        return log_probs.index_fill(1, __import__("torch").tensor(ids), float("-inf"))


@hookimpl
def register_rescorers(register):
    register("ban_word", BanWord)
'''


def test_a_third_party_rescorer_takes_part(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, tokenizer = tiny
    (tmp_path / "ban_word_plugin.py").write_text(THIRD_PARTY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        rescorers = build(
            [{"name": "ban_word", "word": "hello"}, {"name": "length_bonus", "weight": 0.1}],
            load=("ban_word_plugin",),
        )
        (plain,) = decode(BeamSearch(beam_size=3), model, tokenizer, ["hi"])
        assert tokenizer.decode(plain[0].token_ids) == "hello there"
        (row,) = decode(BeamSearch(beam_size=3), model, tokenizer, ["hi"], rescorers)
        assert all("hello" not in tokenizer.decode(c.token_ids).split() for c in row)
        assert "ban_word" in row[0].scores
    finally:
        sys.modules.pop("ban_word_plugin", None)


def test_builtin_rescorers_are_registered() -> None:
    parts = collect_parts(build_plugin_manager(entry_points=False))
    assert {
        "antilm",
        "length_bonus",
        "mmi_bidi",
        "no_copy",
        "no_repeat_ngram",
        "no_unknown",
    } <= set(parts.rescorers.factories)


# --- command-line shorthands -------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_decoding_options(parser)
    return parser.parse_args(argv)


def config_with(rescorers: list[dict]) -> BotConfig:
    return BotConfig.model_validate({"name": "x", "decoding": {"rescorers": rescorers}})


def test_beam_size_antilm_and_n_bonus_options() -> None:
    config = config_with(
        [{"name": "no_unknown"}, {"name": "antilm", "weight": 0.1, "first_tokens": 4}]
    )
    tuned = apply_decoding_options(
        config, parse("--beam-size", "10", "--antilm", "0.3", "--n-bonus", "0.5")
    )
    assert (tuned.decoding.decoder.name, tuned.decoding.decoder.args) == ("beam", {"beam_size": 10})
    assert [(r.name, r.args) for r in tuned.decoding.rescorers] == [
        ("no_unknown", {}),
        ("antilm", {"weight": 0.3, "first_tokens": 4}),  # keeps its place and its g
        ("length_bonus", {"weight": 0.5}),  # added at the end
    ]
    assert config.decoding.decoder.name == "greedy"  # the original is left alone
    greedy = apply_decoding_options(tuned, parse("--beam-size", "1", "--antilm", "0"))
    assert greedy.decoding.decoder.name == "greedy"
    assert [r.name for r in greedy.decoding.rescorers] == ["no_unknown", "length_bonus"]
    assert apply_decoding_options(config, parse()) is config
    keep_args = config.model_copy(update={"decoding": set_decoding(config, 4).decoding})
    assert set_decoding(keep_args, 6).decoding.decoder.args == {"beam_size": 6}


@pytest.mark.parametrize(
    "argv", [("--beam-size", "0"), ("--antilm", "-1"), ("--n-bonus", "inf"), ("--antilm", "x")]
)
def test_bad_decoding_options_are_usage_errors(argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit):
        parse(*argv)
