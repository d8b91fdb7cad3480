"""Two agents talking: a corpus prompt, then turns from a responder until a dull or repeated one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from botframework.text import is_dull, word_overlap


class Said(Protocol):
    text: str


T = TypeVar("T", bound=Said)

#: Takes the dialogues still going (each a list of turns, newest last); returns one reply for each.
Responder = Callable[[list[list[str]]], Sequence[T]]


@dataclass
class SimulatedDialogue(Generic[T]):
    """The corpus turns a dialogue began with and the turns the agents generated after them.

    ``ended_by`` is ``"dull"`` or ``"repetition"`` when the last turn ended the dialogue early,
    None when it ran to the turn cap. :attr:`length` counts the generated turns before any ending
    one: 5 for a dialogue that ran to a cap of 5, 2 when the third reply was dull.
    """

    start: list[str]
    turns: list[T] = field(default_factory=list)
    ended_by: str | None = None

    @property
    def texts(self) -> list[str]:
        return [turn.text for turn in self.turns]

    @property
    def history(self) -> list[str]:
        """Every turn so far, the corpus turns first."""
        return [*self.start, *self.texts]

    @property
    def length(self) -> int:
        return len(self.turns) - (self.ended_by is not None)

    def steps(self) -> list[tuple[list[str], T]]:
        """(the turns before it, the turn) for every generated turn."""
        history = list(self.start)
        out = []
        for turn in self.turns:
            out.append((list(history), turn))
            history.append(turn.text)
        return out


def ending(
    history: Sequence[str], reply: str, dull_replies: Sequence[str], repetition_threshold: float
) -> str | None:
    """Why ``reply`` ends the dialogue: ``"dull"``, ``"repetition"`` of the agent's own previous
    turn (two turns back), or None."""
    if is_dull(reply, dull_replies):
        return "dull"
    if len(history) >= 2 and word_overlap(reply, history[-2]) >= repetition_threshold:
        return "repetition"
    return None


def simulate(
    respond: Responder[T],
    starts: Sequence[Sequence[str]],
    max_turns: int,
    dull_replies: Sequence[str],
    repetition_threshold: float,
) -> list[SimulatedDialogue[T]]:
    """Dialogues from ``starts``, all live ones answered in one ``respond`` call per turn."""
    dialogues: list[SimulatedDialogue[T]] = [SimulatedDialogue(list(start)) for start in starts]
    live = list(range(len(dialogues)))
    for _ in range(max_turns):
        if not live:
            break
        replies = respond([dialogues[i].history for i in live])
        going = []
        for index, reply in zip(live, replies, strict=True):
            dialogue = dialogues[index]
            dialogue.ended_by = ending(
                dialogue.history, reply.text, dull_replies, repetition_threshold
            )
            dialogue.turns.append(reply)
            if dialogue.ended_by is None:
                going.append(index)
        live = going
    return dialogues
