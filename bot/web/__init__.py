"""What every web feature shares: the staff bearer check and the one way to reach the bot's parts."""
