"""Built-in botframework plugins."""
