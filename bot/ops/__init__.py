"""Running the bot: logs, metrics, ``python -m bot check`` and the rich menu."""
