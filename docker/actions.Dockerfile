# The action server, and the image of the project's other processes (database migration,
# dashboard, Telegram bridge): rasa-sdk's image with the project's code and runtime
# packages, without Rasa itself. Build from the project root:
#   docker build -f docker/actions.Dockerfile .
FROM rasa/rasa-sdk:3.6.2

ENV PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1
WORKDIR /app

# The image's Python is /opt/venv (first on PATH). Add the project's runtime packages with
# requirements.txt as constraints: the versions the tests ran with, within rasa-sdk's pins.
USER root
COPY requirements.in requirements.txt docker/image_requirements.py /tmp/deps/
RUN python -c 'import sys; assert sys.version_info[:2] == (3, 10), sys.version' \
    && python /tmp/deps/image_requirements.py /tmp/deps/requirements.in --without rasa \
       > /tmp/deps/image.txt \
    && pip install --no-cache-dir -r /tmp/deps/image.txt -c /tmp/deps/requirements.txt \
    && pip check \
    && rm -rf /tmp/deps

COPY . /app
RUN mkdir -p var && chown -R 1001:0 var && chmod -R g=u var

# rasa-sdk's non-root user; the code stays read-only to it.
USER 1001
EXPOSE 5055
ENTRYPOINT []
CMD ["python", "-m", "bot.runtime.action_server", "--host", "0.0.0.0", "--port", "5055"]
