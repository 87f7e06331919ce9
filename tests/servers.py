"""Real server processes for tests that need more than one process or a SIGKILL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    database_url: str, *, port: int | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn with the app on loopback; returns once /health answers."""
    port = port or free_port()
    full_env = dict(
        os.environ, INBOUND_DATABASE_URL=database_url, INBOUND_ENVIRONMENT="test", **(env or {})
    )
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    proc = subprocess.Popen([*command, "--port", str(port), "--log-level", "warning"], env=full_env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")
