"""Hearing what a runner typed: intents, not substrings.

「予約はまだ大丈夫です」 contains 予約 but asks for no booking; 「キャンセル待ちはできますか」 is not a
cancellation; 「チェックしました」 does not ask to start again. So typed words are read in three steps:

1. **Normalise**: NFKC (full-width Latin and digits, half-width kana), lower case, katakana as hiragana, the
   flow's spelling variants (``spellings:``) read as one, spaces and punctuation dropped. The message is cut
   into clauses at 。、!? and at けど, so 「熱はないけど、腫れています」 is two statements.
2. **Whole messages**: a clause stripped of polite edges (「すみません」…「をお願いします」「が見たいです」) that is
   exactly one of an intent's ``words``. Every clause must agree (greetings aside): 「こんにちは。予約お願いし
   ます」 is a booking.
3. **Phrases in a sentence**: an intent's ``phrases`` inside a clause — after masking its ``unless`` phrases —
   count unless what follows in the clause denies, postpones or reports them as done: 「腫れはないです」,
   「予約はまだ大丈夫」, 「キャンセル待ち」, 「チェックしました」. The longest phrase wins.

The rules of Japanese grammar live here; every word and phrase lives in the flow file.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from flows.schema import Choice, Flow, Hearing, Intent, IntentKind

T = TypeVar("T")
_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
#: Characters that never change meaning: punctuation, spaces, emoji modifiers and joiners.
_DROPPED = ("P", "Z", "C", "Mn", "Me", "Sk", "Sm")
_CLAUSE_BREAK = re.compile(r"[。.!?\n、,;]+|けれども|けれど|けど|ですが")

#: Polite edges a whole message may carry around its one word (after normalising).
_PREFIXES = ("すみません", "すいません", "あの", "えっと", "えーと", "ちょっと", "はい", "では", "じゃあ")
_SUFFIXES = tuple(sorted({
    "です", "ですか", "ですね", "ですよ", "ます", "か", "ね", "よ", "な", "の", "を", "が", "は", "って", "とは",
    "ください", "下さい", "お願いします", "おねがいします", "お願いいたします", "お願い", "おねがい",
    "願います", "します", "する", "したい", "したいです", "がしたい", "をしたい", "させてください",
    "させて", "して", "してください", "を見たい", "が見たい", "見たい", "みたい", "を見せて", "見せて",
    "をみせて", "を教えて", "教えて", "おしえて", "を知りたい", "知りたい", "について", "のですが",
    "んですが", "なんですが", "できますか", "できる", "ある", "あります", "ありますか", "はありますか",
    "はどこ", "はどこですか", "は何ですか", "はなんですか", "でお願いします",
}, key=len, reverse=True))
_EDGES = frozenset((*_PREFIXES, *_SUFFIXES))


def _any(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


_PARTICLES = r"(?:もの|こと|の)?(?:は|が|も|を|とか|など|って)*"
#: A statement denied or gone: 腫れはない, 腫れていません, 痛くない, 外側じゃなくて, 腫れが引いた.
_DENIED = re.compile(_PARTICLES + r"(?:く|て|で)?(?:は|も)?い?" + _any(
    "ない", "無い", "なし", "無し", "なく", "ありません", "ません", "じゃな", "ではな", "でもな", "大丈夫",
    "だいじょうぶ", "平気", "へいき", "引い", "ひい", "おさま", "治ま", "収ま", "消え", "きえ", "下が", "さが"))
#: A request postponed or refused: 予約はまだ大丈夫, キャンセルはしなくていい, 動画はいらない.
_DECLINED = re.compile(_PARTICLES + _any(
    "まだ", "今は", "いまは", "今回は", "今日は", "大丈夫", "だいじょうぶ", "結構", "けっこう", "不要",
    "いらない", "要らない", "いりません", "要りません", "必要ない", "必要ありません", "平気", "へいき",
    "いいです", "いいや", "しない", "しなく", "しません", "やめ", "止め", "遠慮"))
#: Not a request now: a waiting list, done or under way, cannot (「キャンセル待ち」「予約済み」「予約できない」).
_NOT_NOW = re.compile(_PARTICLES + _any(
    "待ち", "まち", "済", "ずみ", "でき(?:ない|なく|ません|なかった)", "ない", "なく", "ません", "じゃな",
    "ではな", "中",
    _any("し", "み", "見", "やり", "やっ", "行き", "行っ", "いき", "いっ", "送っ", "もらい", "もらっ") + "?"
    + _any("ました", "てた", "てる", "ている", "ています", "た(?![いくらりろ])")))
#: After a phrase that ends in た (受診した): 〜たら, 〜たい, 〜た方が are not reports of something done.
_NOT_DONE = re.compile(r"(?:ら|い|く|り|ほう|方)")

#: What a runner asks the bot for; a phrase of theirs is not heard when postponed, negated or already done.
REQUEST_KINDS: tuple[IntentKind, ...] = ("command", "question")
#: What a runner tells (「受診しました」): heard unless denied.
TOLD_KINDS: tuple[IntentKind, ...] = ("report",)


def normalize(text: str, spellings: Mapping[str, str] | None = None) -> str:
    """One clause as matched: width, case, katakana and spelling variants folded; punctuation dropped."""
    folded = fold(text, spellings)
    return "".join(ch for ch in folded if not unicodedata.category(ch).startswith(_DROPPED))


def fold(text: str, spellings: Mapping[str, str] | None = None) -> str:
    """Width, case, katakana (as hiragana) and the flow's spelling variants folded; punctuation kept."""
    folded = unicodedata.normalize("NFKC", text).lower().translate(_KATAKANA)
    for variant, canonical in (spellings or {}).items():
        folded = folded.replace(variant, canonical)
    return folded


def spelling_table(flow: Flow) -> dict[str, str]:
    """Variant → canonical, longest variant first, both folded the same way as what is typed."""
    table = {fold(v): fold(canonical) for canonical, variants in flow.spellings.items() for v in variants}
    return dict(sorted(table.items(), key=lambda item: len(item[0]), reverse=True))


@dataclass(frozen=True, slots=True)
class Said:
    """What a runner typed, as clauses ready to match."""

    text: str
    clauses: tuple[str, ...]


def parse(text: str, spellings: Mapping[str, str] | None = None) -> Said:
    """Cut ``text`` into normalised clauses (at punctuation and けど)."""
    clauses = (normalize(c, {}) for c in _CLAUSE_BREAK.split(fold(text, spellings)))
    return Said(text=text, clauses=tuple(c for c in clauses if c))


def forms(clause: str, chat: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The clause, then each shorter form as polite edges (and greetings) come off, down to the bare word.

    Remembered for the latest few thousand clauses: every intent and choice asks for the same clause's forms
    (a message is matched against all of them), and the same short answers come back from many runners.
    """
    return _forms(clause, chat)


@functools.lru_cache(maxsize=4096)
def _forms(clause: str, chat: tuple[str, ...]) -> tuple[str, ...]:
    prefixes = (*_PREFIXES, *chat)
    found = [clause]
    while True:
        trimmed = _trim(found[-1], prefixes)
        if trimmed == found[-1] or not trimmed:
            return tuple(found)
        found.append(trimmed)


def _trim(clause: str, prefixes: Iterable[str]) -> str:
    for prefix in prefixes:
        if clause.startswith(prefix) and len(clause) > len(prefix):
            return clause[len(prefix):]
    for suffix in _SUFFIXES:
        if clause.endswith(suffix) and len(clause) > len(suffix):
            return clause[: -len(suffix)]
    return clause


@dataclass(frozen=True, slots=True)
class Heard:
    """An intent heard in a message: as the whole message, or as a phrase (and whether it was postponed)."""

    intent: Intent
    whole: bool
    declined: bool = False
    length: int = 0


@dataclass(frozen=True, slots=True)
class _Words:
    """One intent's or choice's words and phrases, normalised once."""

    words: frozenset[str]
    phrases: tuple[str, ...]
    unless: tuple[str, ...]

    @classmethod
    def of(cls, hearing: Hearing, spellings: Mapping[str, str], extra: Iterable[str] = ()) -> _Words:
        def norm(items: Iterable[str]) -> list[str]:
            return [n for n in (normalize(i, spellings) for i in items) if n]

        return cls(frozenset(norm([*hearing.words, *extra])), tuple(norm(hearing.phrases)),
                   tuple(sorted(norm(hearing.unless), key=len, reverse=True)))

    def whole(self, clause: str, chat: tuple[str, ...]) -> bool:
        return not self.words.isdisjoint(forms(clause, chat))

    def phrase(self, clause: str, denial: tuple[re.Pattern[str], ...]) -> tuple[int, bool] | None:
        """(length of the longest phrase meant, False) — or (length, True) when it was only postponed."""
        masked = clause
        for unless in self.unless:
            masked = masked.replace(unless, "\0" * len(unless))
        meant = postponed = 0
        for phrase in self.phrases:
            for end in _ends(masked, phrase):
                rest = masked[end:]
                if phrase[-1] in "ただ" and _NOT_DONE.match(rest):
                    continue
                refused = next((p for p in denial if p.match(rest)), None)
                if refused is None:
                    meant = max(meant, len(phrase))
                elif refused is _DECLINED:
                    postponed = max(postponed, len(phrase))
        if meant:
            return meant, False
        return (postponed, True) if postponed else None


def _ends(text: str, phrase: str) -> Iterator[int]:
    start = text.find(phrase)
    while start >= 0:
        yield start + len(phrase)
        start = text.find(phrase, start + 1)


class Listener:
    """A flow's intents and typed answers, compiled: what a message means, if anything."""

    def __init__(self, flow: Flow) -> None:
        self.spellings = spelling_table(flow)
        self._intents = [(i, _Words.of(i, self.spellings)) for i in flow.intents]
        chat = {w for i, words in self._intents if i.kind == "chat" for w in words.words}
        self._chat = tuple(sorted(chat, key=len, reverse=True))
        self._chat_intents = [(i, sorted(words.words, key=len, reverse=True))
                              for i, words in self._intents if i.kind == "chat"]
        self._choices: dict[int, _Words] = {}
        for step in flow.steps.values():
            for choice in step.ask.choices if step.ask else []:
                extra = [choice.label, *([choice.value] if choice.value else [])]
                self._choices[id(choice)] = _Words.of(choice, self.spellings, extra)

    def parse(self, text: str) -> Said:
        return parse(text, self.spellings)

    # --- intents -----------------------------------------------------------------------------------------

    def warning(self, said: Said) -> Heard | None:
        """A warning sign anywhere in the message (not denied): heard before anything else."""
        return self._phrase(said, ("warning",), (_DENIED,)) or self._whole(said, ("warning",))

    def command(self, said: Said) -> Heard | None:
        """The whole message is one command, question or report (「予約」「動画が見たいです」「受診しました」):
        what a menu tap sends."""
        return self._whole(said, REQUEST_KINDS + TOLD_KINDS)

    def request(self, said: Said) -> Heard | None:
        """A command, question or report, as the whole message or as a phrase in a sentence (a request maybe
        postponed)."""
        return (self.command(said) or self._phrase(said, REQUEST_KINDS, (_DECLINED, _NOT_NOW))
                or self._phrase(said, TOLD_KINDS, (_DENIED,)))

    def chat(self, said: Said) -> Heard | None:
        """A greeting or thanks and nothing else (「こんにちは!」「👍」「ありがとうございました」)."""
        first: Intent | None = None
        for clause in said.clauses:
            rest = clause
            while rest:
                intent, rest = self._chat_word(rest)
                if intent is None:
                    return None
                first = first or intent
        return Heard(first, whole=True) if first is not None else None

    def _chat_word(self, clause: str) -> tuple[Intent | None, str]:
        """The greeting or thanks ``clause`` starts with (polite edges aside), and what follows it."""
        for form in forms(clause):
            for intent, words in self._chat_intents:
                found = next((w for w in words if form.startswith(w)), None)
                if found is not None:
                    return intent, form[len(found):]
        return None, clause

    def _is_chat(self, clause: str) -> bool:
        """Only a greeting, thanks or polite edges: a clause a command may carry around it."""
        return any(form in _EDGES for form in forms(clause)) or self.chat(Said(clause, (clause,))) is not None

    def _whole(self, said: Said, kinds: tuple[IntentKind, ...]) -> Heard | None:
        def match(clause: str) -> Intent | None:
            return next((i for i, w in self._intents if i.kind in kinds and w.whole(clause, self._chat)), None)

        found = self._agreed(said, match)
        return Heard(found, whole=True) if found is not None else None

    def _agreed(self, said: Said, match: Callable[[str], T | None]) -> T | None:
        """What every clause says as a whole (greetings and polite clauses aside); None when they differ or one
        says something else."""
        found: T | None = None
        for clause in said.clauses:
            matched = match(clause)
            if matched is None:
                if self._is_chat(clause):
                    continue
                return None
            if found is not None and found is not matched:
                return None
            found = matched
        return found

    def _phrase(self, said: Said, kinds: tuple[IntentKind, ...], denial: tuple[re.Pattern[str], ...]
                ) -> Heard | None:
        """The intent whose phrase is longest; one only postponed counts when nothing is meant."""
        best: Heard | None = None
        for intent, words in self._intents:
            if intent.kind not in kinds:
                continue
            for clause in said.clauses:
                found = words.phrase(clause, denial)
                if found is None:
                    continue
                length, declined = found
                if best is None or (best.declined, -best.length) > (declined, -length):
                    best = Heard(intent, whole=False, declined=declined, length=length)
        return best

    # --- answers to the open question ----------------------------------------------------------------------

    def exact_choice(self, said: Said, choices: list[Choice]) -> Choice | None:
        """The choice typed as a whole message: its label, its value or one of its ``words``."""
        return self._agreed(said, lambda clause: next(
            (c for c in choices if self._words(c).whole(clause, self._chat)), None))

    def choice_in(self, said: Said, choices: list[Choice]) -> Choice | None:
        """The one choice a sentence names (「痛い場所は外側です」); None when it names none, or several."""
        named = [c for c in choices
                 if any(self._meant(self._words(c).phrase(clause, (_DENIED,))) for clause in said.clauses)]
        return named[0] if len(named) == 1 else None

    @staticmethod
    def _meant(found: tuple[int, bool] | None) -> bool:
        return found is not None and not found[1]

    def _words(self, choice: Choice) -> _Words:
        words = self._choices.get(id(choice))
        if words is None:  # a choice made outside the flow file (tests)
            extra = [choice.label, *([choice.value] if choice.value else [])]
            words = self._choices[id(choice)] = _Words.of(choice, self.spellings, extra)
        return words
