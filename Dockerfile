# syntax=docker/dockerfile:1
# One image, two roles: the web app (the default command) and the worker (`python -m bot worker`).
# tests/test_ops_image.py runs this file's CMD and HEALTHCHECK with its ENV, so keep them plain JSON/shell.

# Base images are pinned by digest (a tag can be moved to other contents): python 3.11.10-slim-bookworm, the
# multi-arch index digest. To move to a newer patch release, look its digest up (`docker buildx imagetools
# inspect python:3.11-slim`) and change both FROM lines together.

# --- build: every dependency from the lock file, hash-checked, into a virtualenv the runtime stage copies ----
FROM python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16 AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# requirements/image.lock (pip-compile --generate-hashes): the runtime dependencies and current pip and
# setuptools, each checked against its hash; no `local` extra (the embedded store is for laptops only).
COPY requirements/image.lock ./requirements/
RUN /opt/venv/bin/pip install --require-hashes -r requirements/image.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY flows ./flows
# The project itself, built with the locked setuptools (no unchecked download of a build backend).
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . && /opt/venv/bin/pip uninstall -y pip setuptools

# --- runtime: no compiler, no sources beyond the installed package, not root -------------------------------
FROM python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY clinic.yaml ./
USER bot
# ENVIRONMENT=production: the app refuses to start without its secrets (LINE_*, REDIS_URL, ADMIN_TOKEN).
# FORWARDED_ALLOW_IPS: uvicorn (the CMD below reads it, as `python -m bot serve` does) trusts X-Forwarded-*
# only from these addresses; loopback by default — set it to your proxy's address, never `*`.
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 ENVIRONMENT=production CLINIC_CONFIG=/app/clinic.yaml FORWARDED_ALLOW_IPS=127.0.0.1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["uvicorn", "bot.app:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--timeout-graceful-shutdown", "25", "--no-server-header"]
