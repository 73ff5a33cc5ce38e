#!/bin/sh
# Nightly logical backup of every service database (CronJob postgres-backup). Each dump is
# written under a temporary name and renamed when complete, so a partial file never looks
# like a backup; dumps older than BACKUP_RETENTION_DAYS are removed.
# Restore: pg_restore --clean --if-exists --no-owner --dbname "$URL" <file>.dump
set -eu
dir="${BACKUP_DIR:-/backups}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
status=0
for service in ${SHOP_SERVICES:-users products inventory orders payments}; do
  variable="$(echo "$service" | tr '[:lower:]-' '[:upper:]_')_DATABASE_URL"
  url="$(printenv "$variable" || true)"
  if [ -z "$url" ]; then
    echo "backup: $variable is not set" >&2
    status=1
    continue
  fi
  target="$dir/$service-$stamp.dump"
  if pg_dump --format=custom --no-owner --no-privileges --dbname="$url" --file="$target.partial"; then
    mv "$target.partial" "$target"
    echo "backup: $service -> $target"
  else
    rm -f "$target.partial"
    echo "backup: pg_dump of $service failed" >&2
    status=1
  fi
done
find "$dir" -name '*.dump' -mtime "+${BACKUP_RETENTION_DAYS:-14}" -exec rm -f {} +
exit "$status"
