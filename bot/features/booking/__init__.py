"""Booking consultations from the chat, with a staff API, an iCalendar feed and day-before reminders.

How it plugs in: ``feature.py``.
"""
