# Baton: one small image for every instance. Build from the repository root: docker build -t baton .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only what the package needs: no tests, no .venv, no local config (see .dockerignore).
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY operator_bridge ./operator_bridge
COPY storage ./storage
COPY sandbox ./sandbox
RUN pip install . && useradd --system --uid 10001 --home-dir /app baton \
    && mkdir -p /var/lib/baton && chown baton /var/lib/baton
# Acknowledged Slack inputs wait in this file until the database has them (README: delivery guarantees).
ENV BATON_SLACK_SPOOL_PATH=/var/lib/baton/slack-spool.db

USER baton
# The config (and the knowledge base it names) is mounted read-only at /config.
VOLUME ["/config", "/var/lib/baton"]
EXPOSE 8080
# /healthz is 503 when a token is rejected or the database is unreachable. Stdlib only: slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
# SIGTERM (docker stop) lets in-flight deliveries finish before exit; the default 10 s grace is enough.
STOPSIGNAL SIGTERM
ENTRYPOINT ["baton"]
CMD ["run", "--config", "/config/config.toml"]
