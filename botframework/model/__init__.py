"""The sequence-to-sequence model and its training loss."""

from botframework.model.attention import Attention, BahdanauAttention, LuongAttention
from botframework.model.sampled_softmax import SampledSoftmaxLoss
from botframework.model.seq2seq import DecoderState, EncoderOutput, Seq2Seq

__all__ = [
    "Attention",
    "BahdanauAttention",
    "DecoderState",
    "EncoderOutput",
    "LuongAttention",
    "SampledSoftmaxLoss",
    "Seq2Seq",
]
