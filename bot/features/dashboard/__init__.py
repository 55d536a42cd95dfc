"""The staff dashboard (``/admin``): bookings, the inbox with hand-off, the funnel and a content preview.

How it plugs in: ``feature.py``.
"""
