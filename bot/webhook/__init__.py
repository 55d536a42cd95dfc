"""The way in: ``POST /callback`` checks LINE's signature and the body, and persists each event before 200."""
