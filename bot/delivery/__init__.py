"""From an accepted event to LINE: the durable queue, the consumers, the outbox and the LINE client."""
