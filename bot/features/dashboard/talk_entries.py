"""One line of the 1:1 talk as stored, and as staff read it.

Two formats live side by side in ``lb:{U}:talk``:

- before the talk was made compact: a JSON object ``{"at": float, "from": …, "text": …, "by": …}`` (running
  deployments hold up to ``TALK_MAX`` of these per runner; they are never rewritten);
- now: a JSON array ``[at, who, parts]`` or ``[at, who, parts, by]`` — ``at`` in whole seconds, ``who`` one
  letter (:data:`WHO`), ``parts`` the lines of the entry, each either inline text (a JSON string) or a ref
  to a text in the shared table of clinic copy (a JSON number, :mod:`.talk_copy`). Field names and the
  float's digits were a third of a short entry; the copy itself was most of a long one.

:func:`readable` turns either into what the friend page shows (``at``, ``from``, ``text``, ``by``), so
nothing that reads the talk needs to know which format an entry has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

MAX_TEXT = 1000
#: Who said it, as one letter in a stored entry.
WHO = {"runner": "r", "bot": "b", "staff": "s", "system": "y"}
_SPEAKER = {letter: who for who, letter in WHO.items()}
#: Shown for a ref whose text is in neither the shared table nor this deployment's flows (the table was
#: lost and the copy since changed): staff still see that the bot answered, and when.
MISSING_TEXT = "(定型文:本文が見つかりません)"

KIND_JA = {"sticker": "(スタンプ)", "image": "(画像)", "video": "(動画)", "audio": "(音声)", "file": "(ファイル)",
           "location": "(位置情報)"}

Part = str | int
Stored = dict[str, Any] | list[Any]


def summary(message: Mapping[str, Any]) -> str:
    """One LINE message as a line of the talk."""
    kind = message.get("type")
    if kind == "text":
        return str(message.get("text", ""))[:MAX_TEXT]
    if kind in ("flex", "template"):
        return f"[カード] {message.get('altText', '')}"
    return KIND_JA.get(str(kind), f"({kind})")


def tap_text(label: str) -> str:
    """A runner's tap, by the label they saw."""
    return f"[タップ] {label}"


def encode(at: float, who: str, parts: Iterable[Part], by: str = "") -> str:
    entry: list[Any] = [int(at), WHO[who], list(parts)]
    if by:
        entry.append(by)
    return orjson.dumps(entry).decode()


def decode(raw: str | bytes) -> Stored:
    stored: Stored = orjson.loads(raw)
    return stored


def refs_in(entries: Iterable[Stored]) -> set[int]:
    """The shared texts these entries refer to (old-format entries refer to none)."""
    return {part for entry in entries if isinstance(entry, list) for part in entry[2] if isinstance(part, int)}


def readable(entry: Stored, texts: Mapping[int, str]) -> dict[str, Any]:
    """An entry of either format as the friend page shows it; ``texts``: the shared texts it may refer to."""
    if isinstance(entry, dict):  # written before the compact format: shown exactly as it always was
        return entry
    at, who, parts = entry[0], entry[1], entry[2]
    shown: dict[str, Any] = {"at": at, "from": _SPEAKER.get(who, who),
                             "text": "\n".join(_text_of(part, texts) for part in parts)}
    if len(entry) > 3 and entry[3]:
        shown["by"] = entry[3]
    return shown


def _text_of(part: Part, texts: Mapping[int, str]) -> str:
    if isinstance(part, int):  # a ref into the shared table
        return texts.get(part, MISSING_TEXT)
    return str(part)
