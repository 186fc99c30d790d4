#!/bin/sh
# One-shot schema job of docker-compose.yml, run in the temporalio/admin-tools image (it carries temporal-sql-tool
# and the schema files): creates Temporal's two databases on PostgreSQL and brings both schemas to the versions
# this server release expects. Safe to repeat: `create` of an existing database fails and is skipped, and
# update-schema only applies versions not yet applied.
set -eu

: "${POSTGRES_SEEDS:?the PostgreSQL host}"
: "${POSTGRES_USER:?the PostgreSQL user}"
: "${SQL_PASSWORD:?the PostgreSQL password (temporal-sql-tool reads SQL_PASSWORD)}"
DB_PORT="${DB_PORT:-5432}"
SCHEMA_ROOT="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$DB_PORT" "$@"; }

for pair in temporal:temporal temporal_visibility:visibility; do
  db="${pair%%:*}"
  dir="${pair#*:}"
  echo "schema: database $db"
  sql --db "$db" create || echo "schema: database $db exists"
  # setup-schema -v 0.0 only creates the version table; update-schema applies every versioned step.
  sql --db "$db" setup-schema -v 0.0 || echo "schema: $db already initialised"
  sql --db "$db" update-schema -d "$SCHEMA_ROOT/$dir/versioned"
done
echo "schema: done"
