"""Send API transports besides the default aiohttp one (``channel.transport`` in the bot YAML)."""
