"""Scale-out on Redis Cluster: the same bot, the same flows, against a real 3-master cluster.

Every multi-key script touches one runner's keys, which share the ``{userId}`` hash tag and so one slot;
the scheduler's keys share ``{sched}``. A cluster refuses anything else (CROSSSLOT), so running the flows
here is what proves the key design. The cluster is started on loopback by this module and torn down after.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.harness import BotHarness, video_links, walk_to_result
from tests.standin_server import StandinServer

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None or shutil.which("redis-cli") is None,
                                reason="needs redis-server and redis-cli")


def _free_ports(count: int) -> list[int]:
    """Ports whose cluster bus port (+10000) is free too."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


#: The running nodes' processes by port, so a test can pause one (SIGSTOP) as a stalled master.
NODES: dict[int, subprocess.Popen[bytes]] = {}


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base: Path = tmp_path_factory.mktemp("cluster")
    ports = _free_ports(3)
    procs = [
        subprocess.Popen(["redis-server", "--port", str(p), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                          "--cluster-config-file", f"nodes-{p}.conf", "--dir", str(base), "--save", "",
                          "--appendonly", "no", "--protected-mode", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in ports
    ]
    NODES.update(zip(ports, procs, strict=True))
    try:
        for p in ports:
            _wait(lambda p=p: redis.Redis(port=p).ping(), f"node {p}")
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)
        for p in ports:
            _wait(lambda p=p: redis.Redis(port=p).cluster("info")["cluster_state"] == "ok", f"cluster at {p}")
        yield f"redis+cluster://127.0.0.1:{ports[0]}/0"
    finally:
        NODES.clear()
        for proc in procs:
            proc.send_signal(signal.SIGCONT)  # a paused node would ignore SIGTERM
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _wait(ready: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} was not ready within {timeout}s")


@pytest.fixture
def cluster(cluster_url: str) -> str:
    client = redis.RedisCluster.from_url(cluster_url.replace("redis+cluster", "redis"))
    client.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
    client.close()
    return cluster_url


async def test_the_knee_back_check_runs_on_a_three_master_cluster(cluster: str, line: StandinServer) -> None:
    async with BotHarness.running(redis_url=cluster, line=line) as bot:
        assert bot.runtime.store.cluster
        runners = [bot.runner() for _ in range(4)]  # ids hash to different slots, so different masters
        for runner, side in zip(runners, ["膝裏の外側", "膝裏の内側", "真ん中・全体", "わからない"], strict=True):
            result = await walk_to_result(runner, side)
            assert any("knee-back" in link for link in video_links(result)), runner.texts(result)
        readyz = await bot.client.get("/readyz")
        assert readyz.status_code == 200
        metrics = await bot.client.get("/metrics")
        assert "bot_queue_pending 0.0" in metrics.text


async def test_runners_keys_spread_over_the_masters_and_each_runner_stays_in_one_slot(
        cluster: str, line: StandinServer) -> None:
    async with BotHarness.running(redis_url=cluster, line=line) as bot:
        runners = [bot.runner() for _ in range(6)]
        for runner in runners:
            await runner.follow()
            await runner.tap("1分チェックを始める")
    client = redis.RedisCluster.from_url(cluster.replace("redis+cluster", "redis"), decode_responses=True)
    try:
        slots_by_runner: dict[str, set[int]] = {}
        for key in client.scan_iter("lb:{U*", target_nodes=redis.RedisCluster.PRIMARIES):
            user = key.split("{", 1)[1].split("}", 1)[0]
            slots_by_runner.setdefault(user, set()).add(client.keyslot(key))
        assert set(slots_by_runner) == {r.user_id for r in runners}
        assert all(len(slots) == 1 for slots in slots_by_runner.values())
        masters = {client.get_node_from_key(f"lb:{{{r.user_id}}}:state").port for r in runners}
        assert len(masters) > 1, "six random runners all on one master: the test proves nothing"
    finally:
        client.close()


async def test_a_redelivered_event_is_handled_once_on_the_cluster(cluster: str, line: StandinServer) -> None:
    from tests.harness import event

    async with BotHarness.running(redis_url=cluster, line=line) as bot:
        runner = bot.runner()
        follow = event(runner.user_id, "follow", line.issue_reply_token(runner.user_id),
                       follow={"isUnblocked": False})
        assert (await bot.post_events([follow])).status_code == 200
        greeting = await runner.wait_for_messages(0)
        again = {**follow, "deliveryContext": {"isRedelivery": True}}
        assert (await bot.post_events([again])).status_code == 200
        await runner.wait_for_messages(len(greeting), timeout=1.0)
        assert len(runner.received) == len(greeting)


async def test_booking_on_the_cluster_gives_the_last_seat_once_and_staff_see_it(
        cluster: str, line: StandinServer, tmp_path: Path) -> None:
    from tests.booking_support import Clock, booking_bot, eventually, staff_texts, through_intake
    from tests.harness import ADMIN

    async with booking_bot(cluster, line, tmp_path, Clock()) as bot:
        first, second = bot.runner(), bot.runner()
        for runner in (first, second):
            await runner.say("予約")
            await runner.tap("6/4(火)")
            await runner.tap("11:00")
            await through_intake(runner)
        done = await first.tap("この内容で予約する")
        assert "ご予約を承りました" in first.texts(done)
        late = await second.tap("この内容で予約する")
        assert "ご予約を承りました" not in second.texts(late)  # capacity 1: the seat went to the first
        listed = await bot.client.get("/admin/api/bookings", headers={"Authorization": f"Bearer {ADMIN}"})
        assert listed.status_code == 200
        bookings = [b for b in listed.json() if b["status"] != "cancelled"]
        assert [(b["user_id"], b["start"]) for b in bookings] == [(first.user_id, "2030-06-04T11:00:00+09:00")]
        await eventually(lambda: any("【新規予約】" in t for t in staff_texts(bot)))


async def test_a_stalled_master_gets_line_a_503_within_a_second_and_the_event_is_handled_once_after(
        cluster: str, line: StandinServer) -> None:
    from tests.harness import event

    async with BotHarness.running(redis_url=cluster, line=line, reclaim_idle_ms=1000) as bot:
        runner = bot.runner()
        await runner.follow()
        tap = event(runner.user_id, "postback", line.issue_reply_token(runner.user_id),
                    postback={"data": runner.find_action("1分チェックを始める")["data"]})
        client = redis.RedisCluster.from_url(cluster.replace("redis+cluster", "redis"))
        node = NODES[client.get_node_from_key(f"lb:{{{runner.user_id}}}:inbox").port]
        client.close()
        os.kill(node.pid, signal.SIGSTOP)
        try:
            started = time.perf_counter()
            response = await bot.post_events([tap])
            took = time.perf_counter() - started
            assert response.status_code == 503 and took < 1.0, f"{response.status_code} after {took:.2f}s"
            started = time.perf_counter()
            ready = await bot.client.get("/readyz")
            took = time.perf_counter() - started
            assert ready.status_code == 503 and took < 1.0, f"/readyz: {ready.status_code} after {took:.2f}s"
        finally:
            os.kill(node.pid, signal.SIGCONT)
        again = {**tap, "deliveryContext": {"isRedelivery": True}}
        deadline = time.monotonic() + 30
        while (await bot.post_events([again])).status_code != 200:
            assert time.monotonic() < deadline, "the webhook never recovered"
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "どのあたり" not in runner.texts():
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
        assert runner.texts().count("どのあたり") == 1, runner.texts()
        assert len({m.request_id for m in line.messages_for(runner.user_id)}) == 2


async def test_overlapping_menus_on_the_cluster_never_give_a_practitioner_two_runners(
        cluster: str, line: StandinServer, tmp_path: Path) -> None:
    """Each confirmation's script names every practitioner it might take, all in the ``{bookings}`` slot."""
    from tests.booking_support import Clock, booking_bot, team_clinic
    from tests.test_booking_concurrency import assert_no_practitioner_overlaps, confirm_all_at_once

    async with booking_bot(cluster, line, tmp_path, Clock(), clinic=team_clinic(tmp_path)) as bot:
        results = await confirm_all_at_once(bot, 20)
        await assert_no_practitioner_overlaps(bot, results)
