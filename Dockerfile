# The image of the API, the worker and beat; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    DATA_DIR=/data

WORKDIR /app
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /data \
    && chown app:app /data

COPY . .
# The ops extra brings Flower (docs/operations.md).
RUN pip install -e ".[ops]"

USER app
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn 'webapi:create_app()' --bind 0.0.0.0:${PORT} --logger-class webapi.gunicorn_logger.GunicornLogger"]
