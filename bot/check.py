"""``python -m bot check``: validate settings, the clinic file and every flow, in plain words."""

from __future__ import annotations

from bot import builtin_actions  # noqa: F401  (registers the built-in actions the flows may name)
from bot.clinic import ConfigError, load_clinic
from bot.settings import Settings
from flows.actions import actions
from flows.loader import load_flows


def run_check(settings: Settings) -> int:
    problems: list[str] = []
    warnings: list[str] = []
    if settings.local_mode:
        warnings.append("no LINE_CHANNEL_SECRET / LINE_CHANNEL_ACCESS_TOKEN: the bot runs in local mode")
    if settings.production:
        problems += [f"{name} is not set (required in production)" for name in settings.missing_for_production()]
    try:
        clinic = load_clinic(settings.clinic_config)
    except ConfigError as exc:
        problems.append(str(exc))
        clinic = None
    try:
        flows = load_flows(settings.flows_dir, actions)
        warnings += flows.warnings
        if clinic is not None and flows.get(clinic.default_flow) is None:
            problems.append(f"{settings.clinic_config}: default_flow {clinic.default_flow!r} has no flow file")
    except ConfigError as exc:
        problems.append(str(exc))
    for warning in warnings:
        print(f"warning: {warning}")
    for problem in problems:
        print(f"error: {problem}")
    print("OK: settings, clinic file and flows are valid." if not problems else f"{len(problems)} problem(s).")
    return 1 if problems else 0
