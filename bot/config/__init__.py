"""Configuration: settings from the environment, and the clinic's own file (hours, booking rules)."""
