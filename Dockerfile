# One image for the Rasa server and the action server; the model is trained at build time.
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=/app
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir "pip==24.0" && pip install --no-cache-dir -r requirements.txt

COPY . .
RUN rasa train --fixed-model-name service-assistant \
    && useradd --create-home --uid 1001 assistant && chown -R assistant /app
USER assistant

EXPOSE 5005 5055
CMD ["rasa", "run", "--enable-api", "--endpoints", "endpoints.docker.yml", "--port", "5005"]
