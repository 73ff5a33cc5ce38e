#!/bin/sh
# Runs once, when the in-cluster Postgres initialises an empty data directory
# (docker-entrypoint-initdb.d). Creates one login role and one database per service,
# each owned by its role, with CONNECT revoked from PUBLIC so that no service can open
# another service's database. Passwords come from the services' database Secrets
# (<SERVICE>_DB_PASSWORD, see postgres.yaml); nothing secret is in this file.
set -eu
for service in ${SHOP_SERVICES:-users products inventory orders payments}; do
  variable="$(echo "$service" | tr '[:lower:]-' '[:upper:]_')_DB_PASSWORD"
  password="$(printenv "$variable" || true)"
  if [ -z "$password" ]; then
    echo "init-service-databases: $variable is not set" >&2
    exit 1
  fi
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    -v service="$service" -v password="$password" <<'SQL'
CREATE ROLE :"service" LOGIN PASSWORD :'password';
CREATE DATABASE :"service" OWNER :"service";
REVOKE ALL ON DATABASE :"service" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"service" TO :"service";
SQL
  echo "init-service-databases: created role and database $service"
done
