"""Send API transports other than the default aiohttp one (``channel.transport`` in the bot YAML)."""
