"""Scheduled sends (reminders, check-ins): due jobs become bot-made events in the runner's own inbox."""
