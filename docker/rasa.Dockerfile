# The Rasa server: Rasa and the project's code (custom NLU components and channels in
# bot/), the packages it adds, and the trained model. Build from the project root:
#   docker build -f docker/rasa.Dockerfile .
# BASE_IMAGE: CPython 3.10 (Rasa 3.6 runs on 3.8-3.10); docker-compose.yml passes
# PYTHON_IMAGE, and make compose-test a locally made image of the same kind.
ARG BASE_IMAGE=python:3.10-slim-bookworm

# Build stage: the packages in /opt/venv.
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2
# The runtime part of requirements.in (Rasa included), with requirements.txt as
# constraints: the versions the tests ran with (docker/image_requirements.py).
COPY requirements.in requirements.txt docker/image_requirements.py /tmp/deps/
RUN python -c 'import sys; assert sys.version_info[:2] == (3, 10), sys.version' \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --quiet "pip==24.0" \
    && python /tmp/deps/image_requirements.py /tmp/deps/requirements.in > /tmp/deps/image.txt \
    && /opt/venv/bin/pip install --quiet -r /tmp/deps/image.txt -c /tmp/deps/requirements.txt \
    && /opt/venv/bin/pip check

# Model stage: the code, and the model kept or trained.
FROM build AS model
COPY . /app
WORKDIR /app
# The model `make train` left in models/ is kept when docker/training_fingerprint.py finds
# it was trained on exactly these training files; otherwise (a fresh clone, changed data)
# it is trained here, which takes a while:
#   rasa train --fixed-model-name service-assistant --out models
RUN if [ -f models/service-assistant.tar.gz ] \
       && [ "$(python docker/training_fingerprint.py)" = "$(cat models/service-assistant.fingerprint 2>/dev/null)" ]; \
    then echo "models/service-assistant.tar.gz matches the training data: kept"; \
    else PATH=/opt/venv/bin:$PATH PYTHONPATH=/app \
         rasa train --fixed-model-name service-assistant --out models; \
    fi \
    && rm -rf .rasa docker models/service-assistant.fingerprint \
    && mkdir -m 0700 var && chown 1001:0 var

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 \
    HOME=/app/var
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=model /app /app
# A non-root user (1001, as in Rasa's images); the code and the model stay read-only to it.
USER 1001
EXPOSE 5005
# The HTTP API only with a JWT secret (docker-compose.yml passes RASA_JWT_SECRET).
CMD ["python", "-m", "bot.runtime.rasa_server", "--enable-api", "--endpoints", "endpoints.docker.yml", "--credentials", "credentials.yml", "--model", "models/service-assistant.tar.gz", "--port", "5005"]
