"""A runner's LINE display name is asked of LINE once, kept with their data, and forgotten with it."""

from __future__ import annotations

from bot.local.line_standin import Fault
from bot.store import keys
from tests.harness import BotHarness


def profile_calls(bot: BotHarness, user_id: str) -> int:
    return sum(1 for r in bot.line.state.requests if r.path == f"/v2/bot/profile/{user_id}")


async def test_the_name_comes_from_line_once_and_goes_when_the_runner_blocks(bot: BotHarness) -> None:
    runner = bot.runner()
    bot.line.state.set_profile(runner.user_id, "山田 太郎")
    await runner.follow()
    profiles = bot.runtime.parts.profiles
    assert await profiles.display_name(runner.user_id) == "山田 太郎"
    assert await profiles.display_name(runner.user_id) == "山田 太郎"
    assert profile_calls(bot, runner.user_id) == 1, "the second look is answered from the store"
    assert await bot.runtime.store.redis.ttl(keys.profile(runner.user_id)) > 0, "it expires with the runner's data"
    await runner.unfollow()
    await runner.wait_for_messages(len(runner.received), timeout=1.0)
    assert await profiles.cached_name(runner.user_id) is None


async def test_a_profile_line_does_not_give_is_not_asked_for_on_every_look(bot: BotHarness) -> None:
    user_id = "U" + "7" * 32
    bot.line.state.add_fault(Fault(mode="status", status=404, paths=(f"/v2/bot/profile/{user_id}",)))
    profiles = bot.runtime.parts.profiles
    assert await profiles.display_name(user_id) is None
    assert await profiles.display_name(user_id) is None
    assert profile_calls(bot, user_id) == 1
