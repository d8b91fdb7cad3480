"""Greedy, beam search and sampling run the one decoding loop (botframework.decoding.loop)."""

from __future__ import annotations

import pytest
import torch
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.decoders.greedy import GreedyDecoder
from botframework_plugins.decoders.sampling import Sampling
from botframework_plugins.rescorers.antilm import AntiLanguageModel

from botframework import Candidate, ScoringContext, StepRescorer, language_model_log_probs
from botframework.decoding import loop
from botframework.decoding.decoder_batch import DecoderBatch
from tests.conftest import TINY_PAIRS
from tests.test_beam import context, decode, named, train_toy

pytestmark = pytest.mark.usefixtures("one_thread")

PROMPTS = [prompt for prompt, _ in TINY_PAIRS[:4]]
DECODERS = {
    "greedy": lambda: GreedyDecoder(),
    "beam": lambda: BeamSearch(beam_size=3),
    "sampling": lambda: Sampling(num_samples=2, seed=0),
}


@pytest.fixture(scope="module")
def tiny(one_thread):
    return train_toy(TINY_PAIRS, steps=120, language_model=True)


class _Recorder(StepRescorer):
    """Records what the loop hands a step rescorer; needs the language model for 2 steps."""

    name = "recorder"

    def __init__(self, language_model_steps: int = 2) -> None:
        self.language_model_steps = language_model_steps
        self.seen: list[tuple[int, int, int, bool]] = []
        self.carried_equals_recomputed = True

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        carried = ctx.language_model
        self.seen.append((ctx.step, len(ctx.rows), prefixes.shape[1], carried is not None))
        if carried is not None:
            ctx.language_model = None  # recompute it over the prefixes, as a third party would
            recomputed = language_model_log_probs(ctx, prefixes)
            ctx.language_model = carried
            self.carried_equals_recomputed &= torch.allclose(carried.dense(), recomputed, atol=1e-5)
        return log_probs


@pytest.mark.parametrize("name", DECODERS)
def test_every_decoder_steps_through_the_one_loop(tiny, name, monkeypatch) -> None:
    model, tokenizer = tiny
    steps: list[int] = []

    class CountingBatch(DecoderBatch):
        def step(self, tokens: torch.Tensor) -> torch.Tensor:
            steps.append(len(tokens))
            return super().step(tokens)

    monkeypatch.setattr(loop, "DecoderBatch", CountingBatch)
    recorder = _Recorder()
    rows = decode(DECODERS[name](), model, tokenizer, PROMPTS, [recorder], max_length=6)
    assert len(rows) == len(PROMPTS) and all(isinstance(c, Candidate) for r in rows for c in r)
    assert len(steps) == len(recorder.seen) > 0  # every step went through the loop's batch
    for step, (at, rows_seen, prefix_length, carried) in enumerate(recorder.seen):
        assert (at, prefix_length, rows_seen) == (step, step, steps[step])
        assert carried == (step < 2)  # the typed language-model stream, for the steps asked
    assert recorder.carried_equals_recomputed


def test_greedy_and_sampling_share_one_search_and_beam_one_finds_the_same(tiny) -> None:
    model, tokenizer = tiny
    greedy = decode(GreedyDecoder(), model, tokenizer, PROMPTS)
    beam_one = decode(BeamSearch(beam_size=1), model, tokenizer, PROMPTS)
    top_one = decode(Sampling(top_k=1, seed=0), model, tokenizer, PROMPTS)
    ids = [[row[0].token_ids for row in rows] for rows in (greedy, beam_one, top_one)]
    assert ids[0] == ids[1] == ids[2]
    for (g,), (b,) in zip(greedy, beam_one):
        assert g.scores == pytest.approx(b.scores, abs=1e-4)


def test_the_anti_lm_reads_the_stream_the_loop_carries(tiny) -> None:
    model, tokenizer = tiny
    antilm = named(AntiLanguageModel(weight=0.5, first_tokens=2), "antilm")
    for make in DECODERS.values():
        rows = decode(make(), model, tokenizer, PROMPTS, [antilm])
        assert all(c.scores["antilm"] != 0 for row in rows for c in row)


class _ArgmaxSearch:
    """A third-party decoder's choice on the public loop: the best token, until EOS."""

    def __init__(self, ctx: ScoringContext) -> None:
        size = ctx.batch_size
        self.row_inputs = torch.arange(size)
        self.tokens = torch.full((size,), ctx.tokenizer.bos_id)
        self.prefixes = torch.empty((size, 0), dtype=torch.long)
        self.replies: dict[int, list[int]] = {}
        self.eos = ctx.tokenizer.eos_id

    def extend(self, outputs: list[torch.Tensor], step: int, last: bool) -> torch.Tensor:
        self.tokens = outputs[-1].argmax(dim=1)
        self.prefixes = torch.cat([self.prefixes, self.tokens[:, None]], dim=1)
        ended = (self.tokens == self.eos) | last
        for row in ended.nonzero().view(-1).tolist():
            ids = self.prefixes[row].tolist()
            self.replies[int(self.row_inputs[row])] = ids[:-1] if ids[-1] == self.eos else ids
        kept = (~ended).nonzero().view(-1)
        self.row_inputs, self.tokens = self.row_inputs[kept], self.tokens[kept]
        self.prefixes = self.prefixes[kept]
        return kept


def test_a_third_party_search_on_the_loop_equals_greedy(tiny) -> None:
    model, tokenizer = tiny
    ctx = context(model, tokenizer, PROMPTS)
    search = _ArgmaxSearch(ctx)
    with torch.inference_mode():
        loop.run_search(ctx, [], search, rows_per_input=1, max_length=12)
    greedy = decode(GreedyDecoder(), model, tokenizer, PROMPTS)
    assert [search.replies[i] for i in range(len(PROMPTS))] == [r[0].token_ids for r in greedy]


def test_copies_of_a_row_are_computed_once_until_they_part_ways(tiny) -> None:
    model, tokenizer = tiny
    ctx = context(model, tokenizer, PROMPTS[:2])
    bos = tokenizer.bos_id
    with torch.inference_mode():
        alone = DecoderBatch(ctx, [], rows_per_input=1).step(torch.tensor([bos, bos]))
        same = DecoderBatch(ctx, [], rows_per_input=3).step(torch.full((6,), bos))
        other = tokenizer.encode("hello")[0]
        mixed = DecoderBatch(ctx, [], rows_per_input=2).step(torch.tensor([bos, other] * 2))
        fed_other = DecoderBatch(ctx, [], rows_per_input=1).step(torch.tensor([other, other]))
    torch.testing.assert_close(same, alone.repeat_interleave(3, dim=0))
    torch.testing.assert_close(mixed[0::2], alone)  # copies fed different tokens part ways
    torch.testing.assert_close(mixed[1::2], fed_other)


def test_language_model_rows_are_decoded_once_per_distinct_prefix(tiny, monkeypatch) -> None:
    model, tokenizer = tiny
    fed: list[int] = []
    step = type(model).step

    def counting_step(self, tokens, state, transposed_output=False):
        fed.append(len(tokens))
        return step(self, tokens, state, transposed_output)

    antilm = named(AntiLanguageModel(weight=0.5, first_tokens=3), "antilm")
    alone = decode(BeamSearch(beam_size=3), model, tokenizer, PROMPTS[:1], [antilm])
    monkeypatch.setattr(type(model), "step", counting_step)
    four = decode(BeamSearch(beam_size=3), model, tokenizer, PROMPTS[:1] * 4, [antilm])
    # four copies of one prompt: 4 real rows at the first step (the beam's copies once) and one
    # language-model row for all; then 12 real rows, and the language-model rows of the 3
    # distinct prefixes of one input, not 12
    assert fed[0] == 4 + 1
    assert fed[1] == fed[2] == 12 + 3
    assert fed[3] <= 12
    for row in four:
        assert [c.token_ids for c in row] == [c.token_ids for c in alone[0]]
        for mine, single in zip(row, alone[0]):
            assert mine.scores == pytest.approx(single.scores, abs=1e-4)


def test_the_carried_language_model_rows_follow_every_reorder(tiny) -> None:
    model, tokenizer = tiny
    recorder = _Recorder(language_model_steps=6)
    decode(BeamSearch(beam_size=4), model, tokenizer, PROMPTS * 2, [recorder], max_length=8)
    assert sum(carried for *_, carried in recorder.seen) == 6
    assert recorder.carried_equals_recomputed


def _bans(in_place: bool) -> list[StepRescorer]:
    from botframework_plugins.rescorers.no_repeat_ngram import NoRepeatNGram
    from botframework_plugins.rescorers.no_unknown import NoUnknown
    from botframework_plugins.rescorers.unprompted import NoUnpromptedGreeting
    from botframework_plugins.rescorers.well_formed import WellFormed

    bans = [
        named(NoUnknown(), "no_unknown"),
        named(WellFormed(min_words=2), "well_formed"),
        named(NoRepeatNGram(size=1), "no_repeat_ngram"),
        named(NoUnpromptedGreeting(), "no_unprompted_greeting"),
    ]
    for ban in bans:
        assert ban.bans_in_place
        ban.bans_in_place = in_place  # False: each returns a banned copy, as other rescorers do
    antilm = AntiLanguageModel(weight=0.5, first_tokens=2, plausibility=0.1)
    return [*bans, named(antilm, "antilm")]


@pytest.mark.parametrize("name", DECODERS)
def test_bans_in_place_find_what_banning_on_copies_finds(tiny, name, monkeypatch) -> None:
    model, tokenizer = tiny
    from botframework import TokenBan

    banned: list[int] = []
    ban_ = TokenBan.ban_

    def counting_ban(self, ctx, prefixes, scores):
        pairs = self.banned(ctx, prefixes, scores.shape[1])
        banned.append(0 if pairs is None else len(pairs[0]))
        ban_(self, ctx, prefixes, scores)

    monkeypatch.setattr(TokenBan, "ban_", counting_ban)
    in_place = decode(DECODERS[name](), model, tokenizer, PROMPTS, _bans(in_place=True))
    on_copies = decode(DECODERS[name](), model, tokenizer, PROMPTS, _bans(in_place=False))
    assert sum(banned) > 0
    for fast, slow in zip(in_place, on_copies):
        assert [c.token_ids for c in fast] == [c.token_ids for c in slow]
        for a, b in zip(fast, slow):
            assert a.scores == pytest.approx(b.scores, abs=1e-5)
            assert a.scores["no_repeat_ngram"] == 0 and a.scores["well_formed"] == 0


def test_a_token_ban_called_alone_leaves_its_input_alone(tiny) -> None:
    from botframework_plugins.rescorers.no_unknown import NoUnknown

    model, tokenizer = tiny
    ctx = context(model, tokenizer, PROMPTS[:2])
    scores = torch.zeros(2, tokenizer.vocab_size)
    banned = NoUnknown()(ctx, torch.empty((2, 0), dtype=torch.long), scores)
    assert bool((scores == 0).all())
    assert banned[:, tokenizer.unk_id].tolist() == [float("-inf")] * 2
    assert int(torch.isinf(banned).sum()) == 2


class _TextReader(StepRescorer):
    """Reads the replies so far as text, as a third-party rescorer would; records them."""

    name = "text_reader"

    def __init__(self) -> None:
        self.read: list[tuple[int, list[str], list[list[str]]]] = []

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        self.read.append((ctx.step, ctx.prefix_texts(prefixes), ctx.prefix_words(prefixes)))
        return log_probs


def test_replies_so_far_are_decoded_once_per_step_for_every_rescorer(tiny, monkeypatch) -> None:
    from botframework import words

    model, tokenizer = tiny
    decoded: list[list[int]] = []
    decode_ = type(tokenizer).decode

    def counting_decode(self, ids, *args, **kwargs):
        decoded.append(list(ids))
        return decode_(self, ids, *args, **kwargs)

    readers = [_TextReader(), _TextReader()]
    seen_prefixes: list[list[list[int]]] = []

    class _PrefixRecorder(StepRescorer):
        name = "prefixes"

        def __call__(self, ctx, prefixes, log_probs):
            seen_prefixes.append(prefixes.tolist())
            return log_probs

    monkeypatch.setattr(type(tokenizer), "decode", counting_decode)
    decode(BeamSearch(beam_size=3), model, tokenizer, PROMPTS, [_PrefixRecorder(), *readers])
    first, second = readers
    assert len(first.read) == len(seen_prefixes) > 2
    rows_per_step = [len(prefixes) for prefixes in seen_prefixes]
    # every row of every step decoded once (candidates' final texts come on top), not twice
    assert sum(rows_per_step) <= len(decoded) < 2 * sum(rows_per_step)
    for (step, texts, said), (step_again, texts_again, said_again), prefixes in zip(
        first.read, second.read, seen_prefixes
    ):
        assert step_again == step and texts_again is texts and said_again is said
        assert texts == [decode_(tokenizer, prefix) for prefix in prefixes]
        assert said == [words(text) for text in texts]
