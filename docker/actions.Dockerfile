# The action server, and the image of the project's other processes (database migration,
# dashboard, Telegram bridge): the project's code and runtime packages, without Rasa.
# Build from the project root:
#   docker build -f docker/actions.Dockerfile .
# BASE_IMAGE: CPython 3.10 on Debian bookworm (whose PostgreSQL client, 15, matches the
# server for `python -m bot backup`); docker-compose.yml passes PYTHON_IMAGE, and
# make compose-test a locally made image of the same kind.
ARG BASE_IMAGE=python:3.10-slim-bookworm

# Build stage: the packages in /opt/venv, the code in /app. Nothing else of it is kept.
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# The runtime part of requirements.in, with requirements.txt as constraints: the versions
# the tests ran with (docker/image_requirements.py). Without Rasa, and without
# scikit-learn, which only an NLU component in the Rasa server imports (240 MB).
COPY requirements.in requirements.txt docker/image_requirements.py /tmp/deps/
RUN python -c 'import sys; assert sys.version_info[:2] == (3, 10), sys.version' \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --quiet "pip==24.0" \
    && python /tmp/deps/image_requirements.py /tmp/deps/requirements.in --without rasa \
       --without scikit-learn > /tmp/deps/image.txt \
    && /opt/venv/bin/pip install --quiet -r /tmp/deps/image.txt -c /tmp/deps/requirements.txt \
    && /opt/venv/bin/pip check
# pg_dump and pg_restore of PostgreSQL 15 for `python -m bot backup` and `restore`: the
# final image takes the two programs, not the client package's Perl wrappers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
COPY . /app
# var/: the only place the processes write (backups, keys when not given), the user's own.
RUN rm -rf /app/models /app/docker \
    && mkdir -m 0700 /app/var && chown 1001:0 /app/var

FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/lib/postgresql/15/bin/pg_dump /usr/lib/postgresql/15/bin/pg_restore \
     /usr/local/bin/
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 HOME=/app/var
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# A non-root user (1001, as in Rasa's images); the code stays read-only to it.
USER 1001
EXPOSE 5055
CMD ["python", "-m", "bot.runtime.action_server", "--host", "0.0.0.0", "--port", "5055"]
