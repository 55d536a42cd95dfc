"""``python -m bot check``: validate settings, the clinic file and every flow, in plain words."""

from __future__ import annotations

from pathlib import Path

from bot.config.clinic import Clinic, ConfigError, load_clinic
from bot.config.settings import Settings
from bot.config.strength import weak_secrets
from bot.plugins import FEATURES
from bot.runtime import action_registries
from flows.loader import FlowError, FlowSet, load_flows, long_lines
from flows.width import PHONE_LINE, width
from flows.width import long_lines as wide_lines
from handlers.clinic_answers import FAQ_TOPICS


def run_check(settings: Settings) -> int:
    problems: list[str] = []
    warnings: list[str] = []
    if settings.local_mode:
        warnings.append("no LINE_CHANNEL_SECRET / LINE_CHANNEL_ACCESS_TOKEN: the bot runs in local mode")
    if settings.production:
        problems += [f"{name} is not set (required in production)" for name in settings.missing_for_production()]
        problems += _weak_secrets(settings)
    if settings.redis_url:
        problems += _redis_unreachable(settings.redis_url)
    try:
        clinic = load_clinic(settings.clinic_config)
    except ConfigError as exc:
        problems.append(str(exc))
        clinic = None
    try:
        flows = load_flows(settings.flows_dir, action_registries(FEATURES))
        warnings += copy_warnings(flows, clinic, settings.clinic_config)
        if clinic is not None and flows.get(clinic.default_flow) is None:
            problems.append(f"{settings.clinic_config}: default_flow {clinic.default_flow!r} has no flow file")
    except FlowError as exc:
        problems.append(str(exc))
    for warning in warnings:
        print(f"warning: {warning}")
    for problem in problems:
        print(f"error: {problem}")
    print("OK: settings, clinic file and flows are valid." if not problems else f"{len(problems)} problem(s).")
    return 1 if problems else 0


def copy_warnings(flows: FlowSet, clinic: Clinic | None, clinic_path: Path) -> list[str]:
    """Lines a small phone would wrap (the flows' texts as runners read them, ``{clinic_name}`` filled in, and
    the clinic's own answers), and questions the clinic file leaves for staff to answer."""
    if clinic is None:
        return flows.warnings
    variables = {"clinic_name": clinic.name, "clinic_address": clinic.address, "clinic_phone": clinic.phone,
                 "clinic_access": clinic.access, "clinic_price": clinic.price, "clinic_url": clinic.url or "",
                 "first_visit": clinic.booking.first_visit}
    found = [f"{loaded.path}: {w}" for loaded in flows for w in long_lines(loaded.flow, variables)]
    for topic, title in FAQ_TOPICS.items():
        if not clinic.faq.answer(topic):
            found.append(f"{clinic_path}: faq.{topic} ({title}) is empty: runners who ask are handed to staff")
    for topic in (*FAQ_TOPICS, "cancellation"):
        found += [f"{clinic_path}: faq.{topic}: a line {width(line):g} characters wide may wrap on a small phone "
                  f"(over {PHONE_LINE:g}): {line}" for line in wide_lines(clinic.faq.answer(topic))]
    return found


def _weak_secrets(settings: Settings) -> list[str]:
    """Production only: every secret strong (the app refuses to start otherwise), LINE reached over https."""
    found = weak_secrets(settings)
    if not settings.api_base_url().startswith("https://"):
        found.append("LINE_API_BASE_URL is not https: in production it must be LINE's API (https://api.line.me)")
    return found


def _redis_unreachable(url: str) -> list[str]:
    """Ask the store for a PING, briefly, so a wrong REDIS_URL is found before the first runner writes."""
    from urllib.parse import urlsplit

    import redis

    from bot.store.base import _is_cluster_url

    cluster, plain = _is_cluster_url(url)
    parts = urlsplit(plain)
    host = f"{parts.hostname}:{parts.port or 6379}"  # never the whole URL: it may hold a password
    try:
        client: redis.Redis | redis.RedisCluster
        if cluster:
            client = redis.RedisCluster.from_url(plain, socket_connect_timeout=3, socket_timeout=3)
        else:
            client = redis.Redis.from_url(plain, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return [f"REDIS_URL: Redis at {host} does not answer ({type(exc).__name__}); is it running and reachable?"]
    return []
