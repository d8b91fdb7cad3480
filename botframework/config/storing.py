"""What a checkpoint keeps of a bot's settings: all of them but the values from the environment.

Checkpoints and Lightning's ``hparams.yaml`` get shared and shipped in repositories, so the secrets
a YAML takes from ``${VAR}`` must not be written into them. The sections only a running server
reads (``channel`` and the plugins' ``settings``) are not stored at all. Elsewhere a string that
holds a value from the environment is stored as :data:`FROM_ENVIRONMENT`, except in the sections
that rebuild the model, which must load as they were trained.
"""

from __future__ import annotations

from typing import Any

from botframework.config.schema import BotConfig

#: What a checkpoint holds in place of a string that came from ``${VAR}``.
FROM_ENVIRONMENT = "from-environment"
#: Read by a server only, never from a checkpoint.
RUNTIME_SECTIONS = ("channel", "settings")
#: Needed as they were to rebuild and continue the model.
MODEL_SECTIONS = ("corpus", "tokenizer", "model", "training")


def settings_to_store(config: BotConfig) -> dict[str, Any]:
    """``config`` as JSON values, without its runtime sections and values from the environment."""
    stored = config.model_dump(mode="json")
    for section in RUNTIME_SECTIONS:
        stored.pop(section, None)
    secrets = [value for value in config.environment_values if value]
    return {
        key: value if key in MODEL_SECTIONS else _without(value, secrets)
        for key, value in stored.items()
    }


def _without(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {key: _without(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_without(item, secrets) for item in value]
    if isinstance(value, str) and any(secret in value for secret in secrets):
        return FROM_ENVIRONMENT
    return value
