"""The benchmark suite: ``python -m bench`` (see bench/README.md). Not run by pytest: it measures, asserts nothing."""
