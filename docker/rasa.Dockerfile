# The Rasa server: Rasa's own image with the project's code (custom NLU components and
# channels in bot/), the packages it adds to Rasa, and the model trained at build time.
# Build from the project root: docker build -f docker/rasa.Dockerfile .
FROM rasa/rasa:3.6.21-full

ENV PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /app

# The image's Python is /opt/venv (first on PATH). Add the project's runtime packages with
# requirements.txt as constraints: the versions the tests ran with, within Rasa's pins.
USER root
COPY requirements.in requirements.txt docker/image_requirements.py /tmp/deps/
RUN python -c 'import sys; assert sys.version_info[:2] == (3, 10), sys.version' \
    && python /tmp/deps/image_requirements.py /tmp/deps/requirements.in > /tmp/deps/image.txt \
    && pip install --no-cache-dir -r /tmp/deps/image.txt -c /tmp/deps/requirements.txt \
    && pip check \
    && rm -rf /tmp/deps

COPY . /app
RUN rasa train --fixed-model-name service-assistant --out models \
    && rm -rf .rasa/cache \
    && mkdir -p var .rasa \
    && chown -R 1001:0 var .rasa \
    && chmod -R g=u var .rasa

# Rasa's non-root user; the code and the model stay read-only to it.
USER 1001
EXPOSE 5005
ENTRYPOINT []
# The HTTP API only with a JWT secret (docker-compose.yml passes RASA_JWT_SECRET).
CMD ["python", "-m", "bot.runtime.rasa_server", "--enable-api", "--endpoints", "endpoints.docker.yml", "--credentials", "credentials.yml", "--model", "models/service-assistant.tar.gz", "--port", "5005"]
