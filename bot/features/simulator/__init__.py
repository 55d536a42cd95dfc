"""The chat simulator at ``/simulator``: talk to the bot in a browser, in local mode.

How it plugs in: ``feature.py``.
"""
