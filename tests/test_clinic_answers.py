"""Answers about the clinic come from clinic.yaml (its ``faq:`` block, hours, booking deadline, url), checked at
start-up; every line the bot builds fits a small phone, and `python -m bot check` warns about any that does not."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from bot.config.clinic import ConfigError, load_clinic
from bot.config.settings import ROOT
from bot.features.dashboard import inbox
from flows.width import PHONE_LINE, long_lines, width
from handlers.clinic_answers import (
    FAQ_TOPICS,
    cancellation_text,
    faq_text,
    reply_when,
    staff_received_text,
    staff_request_text,
)
from tests.harness import BotHarness
from tests.standin_server import StandinServer
from tests.test_admin_inbox import wait_until
from tests.test_ops_check import run_check

SHIPPED = yaml.safe_load((ROOT / "clinic.yaml").read_text(encoding="utf-8"))


def write_clinic(folder: Path, **changes: object) -> Path:
    clinic = yaml.safe_load(yaml.safe_dump(SHIPPED, allow_unicode=True)) | changes
    path = folder / "clinic.yaml"
    path.write_text(yaml.safe_dump(clinic, allow_unicode=True), encoding="utf-8")
    return path


def test_width_counts_half_width_characters_as_half() -> None:
    assert width("チェックありがとうございました。") == 16
    assert width("10:00") == 2.5
    assert long_lines("短い行\n" + "長" * 17) == ["長" * 17]


def test_every_line_the_bot_builds_about_the_clinic_fits_a_small_phone() -> None:
    clinic = load_clinic(ROOT / "clinic.yaml")
    moments = [dt.datetime(2030, 5, d, h, 30, tzinfo=clinic.tz) for d in range(12, 19) for h in range(24)]
    texts = [reply_when(clinic, m) for m in moments] + [staff_request_text(clinic, moments[0]),
                                                       staff_received_text(clinic, moments[0]),
                                                       cancellation_text(clinic)]
    texts += [faq_text(clinic, topic, moments[0])[0] for topic in FAQ_TOPICS]
    wide = [line for text in texts for line in long_lines(text, PHONE_LINE)]
    assert wide == []


def test_a_faq_with_an_unknown_topic_is_refused_at_start_up(tmp_path: Path) -> None:
    path = write_clinic(tmp_path, faq={"parking": "あります", "wifi": "あります"})
    with pytest.raises(ConfigError, match=r"faq\.wifi"):
        load_clinic(path)


async def test_a_question_the_clinic_file_leaves_open_goes_to_staff(redis_url: str, line: StandinServer,
                                                                   tmp_path: Path) -> None:
    path = write_clinic(tmp_path, faq={"parking": ""})
    async with BotHarness.running(redis_url=redis_url, line=line, clinic_config=path) as bot:
        runner = bot.runner()
        await runner.follow()
        reply = await runner.say("駐車場はありますか")
        assert "スタッフに確認して" in runner.texts(reply) and "お返事します" in runner.texts(reply)
        await wait_until(lambda: inbox.is_open(bot.runtime, runner.user_id))


def test_check_warns_about_lines_wider_than_a_small_phone(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    flow = (flows / "knee_back.yaml").read_text(encoding="utf-8")
    (flows / "knee_back.yaml").write_text(
        flow.replace("          膝裏のどのあたりが\n", "          膝裏のどのあたりが気になりますか教えてください\n"),
        encoding="utf-8")
    wide = "専用の駐車場はございませんので近くのコインパーキングをご利用ください"
    clinic = write_clinic(tmp_path, faq={"parking": wide})
    done = run_check({"FLOWS_DIR": str(flows), "CLINIC_CONFIG": str(clinic)})
    assert done.returncode == 0, done.stdout  # a warning, not an error
    assert "step 'where': a line 23 characters wide may wrap on a small phone (over 16)" in done.stdout
    assert "faq.parking: a line" in done.stdout
    assert "faq.payment (お支払い方法) is empty: runners who ask are handed to staff" in done.stdout


def test_the_shipped_files_pass_the_check_without_warnings_about_copy() -> None:
    done = run_check({})
    assert done.returncode == 0 and "may wrap" not in done.stdout and "is empty" not in done.stdout, done.stdout
