"""Every extension point of botframework, in one place.

Two families of hooks:

* ``register_*(register)`` hooks hand a plugin a callback, ``register(name, factory)``, with which it
  adds named parts (tokenizers, corpus readers, decoders, rescorers, reward rules). A bot YAML picks
  parts by these names; an unknown name fails at load and lists the registered ones.
* Message-pipeline hooks run for every incoming message, in this order::

      preprocess_message  ->  answer_without_model  ->  (model generates)  ->  postprocess_reply

  and ``handle_event`` receives every event that gets no reply (deliveries, reads, echoes, ...).

pluggy is synchronous. Hooks documented as "may be awaitable" may be written as ``async def``; the
core awaits whatever awaitable they return. ``answer_without_model`` stops at the first non-None result
and must therefore be a plain function (a coroutine object would count as an answer).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from botframework.pipeline import Conversation, Event, IncomingMessage, Reply

PROJECT_NAME = "botframework"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: The callback handed to every ``register_*`` hook: ``register(name, factory)``.
Register = Callable[[str, Callable[..., Any]], None]


@hookspec
def register_tokenizers(register: Register) -> None:
    """Add tokenizer classes under the names a bot YAML uses in ``tokenizer.name``.

    Called once when a bot is loaded. ``register(name, cls)`` takes a subclass of
    :class:`botframework.Tokenizer`. Returns nothing.

    :param register: ``register(name, cls)``, adds a tokenizer class.
    """


@hookspec
def register_corpus_readers(register: Register) -> None:
    """Add corpus readers under the names a bot YAML uses in ``corpus.reader``.

    Called once when a bot is loaded. ``register(name, cls)`` takes a subclass of
    :class:`botframework.CorpusReader`; it is built with the corpus path and the YAML's
    ``corpus.options``. Returns nothing.

    :param register: ``register(name, cls)``, adds a corpus reader class.
    """


@hookspec
def register_decoders(register: Register) -> None:
    """Add decoders under the names a bot YAML uses in ``decoding.decoder.name``.

    Called once when a bot is loaded. ``register(name, cls)`` takes a class built with the YAML
    entry's arguments and called as ``decoder(ctx, rescorers)`` with a
    :class:`botframework.ScoringContext`; it returns, for every input, its candidates best first.
    Returns nothing.

    :param register: ``register(name, cls)``, adds a decoder class.
    """


@hookspec
def register_rescorers(register: Register) -> None:
    """Add rescorers under the names a bot YAML lists in ``decoding.rescorers``.

    Called once when a bot is loaded. ``register(name, cls)`` takes a subclass of
    :class:`botframework.StepRescorer` (changes next-token log-probabilities while decoding) or of
    :class:`botframework.CandidateRescorer` (re-scores finished candidates). They are applied in the
    order the YAML lists them, not in plugin registration order. Returns nothing.

    :param register: ``register(name, cls)``, adds a rescorer class.
    """


@hookspec
def register_reward_rules(register: Register) -> None:
    """Add reinforcement-learning reward rules under the names a bot YAML lists in ``rewards``.

    Called once when a bot is loaded. ``register(name, cls)`` takes a class built with the YAML
    entry's arguments (except ``weight``) and called as ``rule(ctx) -> float`` with a
    :class:`botframework.RewardContext` (a :class:`botframework.ScoringContext` whose ``reply``
    and ``dialogue`` are set, with scoring helpers). A rule may set ``required_models`` (names
    of ``ctx.extra_models`` it needs, e.g. ``("reverse",)``, checked before RL starts) and
    ``required_models_hint`` (how a user does without them, added to that error). Returns nothing.

    :param register: ``register(name, cls)``, adds a reward rule class.
    """


@hookspec
def register_settings(register: Register) -> None:
    """Declare a section of the bot YAML's ``settings`` for this plugin's own options.

    Called once when a bot's plugins are loaded. ``register(section, model)`` takes a section name
    and a pydantic model class; ``settings.<section>`` in the YAML is validated with it (an absent
    section gets the model's defaults), with the same error messages as the core schema, and a
    section no plugin registers is an error. A name ``channel.<key>`` (a key the core ``channel``
    schema does not use) puts the section under the YAML's ``channel`` instead
    (``channel.canned``, ``channel.handover``: channel behaviour); a
    ``channel`` key that neither the core schema nor a plugin declares is an unknown key. The
    model may be a ``pydantic.RootModel`` for a section that is a list. Hooks read the validated
    model with :meth:`botframework.Conversation.settings` under the registered name. Returns
    nothing.

    :param register: ``register(section, model)``, declares a settings section.
    """


@hookspec
def register_transports(register: Register) -> None:
    """Add Send API transports under the names a bot YAML uses in ``channel.transport``.

    Called when the Messenger server starts (and by ``messenger-profile``), with the plugins of the
    first served bot. ``register(name, cls)`` takes a class built as
    ``cls(graph_api_url, app_secret=..., timeout=...)`` with two coroutine methods:
    ``post(path, access_token, payload)``, which returns an object with ``status`` and ``body``
    (the JSON answer) or raises ``ConnectionError`` when no answer came back, and ``close()``.
    The built-in ones are ``aiohttp`` (the default) and ``pymessenger``. Returns nothing.

    :param register: ``register(name, cls)``, adds a transport class.
    """


@hookspec
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add sub-commands to the ``botframework`` command line.

    Called once when the CLI starts. ``subparsers`` is the :mod:`argparse` sub-parser collection;
    a plugin adds a parser and sets its ``handler`` default to a function ``handler(args) -> int``.
    Returns nothing.

    :param subparsers: the ``botframework`` command's sub-parser collection.
    """


@hookspec
def preprocess_message(
    message: IncomingMessage, conversation: Conversation
) -> Awaitable[None] | None:
    """Inspect or rewrite an incoming message before anything answers it.

    Called for every message that gets a reply, before :func:`answer_without_model`. A plugin may
    change ``message.text`` in place. Every implementation runs. May be awaitable. Returns nothing.

    :param message: the incoming message (its ``text`` may be rewritten).
    :param conversation: the turns so far with this user, and the bot's plugin settings.
    """


@hookspec(firstresult=True)
def answer_without_model(
    message: IncomingMessage, conversation: Conversation
) -> str | Reply | None:
    """Answer a message without the model (a help command, a greeting, a canned FAQ answer).

    Called after :func:`preprocess_message`. Return the reply text, or a :class:`Reply` with
    structured parts (quick replies, buttons, media, a generic template, a ``handover``), or a
    vetoed one to send nothing, to short-circuit: the
    model is not called and the remaining implementations are skipped
    (stops at the first non-None result). Return None to let the model answer. Must be a plain
    function, not ``async``.

    :param message: the incoming message, after pre-processing.
    :param conversation: the turns so far with this user, and the bot's plugin settings.
    """


@hookspec
def postprocess_reply(
    message: IncomingMessage, reply: Reply, conversation: Conversation
) -> Awaitable[None] | None:
    """Inspect, rewrite, replace or veto a reply before it is sent.

    Called for every reply, including short-circuit ones. A plugin may change ``reply.text``, call
    ``reply.replace(text, by=...)``, or ``reply.veto(by=..., fallback=...)`` (a vetoed reply with no
    fallback sends nothing), and add structured parts: ``reply.quick_replies`` (``QuickReply``),
    ``reply.buttons`` (``Button``, sent as a button template with the text), ``reply.media``
    (``Media``) and ``reply.elements`` (``Element``, a generic template), all importable from
    ``botframework``. Limits are checked after the hooks (``ValueError`` naming the
    limit). Every implementation runs. May be awaitable. Returns nothing.

    :param message: the message being answered.
    :param reply: the reply about to be sent (model or plugin answer).
    :param conversation: the turns so far with this user, and the bot's plugin settings.
    """


@hookspec
def handle_event(event: Event) -> Awaitable[None] | None:
    """Be notified of an event that gets no reply (delivery, read, echo, reaction, a sticker such as
    the 👍 "like" (kind ``sticker``; the sticker id is in the raw ``data``), unknown kinds).

    Messenger's handover events arrive as kinds ``pass_thread_control``, ``take_thread_control``
    and ``request_thread_control``, and ``handover_failed`` when the Graph API refused a
    handover (its ``data["handover_failed"]`` holds ``target_app_id`` and ``error``); an ``echo``
    is about the user it was sent to. Called once per
    such event, after it was accepted. An implementation may change the user's
    ``event.conversation.state`` (kept in the store) and set ``event.handover`` (a
    :class:`botframework.Handover`) to pass the conversation to another app. Every implementation
    runs. May be awaitable. Returns nothing.

    :param event: what arrived: its ``kind``, ``user_id``, ``channel``, raw ``data``, the user's
        ``conversation`` (None without a user) and the channel settings in ``metadata``.
    """


@hookspec
def register_eval_metrics(register: Register) -> None:
    """Add metrics to ``botframework eval`` under the names its ``--metrics`` option selects.

    Called once per ``eval`` command, after the built-in metrics (distinct-1, distinct-2,
    dull-rate, perplexity) are registered. ``register(name, metric)`` takes a callable
    ``metric(run) -> float | dict[str, float]``, where ``run`` is a :class:`botframework.EvalRun`:
    one checkpoint with the held-out prompts, its replies and its simulated dialogues (each computed
    once and shared by every metric). A float becomes the report's row ``name``, a dict one row per
    key; NaN shows as "n/a". Metrics run in registration order. Returns nothing.

    :param register: ``register(name, metric)``, adds a metric function.
    """
