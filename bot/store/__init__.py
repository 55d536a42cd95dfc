"""Where the bot keeps everything: one Redis (or the embedded stand-in for it), reached through one code path."""

from bot.store.base import Store, connect

__all__ = ["Store", "connect"]
