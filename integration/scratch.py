"""Scratch PostgreSQL databases for the measurement commands (`beat_bench`, `load_bench`), which must never
touch the configured database's rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
from django.db import connection


@contextlib.contextmanager
def scratch_database(suffix: str) -> Iterator[str]:
    """Create `<configured name>_<suffix>` on the configured server (dropping a leftover first), yield its URL,
    and drop it on the way out."""
    db = connection.settings_dict
    scratch = f"{db['NAME']}_{suffix}"
    admin = {"dbname": db["NAME"], "user": db.get("USER") or None, "password": db.get("PASSWORD") or None}
    admin.update(host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432, autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        yield f"postgres://{_credentials(db)}{admin['host']}:{admin['port']}/{scratch}"
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _credentials(db: dict) -> str:
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"{user}{password}@" if user else ""
