"""``botframework bench decode``: decoding latency and throughput, against the seed-style baseline.

Every timing decodes replies of a fixed length (EOS is banned until then) from inputs of a fixed
length, after a warm-up, and reports the median over the inputs. The seed-style baseline is the
original project's beam search, kept here only to be measured: a heap of candidates and, for every
candidate at every step, one model call that re-runs the encoder and the decoder over the whole
padded reply, plus a second such call with an empty source for the anti-LM.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch

from botframework.cli.options import add_bot_options
from botframework.config.schema import BotConfig
from botframework.data.tokenizer import SPECIAL_TOKENS, Tokenizer
from botframework.decoding.context import ScoringContext
from botframework.decoding.precision import bfloat16_output
from botframework.decoding.rescorer import StepRescorer
from botframework.model.seq2seq import Seq2Seq


def add_parser(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser(
        "decode",
        help="ms per reply: greedy, beam, beam + anti-LM, batched, and the seed-style loop",
    )
    add_bot_options(parser)
    parser.add_argument(
        "--random-weights",
        action="store_true",
        help="use the YAML's model section with random weights even if a checkpoint exists",
    )
    parser.add_argument(
        "--inputs", type=int, default=20, help="timed inputs per measurement (median)"
    )
    parser.add_argument(
        "--seed-style-inputs",
        type=int,
        default=20,
        help="timed inputs for the (slow) seed-style baseline",
    )
    parser.add_argument("--beam-size", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32, help="inputs in one batch")
    parser.add_argument("--input-length", type=int, default=10)
    parser.add_argument("--reply-length", type=int, default=20)
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tokenizer, origin, config = load_model(args)
    rescorers = config.decoding.rescorers
    antilm_args = next((dict(r.args) for r in rescorers if r.name == "antilm"), {})
    result = run_decode_benchmark(
        model,
        tokenizer,
        inputs=args.inputs,
        seed_style_inputs=args.seed_style_inputs,
        beam_size=args.beam_size,
        batch_size=args.batch_size,
        input_length=args.input_length,
        reply_length=args.reply_length,
        antilm_args=antilm_args,
    )
    print(json.dumps({"model": origin, **result}, indent=2))
    return 0


def load_model(args: argparse.Namespace) -> tuple[Seq2Seq, Tokenizer, str, BotConfig]:
    """The bot's trained model, or the YAML's model section with random weights when none exists,
    with the bot's configuration."""
    from botframework.config.loader import load_definition

    if not args.random_weights:
        from botframework.bot import Bot
        from botframework.checkpoint import CheckpointError

        try:
            bot = Bot.load(args.bot, args.overrides, args.checkpoint)
        except CheckpointError as error:
            print(f"no trained checkpoint ({error}); timing random weights", flush=True)
        else:
            return bot.model, bot.tokenizer, f"trained checkpoint {bot.checkpoint.path}", bot.config
    config = load_definition(args.bot, args.overrides).config
    torch.manual_seed(0)
    model = Seq2Seq(config.tokenizer.vocab_size, config.model).eval()
    return (
        model,
        Tokenizer(),
        "random weights (no trained checkpoint used): the YAML's model section",
        config,
    )


class _NoEnd(StepRescorer):
    """Bans EOS so every timed reply has the same length."""

    name = "no_end"

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        return log_probs.index_fill(1, torch.tensor([ctx.tokenizer.eos_id]), float("-inf"))


def run_decode_benchmark(
    model: Seq2Seq,
    tokenizer: Tokenizer,
    inputs: int = 20,
    seed_style_inputs: int = 20,
    beam_size: int = 10,
    batch_size: int = 32,
    input_length: int = 10,
    reply_length: int = 20,
    antilm_args: dict[str, object] | None = None,
) -> dict[str, object]:
    """The benchmark's numbers for ``model``: float32 first, then with a bfloat16 output layer.

    The anti-LM takes ``antilm_args`` (the YAML's, when it lists one), else its defaults.
    """
    from botframework_plugins.rescorers.antilm import AntiLanguageModel

    model.eval()
    generator = torch.Generator().manual_seed(0)
    shape = (max(inputs, batch_size), input_length)
    sources = torch.randint(len(SPECIAL_TOKENS), model.vocab_size, shape, generator=generator)
    antilm = AntiLanguageModel(**(antilm_args or {}))
    antilm.name = "antilm"
    timings = _Timings(model, tokenizer, sources, inputs, beam_size, reply_length, antilm)
    float32 = timings.measure("float32", batch_size)
    bfloat16 = timings.measure("bfloat16", batch_size)
    seed_style = SeedStyleBeamSearch(model, tokenizer, beam_size, antilm.weight, reply_length)
    seed_ms = _median_ms(lambda ids: _seconds(seed_style, ids), timings.singles[:seed_style_inputs])
    same = sum(a == b for a, b in zip(timings.replies["float32"], timings.replies["bfloat16"]))
    return {
        "hidden_size": model.config.hidden_size,
        "num_layers": model.config.num_layers,
        "vocab_size": model.vocab_size,
        "cell": model.config.cell,
        "attention": model.config.attention,
        "threads": torch.get_num_threads(),
        "input_tokens": input_length,
        "reply_tokens": reply_length,
        "inputs": inputs,
        "antilm": antilm_args or {"weight": antilm.weight, "first_tokens": antilm.first_tokens},
        **float32,
        f"seed_style_beam{beam_size}_antilm_ms": round(seed_ms, 1),
        "seed_style_inputs": min(seed_style_inputs, inputs),
        "ratios": _ratios(float32, seed_ms, beam_size, batch_size),
        "bfloat16_output": {
            **bfloat16,
            "same_best_replies": f"{same}/{inputs}",
            "ratios": _ratios(bfloat16, seed_ms, beam_size, batch_size),
        },
    }


class _Timings:
    """Median timings of greedy, beam and beam + anti-LM on the same inputs, in one precision."""

    def __init__(
        self,
        model: Seq2Seq,
        tokenizer: Tokenizer,
        sources: torch.Tensor,
        inputs: int,
        beam_size: int,
        reply_length: int,
        antilm: StepRescorer,
    ) -> None:
        from botframework_plugins.decoders.greedy import GreedyDecoder

        self.model, self.tokenizer, self.sources = model, tokenizer, sources
        self.singles = [sources[i : i + 1] for i in range(inputs)]
        self.beam_size, self.length, self.antilm = beam_size, reply_length, antilm
        self.greedy = GreedyDecoder(reply_length)  # EOS banned by a rescorer, beams by min_length
        self.replies: dict[str, list[list[int]]] = {}

    def measure(self, dtype: str, batch_size: int) -> dict[str, float]:
        from botframework_plugins.decoders.beam import BeamSearch

        k = self.beam_size
        beam = BeamSearch(k, max_length=self.length, min_length=self.length, output_dtype=dtype)
        greedy_ms = _median_ms(self.timer(self.greedy, [_NoEnd()], dtype), self.singles)
        beam_ms = _median_ms(self.timer(beam, [], dtype), self.singles)
        beam_antilm_ms = _median_ms(self.timer(beam, [self.antilm], dtype), self.singles)
        batch_ms = _median_ms(
            self.timer(beam, [self.antilm], dtype), [self.sources[:batch_size]] * 3
        )
        with torch.inference_mode():
            best = beam(
                _context(self.model, self.tokenizer, self.sources, self.length), [self.antilm]
            )
        self.replies[dtype] = [row[0].token_ids for row in best[: len(self.singles)]]
        return {
            "greedy_ms": round(greedy_ms, 1),
            f"beam{k}_ms": round(beam_ms, 1),
            f"beam{k}_antilm_ms": round(beam_antilm_ms, 1),
            "sequential_replies_per_s": round(1000 / beam_antilm_ms, 2),
            f"batch{batch_size}_replies_per_s": round(batch_size * 1000 / batch_ms, 2),
        }

    def timer(
        self, decoder: Callable, rescorers: list, dtype: str
    ) -> Callable[[torch.Tensor], float]:
        def decode(ids: torch.Tensor) -> float:
            ctx = _context(self.model, self.tokenizer, ids, self.length)
            with torch.inference_mode(), _precision(self.model, dtype):
                start = time.perf_counter()
                decoder(ctx, rescorers)
                return time.perf_counter() - start

        return decode


def _precision(model: Seq2Seq, dtype: str) -> AbstractContextManager:
    # The beam decoder switches precision itself; this puts greedy in the same precision.
    return bfloat16_output(model) if dtype == "bfloat16" else nullcontext()


def _ratios(timings: dict[str, float], seed_ms: float, beam_size: int, batch_size: int) -> dict:
    beam_antilm = timings[f"beam{beam_size}_antilm_ms"]
    batched = timings[f"batch{batch_size}_replies_per_s"]
    return {
        "beam_antilm_over_greedy": round(beam_antilm / timings["greedy_ms"], 2),
        "seed_style_over_beam_antilm": round(seed_ms / beam_antilm, 1),
        "batch_over_sequential": round(batched / timings["sequential_replies_per_s"], 2),
    }


def _context(
    model: Seq2Seq, tokenizer: Tokenizer, ids: torch.Tensor, length: int
) -> ScoringContext:
    lengths = torch.full((len(ids),), ids.shape[1], dtype=torch.long)
    return ScoringContext(
        model=model, tokenizer=tokenizer, source_ids=ids, source_lengths=lengths, max_length=length
    )


def _median_ms(decode: Callable[[torch.Tensor], float], inputs: list[torch.Tensor]) -> float:
    decode(inputs[0])  # warm-up
    return statistics.median(decode(ids) for ids in inputs) * 1000


def _seconds(decoder: SeedStyleBeamSearch, ids: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        decoder(ids)
    return time.perf_counter() - start


#: The original project's (source, reply) length buckets; a call pads both sides to its bucket.
SEED_BUCKETS = ((5, 10), (10, 15), (20, 25), (40, 50))


class SeedStyleBeamSearch:
    """The original project's beam search, as a baseline only (EOS banned, like the other timings).

    A heap holds (score, path) candidates; each step calls the whole model once per candidate with
    the source padded to its bucket and the reply so far padded to the bucket's reply length, reads
    the next-token probabilities at the path's position, and, for the anti-LM, makes the same call
    with an empty source and subtracts λ times those probabilities (in probability space, as the
    original did).
    """

    def __init__(
        self, model: Seq2Seq, tokenizer: Tokenizer, beam_size: int, antilm: float, length: int
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.beam_size, self.antilm, self.length = beam_size, antilm, length

    def __call__(self, source_ids: torch.Tensor) -> list[int]:
        eos, pad = self.tokenizer.eos_id, self.tokenizer.pad_id
        source_size, reply_size = next(
            b for b in SEED_BUCKETS if b[0] > source_ids.shape[1] and b[1] >= self.length
        )
        source = torch.full((1, source_size), pad)
        source[0, : source_ids.shape[1]] = source_ids[0]
        empty = torch.full((1, source_size), pad)
        empty[0, 0] = eos
        beams: list[tuple[float, list[int]]] = [(0.0, [self.tokenizer.bos_id])]
        for position in range(self.length):
            heap: list[tuple[float, list[int]]] = []
            for score, path in beams:
                padded = torch.tensor([path + [pad] * (reply_size - len(path))])
                probs = self._probs(source, padded)[position]
                if self.antilm:
                    probs = probs - self.antilm * self._probs(empty, padded)[position]
                probs[eos] = float("-inf")
                top = probs.topk(self.beam_size)
                for p, token in zip(top.values.tolist(), top.indices.tolist()):
                    heapq.heappush(heap, (score + math.log(max(p, 1e-12)), path + [token]))
            beams = heapq.nlargest(self.beam_size, heap)
        return beams[0][1][1:]

    def _probs(self, source_ids: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        lengths = torch.tensor([source_ids.shape[1]])  # the padding is run through, as in TF
        features = self.model.features(source_ids, lengths, target_in)
        return torch.softmax(self.model.output(features[0]), dim=-1)
