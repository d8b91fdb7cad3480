"""The bot YAML schema: every section, its keys, types and defaults.

Every option of the original project that still makes sense has a home here (its name in brackets):
model name [model_name] -> ``name``; vocab size [vocab_size] -> ``tokenizer.vocab_size``; layer size
[size] -> ``model.hidden_size``; number of layers [num_layers] -> ``model.num_layers``; learning rate
and its decay [learning_rate, learning_rate_decay_factor] -> ``training.learning_rate`` /
``training.lr_decay``; gradient-norm clip [max_gradient_norm] -> ``training.gradient_clip``; batch size
-> ``training.batch_size``; max training data [max_train_data_size] -> ``corpus.max_pairs``; steps per
checkpoint -> ``training.steps_per_checkpoint``; beam size / anti-LM weight / length bonus [beam_size,
antilm, n_bonus] -> ``decoding``; GPU memory fraction [gpu_usage] -> ``training.accelerator`` and
``training.devices``; sampled classes [num_samples] -> ``model.sampled_softmax``.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    PrivateAttr,
    field_validator,
    model_validator,
)

from botframework.config.objective import check_weights

from botframework.text import DEFAULT_DULL_REPLIES


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class NamedPart(BaseModel):
    """A plugin part chosen by name with its arguments: ``{name: beam, beam_size: 10}``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_args(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "args" not in value:
            rest = {k: v for k, v in value.items() if k != "name"}
            return {"name": value.get("name"), "args": rest} if "name" in value else value
        return value


class CorpusConfig(Section):
    reader: str = Field("twitter", min_length=1)
    path: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    max_pairs: PositiveInt | None = None
    context_turns: PositiveInt = 1
    validation_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    max_source_length: PositiveInt = 40
    max_target_length: PositiveInt = 40


class TokenizerConfig(Section):
    name: str = Field("word", min_length=1)
    vocab_size: PositiveInt = 20000
    options: dict[str, Any] = Field(default_factory=dict)


class ModelConfig(Section):
    cell: Literal["gru", "lstm"] = "gru"
    embedding_size: PositiveInt = 256
    hidden_size: PositiveInt = 256
    num_layers: PositiveInt = 2
    attention: Literal["luong", "bahdanau"] = "luong"
    reverse_source: bool = True
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    sampled_softmax: int = Field(512, ge=0, description="negatives per batch; 0 = full softmax")
    source_cache: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="λ: the share of every next-token probability given to the prompt's words",
    )
    tie_embeddings: bool = Field(
        False,
        description="the output layer reuses the embedding table as its weight (one table of "
        "vocabulary × size instead of two); needs embedding_size equal to hidden_size",
    )

    @model_validator(mode="after")
    def _check_tying(self) -> ModelConfig:
        if self.tie_embeddings and self.embedding_size != self.hidden_size:
            raise ValueError(
                f"tie_embeddings needs embedding_size ({self.embedding_size}) equal to "
                f"hidden_size ({self.hidden_size})"
            )
        return self


class TrainingConfig(Section):
    seed: int | None = 1234
    batch_size: PositiveInt = 64
    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float = Field(0.001, gt=0.0)
    lr_decay: float = Field(0.5, gt=0.0, le=1.0)
    lr_decay_patience: int = Field(2, ge=0)
    gradient_clip: float = Field(5.0, ge=0.0)
    steps_per_checkpoint: PositiveInt = 500
    max_steps: int = Field(-1, ge=-1)
    max_epochs: int | None = Field(None, ge=1)
    max_time: str | None = Field(None, description='"DD:HH:MM:SS", e.g. "00:01:00:00"')
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: PositiveInt = 1
    precision: str = "32-true"
    num_workers: int = Field(0, ge=0)
    reverse_model: bool = Field(False, description="also train a replies -> prompts model")
    empty_source_rate: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="share of training prompts replaced by the empty prompt, so the decoder also "
        "learns p(reply): the language model U that the anti-LM rescorer subtracts",
    )
    last_turn_rate: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="share of training prompts of several turns cut to their last turn, so that "
        "a one-turn prompt (a visitor's first message) is not read as a conversation's opening",
    )

    @model_validator(mode="after")
    def _check_prompt_rates(self) -> TrainingConfig:
        if self.empty_source_rate + self.last_turn_rate >= 1.0:
            raise ValueError(
                f"empty_source_rate ({self.empty_source_rate}) and last_turn_rate "
                f"({self.last_turn_rate}) must add up to less than 1"
            )
        return self


class DecodingConfig(Section):
    decoder: NamedPart = Field(default_factory=lambda: NamedPart(name="greedy"))
    max_length: PositiveInt = 30
    rescorers: list[NamedPart] = Field(default_factory=list)
    written: bool = Field(False, description="replies through the tokenizer's written()")


class TuneConfig(Section):
    """``botframework tune``'s objective: a weight per term (empty: BLEU alone)."""

    weights: dict[str, float] = Field(
        default_factory=dict, description="term name -> weight, e.g. {relevance: 1, generic: -1}"
    )

    @field_validator("weights")
    @classmethod
    def _known_terms(cls, weights: dict[str, float]) -> dict[str, float]:
        return check_weights(weights)


class RewardEntry(NamedPart):
    """A reward rule by name with its weight and arguments."""

    weight: float = 1.0

    @model_validator(mode="before")
    @classmethod
    def _collect_args(cls, value: Any) -> Any:
        if isinstance(value, dict) and "args" not in value and "name" in value:
            rest = {k: v for k, v in value.items() if k not in ("name", "weight")}
            out = {"name": value["name"], "args": rest}
            if "weight" in value:
                out["weight"] = value["weight"]
            return out
        return value


class ReinforceConfig(Section):
    """Reinforcement learning (``botframework reinforce``) and the dialogue metrics of ``eval``.

    Two copies of the policy talk: a corpus prompt, then sampled turns, up to ``min_turns`` at first
    and one more every ``turns_every`` steps until ``max_turns`` (the curriculum). A simulated
    dialogue ends early on a reply from ``dull_replies`` or when an agent repeats itself (the share
    of its words found in its own previous turn reaches ``repetition_threshold``). The loss is
    ``(1 - mle_weight) * REINFORCE + mle_weight * MLE`` on the corpus pairs the prompts come from;
    ``kl_weight`` > 0 also charges each reply for how much likelier the policy finds it than the
    starting model does (a sampled estimate of their KL divergence, as in RL from human feedback).
    """

    steps: PositiveInt = Field(1000, description="optimizer steps of one run")
    max_time: str | None = Field(None, description='or stop after "DD:HH:MM:SS", e.g. "00:00:15:00"')
    batch_size: PositiveInt = Field(16, description="simulated dialogues per step")
    min_turns: PositiveInt = Field(2, description="generated turns at the start of the curriculum")
    max_turns: PositiveInt = Field(5, description="generated turns at its end (and eval's cap)")
    turns_every: PositiveInt = Field(200, description="steps before the curriculum adds a turn")
    dull_replies: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DULL_REPLIES),
        min_length=1,
        description="the one dull/generic reply list of RL and of eval's dull-reply rate",
    )
    repetition_threshold: float = Field(0.8, gt=0.0, le=1.0)
    discount: float = Field(
        0.0, ge=0.0, le=1.0, description="weight of later turns' rewards in a reply's return"
    )
    ending_penalty: float = Field(
        0.0,
        ge=0.0,
        description="subtracted from the reward of a turn that ends its dialogue early (a dull "
        "reply or a repeat of the agent's own previous turn)",
    )
    baseline: Literal["learned", "mean"] = "learned"
    baseline_momentum: float = Field(0.9, ge=0.0, lt=1.0, description="of the running mean")
    baseline_learning_rate: float = Field(0.001, gt=0.0, description="of the learned baseline")
    normalize_advantage: bool = True
    mle_weight: float = Field(0.1, ge=0.0, le=1.0)
    kl_weight: float = Field(
        0.0,
        ge=0.0,
        description="KL guard: each reply's return loses this times log p_policy - log p_start "
        "of its tokens, so the policy cannot drift far from the starting model",
    )
    entropy_weight: float = Field(
        0.0,
        ge=0.0,
        description="entropy bonus: the loss loses this times the entropy of the policy's "
        "next-token distributions over each sampled reply, so the policy does not sharpen onto "
        "a few replies",
    )
    learning_rate: float = Field(0.0001, gt=0.0)
    gradient_clip: float = Field(5.0, ge=0.0)
    temperature: float = Field(1.0, gt=0.0, description="of the sampled turns")
    top_k: int = Field(0, ge=0, description="sample among the k likeliest tokens (0: all)")
    max_length: PositiveInt | None = Field(None, description="tokens per turn; default decoding's")
    steps_per_checkpoint: PositiveInt = 200
    seed: int | None = Field(None, description="default: training.seed")
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ReinforceConfig:
        if self.min_turns > self.max_turns:
            raise ValueError(
                f"min_turns ({self.min_turns}) must not exceed max_turns ({self.max_turns})"
            )
        if any(not reply.strip() for reply in self.dull_replies):
            raise ValueError("dull_replies must be non-empty strings")
        return self


class PluginsConfig(Section):
    load: list[str] = Field(default_factory=list, description="import paths of local plugins")
    block: list[str] = Field(default_factory=list, description="plugin names not to register")


class MenuItem(Section):
    """A persistent-menu item: a ``postback`` with its payload or a ``web_url`` with its url."""

    type: Literal["postback", "web_url"]
    title: str = Field(min_length=1, max_length=30)
    payload: str | None = Field(None, min_length=1, max_length=1000)
    url: str | None = Field(None, pattern=r"^https?://")

    @model_validator(mode="after")
    def _check(self) -> MenuItem:
        needed, other = ("payload", "url") if self.type == "postback" else ("url", "payload")
        if getattr(self, needed) is None:
            raise ValueError(f"a {self.type} item needs a {needed}")
        if getattr(self, other) is not None:
            raise ValueError(f"a {self.type} item takes no {other}")
        return self


class IceBreaker(Section):
    question: str = Field(min_length=1, max_length=80)
    payload: str = Field(min_length=1, max_length=1000)


class MessengerConfig(BaseModel):
    """``channel.messenger``: the Page's profile (menu, ice breakers) and which user-profile
    fields to fetch; other keys are free-form settings for third-party transports."""

    model_config = ConfigDict(extra="allow")
    persistent_menu: list[MenuItem] = Field(
        default_factory=list, max_length=20, description="Meta: at most 20 items"
    )
    ice_breakers: list[IceBreaker] = Field(
        default_factory=list, max_length=4, description="Meta: at most 4 questions"
    )
    profile_fields: list[Literal["first_name"]] = Field(
        default_factory=list, description="user-profile fields fetched once per user"
    )
    app_id: str | None = Field(
        None,
        pattern=r"^[0-9]+$",
        description="this bot's Facebook app id (handover: to know when control comes back)",
    )

    @field_validator("app_id", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else str(value) if isinstance(value, int) else value


class ChannelConfig(Section):
    """How the bot meets its users: greeting, Messenger server settings, moderation, retention.

    Secrets never live here: the Page access token is read from the environment variable that
    ``page_token_env`` names (``${VAR}`` references elsewhere are substituted at load). Keys this
    schema does not declare are kept for the plugins' ``channel.<key>`` settings sections
    (``register_settings``), which check them when the bot's plugins load.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    greeting: str = Field("Hi! Say something and I will answer.", min_length=1)
    profile_greeting: str | None = Field(
        None, min_length=1, max_length=160, description="welcome-screen text (Meta: <= 160 chars)"
    )
    get_started_payload: str = Field("GET_STARTED", min_length=1, max_length=1000)
    attachment_reply: str | None = "I can only read text messages for now."
    empty_reply: str | None = Field(
        "Sorry, I have nothing to say to that.", description="sent when the model's reply is empty"
    )
    privacy_policy: str | None = Field(None, description="privacy-policy text served at /privacy")
    privacy_policy_file: str | None = Field(None, description="or a file, relative to the YAML")
    page_id: str | None = Field(None, pattern=r"^[0-9]+$", description="routes webhook entries")
    page_token_env: str = Field("MESSENGER_PAGE_ACCESS_TOKEN", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    transport: str = Field(
        "aiohttp", min_length=1, description="aiohttp, pymessenger or module:Class"
    )
    appsecret_proof: bool = True
    sender_actions: bool = Field(True, description="mark_seen and typing_on while generating")
    batching: bool = True
    batch_max_size: PositiveInt = 32
    batch_max_wait_ms: float = Field(10.0, ge=0.0, le=10_000.0)
    context_turns: int = Field(10, ge=0, le=1000, description="stored turns handed to the pipeline")
    retention_days: PositiveInt | None = 30
    send_timeout_s: float = Field(10.0, gt=0.0, le=300.0)
    send_max_attempts: PositiveInt | None = Field(
        None, description="also give up after this many attempts (default: only the time budget)"
    )
    retry_budget_minutes: float = Field(
        60.0, gt=0.0, le=1440.0, description="keep retrying a send this long (Meta's window: 24 h)"
    )
    retry_base_delay_s: float = Field(0.5, ge=0.0, le=60.0)
    retry_max_delay_s: float = Field(30.0, ge=0.0, le=3600.0)
    web_chat_candidates: int = Field(5, ge=1, le=100)
    suggestions: int = Field(
        0, ge=0, le=13, description="quick replies the model suggests the user might send next"
    )
    messenger: MessengerConfig = Field(default_factory=MessengerConfig)
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ChannelConfig:
        if self.privacy_policy is not None and self.privacy_policy_file is not None:
            raise ValueError("set privacy_policy or privacy_policy_file, not both")
        if self.retry_max_delay_s < self.retry_base_delay_s:
            raise ValueError("retry_max_delay_s must be at least retry_base_delay_s")
        return self


#: Keys the core schema once had and a plugin now owns: (section, key) -> where they went.
MOVED_KEYS: dict[tuple[str, str], str] = {
    ("channel", "blocklist"): "settings.blocklist.words",
    ("channel", "blocklist_fallback"): "settings.blocklist.fallback",
}


def without_moved_keys(data: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's stored configuration without :data:`MOVED_KEYS`.

    A checkpoint keeps the whole YAML it was trained with; keys later moved out of the core schema
    cannot change the trained model, so they must not make it unloadable.
    """
    pruned = copy.deepcopy(data)
    for section, key in MOVED_KEYS:
        if isinstance(pruned.get(section), dict):
            pruned[section].pop(key, None)
    return pruned


def stored_config(data: dict[str, Any]) -> BotConfig:
    """The configuration a checkpoint stored (see :func:`without_moved_keys`)."""
    return BotConfig.model_validate(without_moved_keys(data))


class BotConfig(Section):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    workspace: str | None = None
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
    tune: TuneConfig = Field(default_factory=TuneConfig)
    rewards: list[RewardEntry] = Field(default_factory=list)
    reinforce: ReinforceConfig = Field(default_factory=ReinforceConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    channel: ChannelConfig = Field(default_factory=ChannelConfig)
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="plugins' own sections (register_settings), validated when plugins load",
    )
    #: The environment's values that ``${VAR}`` put into these settings: never stored or shown.
    _from_env: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @property
    def environment_values(self) -> frozenset[str]:
        """The values ``${VAR}`` took from the environment when the YAML was loaded."""
        return self._from_env
