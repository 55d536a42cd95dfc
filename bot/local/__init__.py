"""LINE on a laptop: the Messaging API stand-in and the spec checker (local mode and tests only)."""
