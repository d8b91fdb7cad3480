"""Bot definitions: the YAML schema and its loader."""

from botframework.config.loader import BotDefinition, ConfigError, load_definition
from botframework.config.schema import BotConfig, NamedPart

__all__ = ["BotConfig", "BotDefinition", "ConfigError", "NamedPart", "load_definition"]
