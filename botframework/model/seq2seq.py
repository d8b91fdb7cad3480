"""The sequence-to-sequence model: an RNN encoder and an attention RNN decoder.

The module knows nothing of training. Decoders, rescorers and reinforcement learning use
:meth:`Seq2Seq.encode`, :meth:`Seq2Seq.start`, :meth:`Seq2Seq.step`, :meth:`Seq2Seq.reorder` and
``sequence_log_probs`` (:mod:`botframework.model.scoring`); training uses :meth:`Seq2Seq.features`
and ``output``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from botframework.config.schema import ModelConfig
from botframework.model import source_cache
from botframework.model.attention import build_attention
from botframework.model.fused_step import fusable, gru_step
from botframework.model.projection import linear, project
from botframework.model.scoring import SequenceScoring

RnnState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass
class EncoderOutput:
    """``memory`` (B, S, H) and ``memory_mask`` (B, S), True at real tokens; ``hidden`` and, for an
    LSTM, ``cell`` (layers, B, H) are the encoder's final states; ``source_ids`` (B, S) are the ids
    read, which the source cache needs."""

    memory: torch.Tensor
    memory_mask: torch.Tensor
    hidden: torch.Tensor
    cell: torch.Tensor | None = None
    source_ids: torch.Tensor | None = None


@dataclass
class DecoderState:
    """What one decoding step needs and updates; every tensor has one row per live hypothesis.

    ``hidden``/``cell`` are (layers, N, H); ``memory``, ``memory_mask`` and ``keys`` (the memory
    projected for attention) are batch-first. With a source cache, ``prompt_cache`` (N, S) holds
    log(λ c(w)) at each source position and ``cache_keep`` (N, 1) each row's log(1 - λ), computed
    once per source (:func:`botframework.model.source_cache.prompt_cache_terms`).
    """

    hidden: torch.Tensor
    memory: torch.Tensor
    memory_mask: torch.Tensor
    cell: torch.Tensor | None = None
    keys: torch.Tensor | None = None
    source_ids: torch.Tensor | None = None
    prompt_cache: torch.Tensor | None = None
    cache_keep: torch.Tensor | None = None


_STATE_FIELDS = tuple(field.name for field in fields(DecoderState))


class Seq2Seq(SequenceScoring, nn.Module):
    """Embeddings shared by encoder and decoder, a GRU/LSTM encoder, an attention decoder, and
    with ``model.source_cache`` > 0 the source cache (:mod:`botframework.model.source_cache`)
    mixed into every next-token distribution. Whole replies are scored by the methods of
    :class:`~botframework.model.scoring.SequenceScoring`."""

    def __init__(
        self, vocab_size: int, config: ModelConfig, pad_id: int = 0, bos_id: int = 1
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.config = config
        self.pad_id = pad_id
        self.bos_id = bos_id
        hidden, layers = config.hidden_size, config.num_layers
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        inter_layer_dropout = config.dropout if layers > 1 else 0.0
        decoder_input = config.embedding_size + (hidden if config.attention == "bahdanau" else 0)
        self.embedding = nn.Embedding(vocab_size, config.embedding_size, padding_idx=pad_id)
        self.encoder = rnn(
            config.embedding_size, hidden, layers, batch_first=True, dropout=inter_layer_dropout
        )
        self.decoder = rnn(
            decoder_input, hidden, layers, batch_first=True, dropout=inter_layer_dropout
        )
        self.attention = build_attention(config.attention, hidden)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(hidden, vocab_size)
        if config.tie_embeddings:
            self.output.weight = self.embedding.weight
            self.register_state_dict_post_hook(_without_tied_output)
            self.register_load_state_dict_pre_hook(_with_tied_output)

    def encode(self, source_ids: torch.Tensor, source_lengths: torch.Tensor) -> EncoderOutput:
        """Run the encoder over padded ``source_ids`` (B, S) of ``source_lengths`` (B,)."""
        ordered = self._source_order(source_ids, source_lengths)
        return replace(
            self._encode(self.embedding(ordered), source_lengths), source_ids=source_ids
        )

    def start(self, encoded: EncoderOutput) -> DecoderState:
        """The decoder state before the first target token: the encoder's final state."""
        state = DecoderState(
            hidden=encoded.hidden,
            memory=encoded.memory,
            memory_mask=encoded.memory_mask,
            cell=encoded.cell,
            keys=self.attention.keys(encoded.memory),
            source_ids=encoded.source_ids,
        )
        return self._with_prompt_cache(state) if self.config.source_cache else state

    def step(
        self, tokens: torch.Tensor, state: DecoderState, transposed_output: bool = False
    ) -> tuple[torch.Tensor, DecoderState]:
        """Feed one token per row (N,); return next-token log-probabilities (N, V) and the state.

        With ``transposed_output`` (decoders set it; no gradients) the step runs on copies of the
        weights laid out for few rows: the vocabulary projection
        (:mod:`botframework.model.projection`) and, for a GRU, the recurrent step
        (:mod:`botframework.model.fused_step`). Faster for the few rows of a decoding step, the
        same numbers up to float rounding.
        """
        embedded = self.embedding(tokens).unsqueeze(1)
        features, state = self._decode(embedded, state, fused=transposed_output)
        features = features.squeeze(1)
        if transposed_output and not torch.is_grad_enabled():
            # In place: a batch's (rows, vocabulary) tensor is tens of MB, and a fresh one is
            # mapped from the system (page faults) at every step.
            logits = project(self.output, features)
            log_probs = torch.log_softmax(logits, dim=-1, out=logits)
        else:
            log_probs = torch.log_softmax(self.output(features), dim=-1)
        if self.config.source_cache and state.source_ids is not None:
            if state.prompt_cache is None:
                state = self._with_prompt_cache(state)
            if log_probs.dtype != torch.float32:
                log_probs = log_probs.float()
            log_probs = source_cache.mix_prompt_cache(
                log_probs, state.source_ids, state.prompt_cache, state.cache_keep
            )
        return log_probs, state

    def _with_prompt_cache(self, state: DecoderState) -> DecoderState:
        """``state`` with the source cache's per-source parts, computed once per source."""
        if state.source_ids is None:
            return state
        weights = source_cache.cache_weights(state.source_ids)
        terms, keep = source_cache.prompt_cache_terms(
            state.source_ids, weights, self.config.source_cache
        )
        return replace(state, prompt_cache=terms, cache_keep=keep)

    def reorder(
        self, state: DecoderState, index: torch.Tensor, same_sources: bool = False
    ) -> DecoderState:
        """Keep (or repeat) the rows ``index`` of every tensor in ``state``. With
        ``same_sources`` (each row ``index`` picks reads the same source as the row it replaces,
        as when beams change places within their input) only the recurrent state is reordered."""
        if same_sources:
            cell = None if state.cell is None else state.cell.index_select(1, index)
            return replace(state, hidden=state.hidden.index_select(1, index), cell=cell)
        changes = {}
        for name in _STATE_FIELDS:
            value = getattr(state, name)
            if value is not None:
                changes[name] = value.index_select(1 if name in ("hidden", "cell") else 0, index)
        return DecoderState(**changes)

    def features(
        self, source_ids: torch.Tensor, source_lengths: torch.Tensor, target_in: torch.Tensor
    ) -> torch.Tensor:
        """Teacher-forced decoder outputs (B, T, H) before the output projection."""
        source_ids = self._source_order(source_ids, source_lengths)
        # One lookup for both sides: the shared table then gets one gradient scatter, not two.
        embedded = self.embedding(torch.cat([source_ids.flatten(), target_in.flatten()]))
        source_embedded = embedded[: source_ids.numel()].view(*source_ids.shape, -1)
        target_embedded = embedded[source_ids.numel() :].view(*target_in.shape, -1)
        state = self.start(self._encode(source_embedded, source_lengths))
        features, _ = self._decode(target_embedded, state)
        return features

    forward = features

    def _source_order(self, source_ids: torch.Tensor, source_lengths: torch.Tensor) -> torch.Tensor:
        if self.config.reverse_source:
            return reverse_within_lengths(source_ids, source_lengths)
        return source_ids

    def _encode(self, embedded: torch.Tensor, source_lengths: torch.Tensor) -> EncoderOutput:
        """Encoder outputs for embedded sources (B, S, E), already in encoding order."""
        packed = pack_padded_sequence(
            self.dropout(embedded), source_lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, final = self.encoder(packed)
        memory, _ = pad_packed_sequence(outputs, batch_first=True, total_length=embedded.shape[1])
        positions = torch.arange(embedded.shape[1], device=embedded.device)
        mask = positions.unsqueeze(0) < source_lengths.to(embedded.device).unsqueeze(1)
        if isinstance(final, tuple):
            return EncoderOutput(memory, mask, final[0], final[1])
        return EncoderOutput(memory, mask, final)

    def _decode(
        self, embedded: torch.Tensor, state: DecoderState, fused: bool = False
    ) -> tuple[torch.Tensor, DecoderState]:
        """Decoder features (N, T, H) for embedded inputs (N, T, E) continuing from ``state``;
        ``fused``: a GRU's step may run fused (:meth:`_decoder_rnn`)."""
        if state.keys is None:
            state = replace(state, keys=self.attention.keys(state.memory))
        rnn_state: RnnState = state.hidden if state.cell is None else (state.hidden, state.cell)
        run = self._luong if self.config.attention == "luong" else self._bahdanau
        outputs, context, rnn_state = run(self._dropout(embedded), rnn_state, state, fused)
        joined = torch.cat([outputs, context], dim=-1)
        features = self._dropout(torch.tanh(self._combine(joined, fused)))
        hidden, cell = rnn_state if isinstance(rnn_state, tuple) else (rnn_state, None)
        return features, replace(state, hidden=hidden, cell=cell)

    def _dropout(self, features: torch.Tensor) -> torch.Tensor:
        """``self.dropout(features)``; in eval mode, where it changes nothing, not even called."""
        return self.dropout(features) if self.training else features

    def _combine(self, joined: torch.Tensor, fused: bool) -> torch.Tensor:
        """``self.combine(joined)``; with ``fused``, one position's product on the packed weight."""
        if not fused or torch.is_grad_enabled() or joined.shape[1] != 1:
            return self.combine(joined)
        return linear(self.combine, "weight", self.combine.bias, joined.squeeze(1)).unsqueeze(1)

    def _decoder_rnn(
        self, embedded: torch.Tensor, rnn_state: RnnState, fused: bool
    ) -> tuple[torch.Tensor, RnnState]:
        """``self.decoder(embedded, rnn_state)``; with ``fused``, a GRU's step runs fused."""
        if fused and isinstance(rnn_state, torch.Tensor) and fusable(self.decoder, embedded):
            return gru_step(self.decoder, embedded, rnn_state)
        return self.decoder(embedded, rnn_state)

    def _luong(
        self, embedded: torch.Tensor, rnn_state: RnnState, state: DecoderState, fused: bool
    ) -> tuple[torch.Tensor, torch.Tensor, RnnState]:
        """One RNN call over every position, then attention queried by its outputs."""
        outputs, rnn_state = self._decoder_rnn(embedded, rnn_state, fused)
        context = self.attention(outputs, state.keys, state.memory, state.memory_mask)
        return outputs, context, rnn_state

    def _bahdanau(
        self, embedded: torch.Tensor, rnn_state: RnnState, state: DecoderState, fused: bool
    ) -> tuple[torch.Tensor, torch.Tensor, RnnState]:
        """Position by position: attention queried by the previous top hidden state, whose
        context joins the input of the RNN step."""
        outputs, contexts = [], []
        for position in range(embedded.shape[1]):
            top = (rnn_state[0] if isinstance(rnn_state, tuple) else rnn_state)[-1]
            context = self.attention(top.unsqueeze(1), state.keys, state.memory, state.memory_mask)
            step_input = torch.cat([embedded[:, position : position + 1], context], dim=-1)
            output, rnn_state = self._decoder_rnn(step_input, rnn_state, fused)
            outputs.append(output)
            contexts.append(context)
        return torch.cat(outputs, dim=1), torch.cat(contexts, dim=1), rnn_state


def _without_tied_output(module: nn.Module, state_dict: dict, prefix: str, metadata) -> None:
    """A tied model's state dict holds its one table once, as the embedding."""
    state_dict.pop(prefix + "output.weight", None)


def _with_tied_output(
    module: nn.Module, state_dict: dict, prefix: str, metadata, strict, missing, unexpected, errors
) -> None:
    """Loading a tied model: the output weight is the embedding table."""
    if prefix + "embedding.weight" in state_dict:
        state_dict.setdefault(prefix + "output.weight", state_dict[prefix + "embedding.weight"])


def reverse_within_lengths(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``length`` ids, leaving its padding where it is."""
    positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
    lengths = lengths.to(ids.device).unsqueeze(1)
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)
    return ids.gather(1, index)

