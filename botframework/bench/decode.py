"""Decoding latency and throughput (``botframework bench decode``), against the seed-style baseline.

Every timing decodes replies of a fixed length (EOS is banned until then) from inputs of a fixed
length, after a warm-up, and reports the median over the inputs. The seed-style baseline
(:class:`~botframework.bench.seed_style.SeedStyleBeamSearch`) is the original project's beam
search: a heap of candidates and, for every candidate at every step, one model call that re-runs
the encoder and the decoder over the whole padded reply, plus a second such call with an empty
source for the anti-LM. The decoders and the anti-LM are built through the plugin registry, like a
bot YAML's.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import torch

from botframework.bench.seed_style import SeedStyleBeamSearch
from botframework.data.tokenizer import SPECIAL_TOKENS, Tokenizer
from botframework.decoding.context import ScoringContext
from botframework.decoding.precision import bfloat16_output
from botframework.decoding.rescorer import StepRescorer
from botframework.decoding.settings import SHORTHAND_RESCORERS, rescorer_args
from botframework.model.seq2seq import Seq2Seq
from botframework.plugins import Parts, build_plugin_manager, collect_parts

WHERE = "bench decode"


def load_model(
    bot: str | Path,
    overrides: Iterable[str] = (),
    checkpoint: str | Path | None = None,
    random_weights: bool = False,
) -> tuple[Seq2Seq, Tokenizer, str, dict[str, object], Parts]:
    """The bot's trained model, or the YAML's model section with random weights when none exists
    (or ``random_weights``): the model, its tokenizer, where it came from, the YAML's anti-LM
    arguments and the bot's registered parts."""
    from botframework.bot import LoadedPlugins
    from botframework.config.loader import load_definition

    antilm = SHORTHAND_RESCORERS["antilm"]
    if not random_weights:
        from botframework.bot import Bot
        from botframework.checkpoint import CheckpointError

        try:
            loaded = Bot.load(bot, overrides, checkpoint)
        except CheckpointError as error:
            print(f"no trained checkpoint ({error}); timing random weights", flush=True)
        else:
            origin = f"trained checkpoint {loaded.checkpoint.path}"
            args = rescorer_args(loaded.config, antilm)
            return loaded.model, loaded.tokenizer, origin, args, loaded.parts
    plugins = LoadedPlugins(load_definition(bot, overrides))
    config = plugins.config
    torch.manual_seed(0)
    model = Seq2Seq(config.tokenizer.vocab_size, config.model).eval()
    origin = "random weights (no trained checkpoint used): the YAML's model section"
    return model, Tokenizer(), origin, rescorer_args(config, antilm), plugins.parts


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
    parts: Parts | None = None,
) -> dict[str, object]:
    """The benchmark's numbers for ``model``: float32 first, then with a bfloat16 output layer.

    The anti-LM takes ``antilm_args`` (the YAML's, when it lists one), else its defaults. Decoders
    and the anti-LM come from ``parts`` (default: the installed plugins').
    """
    parts = parts or collect_parts(build_plugin_manager())
    model.eval()
    generator = torch.Generator().manual_seed(0)
    shape = (max(inputs, batch_size), input_length)
    sources = torch.randint(len(SPECIAL_TOKENS), model.vocab_size, shape, generator=generator)
    antilm = parts.rescorers.create(SHORTHAND_RESCORERS["antilm"], dict(antilm_args or {}), WHERE)
    timings = _Timings(model, tokenizer, sources, inputs, beam_size, reply_length, antilm, parts)
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
        "antilm": antilm_args or {k: getattr(antilm, k, None) for k in ("weight", "first_tokens")},
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
        parts: Parts,
    ) -> None:
        self.model, self.tokenizer, self.sources = model, tokenizer, sources
        self.singles = [sources[i : i + 1] for i in range(inputs)]
        self.beam_size, self.length, self.antilm = beam_size, reply_length, antilm
        self.decoders = parts.decoders
        # EOS is banned by a rescorer for greedy, by min_length for beams
        self.greedy = self.decoders.create("greedy", {"max_length": reply_length}, WHERE)
        self.replies: dict[str, list[list[int]]] = {}

    def measure(self, dtype: str, batch_size: int) -> dict[str, float]:
        k = self.beam_size
        lengths = {"max_length": self.length, "min_length": self.length}
        beam = self.decoders.create(
            "beam", {"beam_size": k, **lengths, "output_dtype": dtype}, WHERE
        )
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
