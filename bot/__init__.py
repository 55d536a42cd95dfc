"""The clinic's LINE assistant: webhook, event queue, conversation engine and the staff side."""
