"""Typed words are intents, not substrings: what the knee-back flow hears in what runners type.

Each table row is a message a runner might send and what it must (or must not) mean. The collisions the issue
found are here, and the words the rich menu sends; the whole bot is walked with them in
tests/test_safety_paths.py and tests/test_typed_words.py.
"""

from __future__ import annotations

import pytest

from bot.config.settings import ROOT
from flows.intents import Listener, normalize, parse
from flows.loader import LoadedFlow, load_flows
from tests.harness import ALL_ACTIONS

FLOW: LoadedFlow = load_flows(ROOT / "flows", ALL_ACTIONS).flows["knee_back"]
LISTENER: Listener = FLOW.listener


def meaning(text: str) -> str | None:
    """What the bot hears when no question is open: a warning, a request (``~`` when postponed), a greeting."""
    said = LISTENER.parse(text)
    heard = LISTENER.warning(said) or LISTENER.request(said) or LISTENER.chat(said)
    if heard is None:
        return None
    return ("~" if heard.declined else "") + heard.intent.name


def answer(step: str, text: str) -> str | None:
    """The answer typed text gives to ``step``'s question (whole, or named in a sentence), as its value."""
    ask = FLOW.flow.steps[step].ask
    assert ask is not None
    said = LISTENER.parse(text)
    choice = LISTENER.exact_choice(said, ask.choices) or LISTENER.choice_in(said, ask.choices)
    return choice.value if choice else None


# --- the collisions the issue lists -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "means"), [
    ("予約はまだ大丈夫です", "~booking"),  # postponed: a polite 「承知しました」, never the calendar
    ("今は予約はいいです", "~booking"),
    ("予約は結構です", "~booking"),
    ("キャンセル待ちはできますか", None),  # not a cancellation: it goes to staff
    ("チェックしました", None),  # not a restart
    ("痛い場所は外側です", None),  # not 「場所」 (the clinic's address) when no question is open
    ("動画の音が出ません", None),  # a problem for staff, not a request for the video
    ("予約できない", None),
    ("キャンセル料はかかりますか", "cancellation_rules"),  # a question about the rules, not a cancellation
    ("受診したらまた連絡します", None),  # not yet cleared by a doctor
    ("病院に行った方がいいですか", "sign_worry"),  # a worry a doctor should hear, not 「病院に行った」
])
def test_a_keyword_inside_a_sentence_that_means_something_else_does_not_fire(text: str, means: str | None) -> None:
    assert meaning(text) == means


def test_the_side_question_hears_where_it_hurts_in_a_sentence() -> None:
    assert answer("where", "痛い場所は外側です") == "outer"
    assert answer("where", "外側じゃなくて内側") == "inner"
    assert answer("where", "外側と内側の両方") is None  # two answers named: asked again, not guessed


# --- answers typed instead of tapped -------------------------------------------------------------------------

@pytest.mark.parametrize(("step", "text", "value"), [
    ("where", "外側", "outer"), ("where", "内側です", "inner"), ("where", "真ん中", "center"),
    ("where", "全体的に", "center"), ("where", "膝裏の外側", "outer"), ("where", "よくわからない", "unsure"),
    ("feel", "痛い", "pain"), ("feel", "張る", "tension"), ("feel", "だるい", "dull"),
    ("feel", "痛みはないけど張る", "tension"), ("feel", "張っていて痛い", None), ("feel", "頑張りたい", None),
    ("timing", "走ってる時", "during"), ("timing", "走った後", "after"), ("timing", "朝", "morning"),
    ("timing", "朝起きた時です", "morning"), ("timing", "走り終わってから", "after"),
    ("timing", "走った後の朝", None),
    ("safety", "どれも当てはまらない", "none"), ("safety", "ないです", "none"), ("safety", "特にありません", "none"),
    ("safety", "特に当てはまるものはありません", "none"), ("safety", "あります", "some"), ("safety", "はい", None),
    ("checkin", "良くなりました", "better"), ("checkin", "変わらないです", "same"), ("checkin", "悪化した", "worse"),
])
def test_answers_typed_instead_of_tapped(step: str, text: str, value: str | None) -> None:
    assert answer(step, text) == value


# --- warning signs typed at any point ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "sign"), [
    ("腫れています", "sign_swelling"), ("膝裏が腫れてきました", "sign_swelling"),
    ("しびれがあります", "sign_numbness"), ("足が痺れる", "sign_numbness"), ("ジンジンする", "sign_numbness"),
    ("夜も痛いです", "sign_night"), ("痛くて眠れない", "sign_night"), ("夜中に痛みで目が覚める", "sign_night"),
    ("熱があります", "sign_fever"), ("熱っぽい", "sign_fever"), ("膝裏が赤いです", "sign_fever"),
    ("赤い", "sign_fever"),
    ("転んだ", "sign_trauma"), ("ひねってから痛い", "sign_trauma"), ("捻ってしまった", "sign_trauma"),
    ("膝がロックする", "sign_locking"), ("ガクッとなる", "sign_locking"), ("膝がガクッと抜ける", "sign_locking"),
    ("ふくらはぎが腫れています", "sign_calf"), ("ふくらはぎが赤く腫れて痛い", "sign_calf"),
    ("痛みが強くなった", "sign_worse"), ("歩けないほど痛い", "sign_worse"),
    ("病院に行った方がいいですか?", "sign_worry"), ("受診すべきでしょうか", "sign_worry"),
    ("しゃがむと痛い", "sign_deep_bend"), ("変形性膝関節症と言われた", "sign_cartilage"),
])
def test_typed_warning_signs_are_heard_anywhere(text: str, sign: str | None) -> None:
    said = LISTENER.parse(text)
    heard = LISTENER.warning(said)
    assert (heard.intent.name if heard else None) == sign


@pytest.mark.parametrize("text", [
    "腫れはないです", "腫れていません", "しびれはありません", "熱はないです", "夜は痛くないです", "腫れが引いた",
    "夜も痛くはない", "昔捻挫したことがある", "熱心に走っています", "赤いシューズで走っています",
    "膝裏がパンパンに張る", "ふくらはぎがパンパン",
])
def test_a_denied_or_harmless_mention_is_not_a_warning_sign(text: str) -> None:
    assert LISTENER.warning(LISTENER.parse(text)) is None


def test_a_denied_sign_beside_a_real_one_is_still_heard() -> None:
    heard = LISTENER.warning(LISTENER.parse("熱はないけど、腫れています"))
    assert heard is not None and heard.intent.name == "sign_swelling"


def test_the_longest_warning_wins() -> None:
    heard = LISTENER.warning(LISTENER.parse("ふくらはぎが腫れています"))
    assert heard is not None and heard.intent.name == "sign_calf"  # not only 「腫れ」


# --- commands, questions, greetings -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "means"), [
    ("予約", "booking"), ("予約したいです", "booking"), ("よやく", "booking"), ("明日予約できますか", "booking"),
    ("こんにちは。予約お願いします", "booking"), ("予約確認", "booking_list"), ("予約を確認したい", "booking_list"),
    ("キャンセル", "booking_cancel"), ("予約をキャンセルしたい", "booking_cancel"), ("きゃんせる", "booking_cancel"),
    ("予約変更", "booking_move"), ("予約の時間を変更したい", "booking_move"),
    ("動画", "video"), ("動画が見たいです", "video"), ("ドウガ", "video"), ("動画はいらないです", None),
    ("最初から", "restart"), ("最初からやり直したい", "restart"), ("やりなおす", "restart"),
    ("症状チェック", "restart"),
    ("ヘルプ", "help"), ("メニュー", "help"), ("料金", "price_access"), ("料金を教えてください", "price_access"),
    ("場所はどこですか", "price_access"), ("アクセス", "price_access"),
    ("スタッフ", "staff"), ("スタッフと話したい", "staff"), ("予約の件で質問があります", "staff"),
    ("データ削除", "delete_data"), ("配信停止", "followups_stop"), ("配信再開", "followups_resume"),
    ("営業時間", "hours"), ("何時までやってますか", "hours"), ("駐車場はありますか", "parking"),
    ("車で行けますか", "parking"), ("支払い方法は?", "payment"), ("カードは使えますか", "payment"),
    ("保険は使えますか", "insurance"), ("服装は?", "clothing"), ("持ち物", "clothing"),
    ("キャンセル規定", "cancellation_rules"), ("地図", "map"), ("地図を見たい", "map"),
    ("受診しました", "doctor_cleared"), ("医師にセルフケアの許可をもらった", "doctor_cleared"),
    ("病院に行ってきました", "doctor_cleared"), ("整形外科で問題ないと言われました", "doctor_cleared"),
    ("こんにちは", "greeting"), ("こんにちは、よろしくお願いします", "greeting"), ("はじめまして!", "greeting"),
    ("ありがとうございました", "thanks"), ("👍", "thanks"), ("👍👍", "thanks"), ("👍🏻", "thanks"), ("OK", "thanks"),
    ("了解です!", "thanks"), ("ありがとうございます。よろしくお願いします", "thanks"),
    ("来週のレース、出ても大丈夫でしょうか", None), ("あいうえお", None), ("どうも膝が痛い", None),
])
def test_what_typed_words_mean(text: str, means: str | None) -> None:
    assert meaning(text) == means


def test_every_rich_menu_word_is_a_whole_command() -> None:
    from bot.ops.richmenu import BUTTONS

    for button in BUTTONS:
        heard = LISTENER.command(LISTENER.parse(button.text))
        assert heard is not None and heard.whole, button.text


def test_normalising_folds_width_case_katakana_and_spelling_variants() -> None:
    assert normalize("ＡＢＣ　予約!") == "abc予約"
    assert normalize("キャンセル") == normalize("きゃんせる")
    assert parse("熱はないけど、腫れています。").clauses == ("熱はない", "腫れています")
    assert LISTENER.parse("分からない").clauses == LISTENER.parse("わからない").clauses
