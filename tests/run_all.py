"""Run the whole suite twice: on a fresh SQLite file and on a fresh PostgreSQL database.

    python -m tests.run_all [pytest args...]

PostgreSQL is reached through INBOUND_TEST_PG_ADMIN_URL (default: the local server as user
postgres); a throw-away database is created for the run and dropped afterwards. Set
INBOUND_TEST_SKIP_PG=1 to run on SQLite only (never in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
from psycopg import sql

ADMIN_URL = os.environ.get(
    "INBOUND_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
NO_TESTS_COLLECTED = 5


def _pytest(args: list[str], env: dict[str, str], label: str) -> int:
    print(f"\n=== test suite on {label} ===", flush=True)
    code = subprocess.call([sys.executable, "-m", "pytest", *args], env=env)
    if code == NO_TESTS_COLLECTED:
        print(f"(no tests selected on {label})", flush=True)
        return 0
    return code


def main(argv: list[str]) -> int:
    base_env = {k: v for k, v in os.environ.items() if k != "INBOUND_TEST_DATABASE_URL"}
    failures = 0
    if _pytest(argv, base_env, "SQLite") != 0:
        failures += 1
    if os.environ.get("INBOUND_TEST_SKIP_PG") == "1":
        print("PostgreSQL run skipped (INBOUND_TEST_SKIP_PG=1)")
        return 1 if failures else 0
    name = f"inbound_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = psycopg.conninfo.make_conninfo(ADMIN_URL, dbname=name)
        params = psycopg.conninfo.conninfo_to_dict(url)
        pg_url = (
            f"postgresql+psycopg://{params.get('user', 'postgres')}"
            f"{':' + str(params['password']) if params.get('password') else ''}"
            f"@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{name}"
        )
        env = dict(base_env, INBOUND_TEST_DATABASE_URL=pg_url)
        if _pytest(argv, env, "PostgreSQL") != 0:
            failures += 1
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    print(
        "\n=== "
        + ("FAILED on at least one database" if failures else "passed on SQLite and PostgreSQL")
        + " ==="
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
