# Inbound API + scheduler image. Build: docker build -t inbound .
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    INBOUND_ENVIRONMENT=production

WORKDIR /srv/inbound
RUN useradd --system --create-home --home-dir /home/inbound inbound

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY models ./models
COPY eta ./eta
COPY alembic ./alembic
# Editable install keeps alembic/ next to the code, where `inbound migrate` finds it.
RUN pip install -e . && mkdir -p /srv/inbound/models_store && chown inbound /srv/inbound/models_store

USER inbound
EXPOSE 8000 5055
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health').status == 200 else 1)"
CMD ["inbound", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
