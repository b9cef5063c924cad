# A stand-in for the postgres:15 image where no registry can be reached (make compose-test):
# Debian bookworm's PostgreSQL 15 with the official image's interface, as far as
# docker-compose.yml uses it: POSTGRES_DB, POSTGRES_USER and POSTGRES_PASSWORD create the
# database on the first start, the data live in /var/lib/postgresql/data, pg_isready is on
# PATH. Never used by `docker compose up` unless POSTGRES_IMAGE names it.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
    && install -d -o postgres -g postgres -m 2775 /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
