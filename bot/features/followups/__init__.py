"""Follow-ups: check-ins declared in flow files, tags staff can search, segment messages, video-tap counts.

How it plugs in: ``feature.py``.
"""
