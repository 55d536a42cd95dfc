"""How wide a line of Japanese copy is on a phone, counted the way the eye sees it.

A full-width character (kanji, kana, 「」, 全角記号) counts 1, a half-width one (digits, Latin letters, ``:``) counts
a half. A small phone shows about 16 full-width characters on one line of a LINE text bubble; a longer line
wraps in the middle of a word, which reads badly in Japanese, so the start-up check warns about it.
"""

from __future__ import annotations

import unicodedata

#: Full-width characters a small phone shows on one line of a text bubble.
PHONE_LINE = 16.0
#: A line of small text inside a card (a video's description) has room for a few more.
CARD_LINE = 20.0


def width(text: str) -> float:
    """The width of ``text`` in full-width characters (half-width ones count a half)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "FWA" else 0.5 for ch in text)


def long_lines(text: str, limit: float = PHONE_LINE) -> list[str]:
    """The lines of ``text`` wider than ``limit``."""
    return [line for line in text.splitlines() if width(line) > limit]
