# A stand-in for the redis:7 image where no registry can be reached (make compose-test):
# Debian bookworm's Redis 7 (redis-server and redis-cli on PATH), started by
# docker-compose.yml's own command. Never used by `docker compose up` unless REDIS_IMAGE
# names it.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
CMD ["redis-server"]
