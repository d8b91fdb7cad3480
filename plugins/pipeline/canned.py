"""Canned answers from the bot YAML for the questions every Page gets; they skip the model.

Its settings are the list ``channel.canned`` (a ``register_settings`` section under ``channel``)::

    channel:
      canned:
        - {payload: MENU_HOURS, text: "We are open 9 to 5.",
           quick_replies: [{title: "Address", payload: MENU_ADDRESS}]}
        - {match: ["opening hours", "when are you open"], text: "We are open 9 to 5."}
        - {payload: MENU_ADDRESS, text: "1 Main St.",
           buttons: [{type: web_url, title: "Map", url: "https://example.com/map"}]}
        - {payload: MENU_PHOTO, image: "https://example.com/shop.jpg"}

``payload`` matches a postback or quick-reply payload; ``match`` a message containing one of the
phrases (whole words; case and punctuation ignored). The first matching entry answers. Meta's
limits (13 quick replies, 3 buttons, titles of 20 characters, ...) are checked at load.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from botframework import (
    Button,
    Conversation,
    IncomingMessage,
    Media,
    QuickReply,
    Reply,
    contains_phrase,
    hookimpl,
)

NAME = "channel.canned"


class CannedAnswer(BaseModel):
    """One entry of ``channel.canned``: what it answers (``payload``, ``match``) and the reply."""

    model_config = ConfigDict(extra="forbid")
    payload: str | None = Field(None, min_length=1, max_length=1000)
    match: list[str] = Field(default_factory=list, description="phrases a message may contain")
    text: str | None = Field(None, min_length=1)
    quick_replies: list[QuickReply] = Field(default_factory=list)
    buttons: list[Button] = Field(default_factory=list)
    image: str | None = Field(None, description="an image URL sent with (after) the text")

    @field_validator("match", mode="before")
    @classmethod
    def _one_phrase_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("match")
    @classmethod
    def _phrases_with_words(cls, phrases: list[str]) -> list[str]:
        if any(not contains_phrase(phrase, phrase) for phrase in phrases):
            raise ValueError("every match phrase needs a letter or digit")
        return phrases

    @model_validator(mode="after")
    def _check(self) -> CannedAnswer:
        if self.payload is None and not self.match:
            raise ValueError("a canned answer needs a payload or match phrases")
        if self.text is None and self.image is None:
            raise ValueError("a canned answer needs a text or an image")
        self.reply()  # Meta's limits on the whole reply, with a message naming the limit
        return self

    def reply(self) -> Reply:
        """A fresh reply (plugins later in the pipeline may change it)."""
        return Reply(
            text=self.text,
            answered_by="canned",
            quick_replies=list(self.quick_replies),
            buttons=list(self.buttons),
            media=Media("image", self.image) if self.image else None,
        )

    def answers(self, message: IncomingMessage) -> bool:
        if self.payload is not None and message.payload == self.payload:
            return True
        return any(contains_phrase(message.text, phrase) for phrase in self.match)


class CannedSettings(RootModel[list[CannedAnswer]]):
    """``channel.canned``: the canned answers, the first matching one answers."""

    root: list[CannedAnswer] = Field(default_factory=list)


@hookimpl
def register_settings(register) -> None:
    register(NAME, CannedSettings)


@hookimpl
def answer_without_model(message: IncomingMessage, conversation: Conversation) -> Reply | None:
    settings = conversation.settings(NAME)
    if settings is None:
        return None
    entry = next((entry for entry in settings.root if entry.answers(message)), None)
    return entry.reply() if entry is not None else None
