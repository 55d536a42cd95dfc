"""Which secrets are too weak to guard a clinic's staff pages: one set of rules for ``python -m bot check``, for
the app refusing to start in production, and for a staff password an owner sets.

The rules are length and variety (NIST SP 800-63B's advice: length matters, composition rules do not), plus
the obvious: a password is not the person's own name, nor one character repeated. No secret is ever printed.
"""

from __future__ import annotations

from bot.config.settings import Settings

#: An ADMIN_TOKEN shorter than this can be guessed; `python -c "import secrets; print(secrets.token_urlsafe(32))"`.
MIN_ADMIN_TOKEN = 24
#: A staff member's own password.
MIN_PASSWORD = 12
MIN_DISTINCT = 6
#: SESSION_SECRET, when set, keys every session cookie: as long as a generated one.
MIN_SESSION_SECRET = 32
TOKEN_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def password_problem(name: str, password: str) -> str | None:
    """Why ``password`` is too weak for staff member ``name`` (in Japanese, for the page), or ``None``."""
    if len(password) < MIN_PASSWORD:
        return f"パスワードは{MIN_PASSWORD}文字以上にしてください。"
    if len(set(password)) < MIN_DISTINCT:
        return f"パスワードには{MIN_DISTINCT}種類以上の文字を使ってください。"
    if name and name.strip().lower() in password.lower():
        return "パスワードに名前を含めないでください。"
    return None


def staff_passwords(raw: str) -> dict[str, str]:
    """``ADMIN_STAFF_PASSWORDS="山田:pw1,佐藤:pw2"`` as ``{name: password}``."""
    pairs = (item.split(":", 1) for item in raw.split(",") if ":" in item)
    return {name.strip(): password.strip() for name, password in pairs if name.strip() and password.strip()}


def weak_secrets(settings: Settings) -> list[str]:
    """Every configured secret that is too weak, each sentence naming its variable (never its value)."""
    found: list[str] = []
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if token and (len(token) < MIN_ADMIN_TOKEN or len(set(token)) < 8):
        found.append(f"ADMIN_TOKEN is too weak: use at least {MIN_ADMIN_TOKEN} random characters ({TOKEN_HINT})")
    raw = settings.admin_staff_passwords.get_secret_value() if settings.admin_staff_passwords else ""
    for name, password in staff_passwords(raw).items():
        if password_problem(name, password) is not None:
            found.append(f"ADMIN_STAFF_PASSWORDS: the password of {name!r} is too weak: use at least "
                         f"{MIN_PASSWORD} characters, {MIN_DISTINCT} of them different, not the name")
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    if secret is not None and (len(secret) < MIN_SESSION_SECRET or len(set(secret)) < 8):
        found.append(f"SESSION_SECRET is too weak: use at least {MIN_SESSION_SECRET} random characters "
                     f"({TOKEN_HINT}), or leave it unset to have one generated and kept in Redis")
    return found
