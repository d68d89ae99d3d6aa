#!/bin/sh
# First start of the compose database: the role web, workers and beat log in as. It owns nothing;
# `manage.py db_grant_app_role` (the migrate service) gives it row access after each migration.
set -eu
echo "CREATE ROLE tgfleet_app LOGIN PASSWORD :'app_password';" |
  psql -v ON_ERROR_STOP=1 -v app_password="$APP_DB_PASSWORD" --username "$POSTGRES_USER" --dbname "$POSTGRES_DB"
