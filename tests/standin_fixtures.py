"""Pytest fixtures for the LINE stand-in.

Why: one real server per test session is cheap to share, but each test must start from an
empty stand-in (no messages, tokens, faults or retry keys) or tests would leak into each
other. Use ``line_standin`` in tests; register with ``pytest_plugins`` in conftest.py, or
in a test module assign ``line_standin = standin_fixtures.line_standin`` (and the server).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.standin_server import StandinServer


@pytest.fixture(scope="session")
def line_standin_server() -> Iterator[StandinServer]:
    """One stand-in on a free loopback port for the whole session."""
    with StandinServer() as server:
        yield server


@pytest.fixture
def line_standin(line_standin_server: StandinServer) -> Iterator[StandinServer]:
    """The session's stand-in, reset before and after the test (and restarted if stopped)."""
    line_standin_server.reset()
    yield line_standin_server
    line_standin_server.reset()
