"""Features: booking, follow-ups, the staff dashboard and the chat simulator.

Each plugs into the core through one :class:`bot.extension.Feature` (its ``feature.py``) and is listed in
``bot/plugins.py``; the core never imports anything here.
"""
