"""Settings from the environment (and an optional ``.env`` file).

The names are a contract (PRODUCT.md): deployments and outside tests set them. With no LINE credentials the
bot runs in *local mode*: a generated channel secret, the built-in LINE stand-in and the embedded store.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    line_api_data_base_url: str | None = Field(
        default=None, description="api-data.line.me; defaults to LINE_API_BASE_URL when that is overridden"
    )
    redis_url: str | None = None
    admin_token: SecretStr | None = None
    #: Per-staff logins from before accounts lived in Redis: "山田:password,佐藤:password". Imported once as
    #: accounts with the role staff (hashed); from then on the dashboard or `python -m bot staff` manages them.
    admin_staff_passwords: SecretStr | None = None
    #: Keys the dashboard's session cookies and CSRF tokens; unset: generated once and kept in Redis.
    session_secret: SecretStr | None = None
    #: While staff answer a runner by hand the bot keeps quiet for them; it resumes after this many minutes.
    admin_handoff_minutes: int = Field(default=30, ge=1, le=24 * 60)
    clinic_config: Path = ROOT / "clinic.yaml"
    flows_dir: Path = ROOT / "flows"
    environment: str = Field(default="development", description="'production' refuses missing secrets")

    #: Who may set ``X-Forwarded-For/Proto`` (uvicorn's ``forwarded_allow_ips``; the image's uvicorn reads the
    #: same variable): your reverse proxy's address, never ``*`` on a port the internet reaches.
    forwarded_allow_ips: str = "127.0.0.1"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(default=None, description="How runners and LINE reach this bot")

    #: Runner data (answers, state, tags) expires this long after the runner's last event.
    runner_ttl_seconds: int = 60 * 60 * 24 * 180
    #: How long a webhookEventId is remembered for de-duplication (LINE redelivers for up to a day).
    event_dedupe_seconds: int = 60 * 60 * 48
    #: A Redis that stops answering (paused, a network partition) must not hang anything: each command gives up
    #: after this long (longer than the consumer's 1 s blocking read) and connecting after the second value.
    redis_socket_timeout_s: float = Field(default=5.0, gt=1.0)
    redis_connect_timeout_s: float = Field(default=2.0, gt=0)
    #: How long the webhook (persisting a body) and ``/readyz`` wait for the store before answering 503, so
    #: LINE hears back well inside its 2 s even while Redis stalls (it redelivers a 503).
    store_answer_timeout_s: float = Field(default=0.8, gt=0)
    #: Largest webhook body accepted; LINE's are far smaller.
    max_body_bytes: int = 1024 * 1024
    #: Consumers started inside the web process (0 = leave all work to ``python -m bot worker``).
    inline_consumers: int = 1
    #: Runners one in-process consumer drains at once. The webhook shares its event loop, so more is not
    #: better: on a quiet 2-core machine (``python -m bench``, 2026-12-03) 8 → 16 handled 27 % more events/s
    #: with the burst's ack p99 14 → 16 ms, while 32 halved the webhook's acks/s and 64 handled fewer.
    inline_consumer_concurrency: int = Field(default=16, ge=1)
    #: Run the scheduler (reminders, check-ins) in the web process too; claims are atomic, so it is safe
    #: beside workers, and a bot run as ``uvicorn bot.app:app`` alone still sends them.
    inline_scheduler: bool = True
    #: A queue notice idle this long in another consumer's hands is taken over (crash recovery).
    reclaim_idle_ms: int = 15_000
    #: A reply token older than this is not tried; the answer goes by push instead.
    reply_token_max_age_s: float = 50.0
    line_api_timeout_s: float = 10.0
    line_api_max_attempts: int = 4
    #: Features switched off, comma-separated (``booking,followups,dashboard,simulator``); the core always runs.
    disabled_features: str = ""
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def local_mode(self) -> bool:
        """No LINE channel configured: talk to the built-in stand-in instead of LINE."""
        return self.line_channel_secret is None and self.line_channel_access_token is None

    def feature_enabled(self, name: str) -> bool:
        return name not in {part.strip() for part in self.disabled_features.split(",")}

    @property
    def production(self) -> bool:
        return self.environment.lower() in {"prod", "production"}

    def channel_secret(self) -> str:
        if self.line_channel_secret is not None:
            return self.line_channel_secret.get_secret_value()
        return _local_secret()

    def access_token(self) -> str:
        if self.line_channel_access_token is not None:
            return self.line_channel_access_token.get_secret_value()
        return "local-mode-token"

    def api_base_url(self) -> str:
        if self.local_mode and self.line_api_base_url == "https://api.line.me":
            return f"http://{self.host}:{self.port}/_line"
        return self.line_api_base_url.rstrip("/")

    def api_data_base_url(self) -> str:
        if self.line_api_data_base_url:
            return self.line_api_data_base_url.rstrip("/")
        base = self.api_base_url()
        return "https://api-data.line.me" if base == "https://api.line.me" else base

    def secrets_for_logs(self) -> list[str]:
        """Every configured secret, for the log scrubber (``bot.ops.logs``): a log line never carries one."""
        values = [self.channel_secret(), self.access_token()]
        if self.admin_token is not None:
            values.append(self.admin_token.get_secret_value())
        if self.admin_staff_passwords is not None:  # "name:password,…": the passwords (and the raw value)
            raw = self.admin_staff_passwords.get_secret_value()
            values += [raw, *(pair.partition(":")[2].strip() for pair in raw.split(","))]
        if self.session_secret is not None:
            values.append(self.session_secret.get_secret_value())
        return [v for v in values if v]

    def missing_for_production(self) -> list[str]:
        """Names of settings a production deployment must have."""
        needed = {
            "LINE_CHANNEL_SECRET": self.line_channel_secret,
            "LINE_CHANNEL_ACCESS_TOKEN": self.line_channel_access_token,
            "REDIS_URL": self.redis_url,
            "ADMIN_TOKEN": self.admin_token,
        }
        return [name for name, value in needed.items() if not value]


@lru_cache(maxsize=1)
def _local_secret() -> str:
    """A channel secret generated per process for local mode: nothing real to leak."""
    return secrets.token_hex(16)


def load_settings() -> Settings:
    return Settings()
