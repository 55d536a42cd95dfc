# syntax=docker/dockerfile:1
# One image, two roles: the web app (the default command) and the worker (`python -m bot worker`).
# tests/test_ops_image.py runs this file's CMD and HEALTHCHECK with its ENV, so keep them plain JSON/shell.

# --- build: compile wheels into a virtualenv that the runtime stage copies whole ---------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY flows ./flows
RUN /opt/venv/bin/pip install . && /opt/venv/bin/pip uninstall -y pip setuptools

# --- runtime: no compiler, no sources beyond the installed package, not root -------------------------------
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY clinic.yaml ./
USER bot
# ENVIRONMENT=production: the app refuses to start without its secrets (LINE_*, REDIS_URL, ADMIN_TOKEN).
# FORWARDED_ALLOW_IPS: uvicorn trusts X-Forwarded-* only from these; narrow it to your proxy's address.
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 ENVIRONMENT=production CLINIC_CONFIG=/app/clinic.yaml FORWARDED_ALLOW_IPS=*
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["uvicorn", "bot.app:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--timeout-graceful-shutdown", "25", "--no-server-header"]
