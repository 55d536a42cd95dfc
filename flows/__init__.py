"""Conversation flows: the engine and the YAML files that hold every question, message and video."""
