"""Live events for dashboards: published inside the transaction that causes them, fanned out
to every API process (PostgreSQL LISTEN/NOTIFY) or within the one process (SQLite)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

import orjson
import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

log = logging.getLogger(__name__)

CHANNEL = "inbound_live"
# NOTIFY payloads are limited to 8000 bytes; events are small summaries by design.
MAX_PAYLOAD = 7900


class Broadcaster:
    """Per-process subscribers by site; each gets an asyncio queue on its own loop."""

    def __init__(self) -> None:
        self._subscribers: dict[
            int, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]
        ] = {}
        self._lock = threading.Lock()

    def subscribe(self, site_id: int) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.setdefault(site_id, set()).add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, site_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers[site_id] = {
                s for s in self._subscribers.get(site_id, set()) if s[1] is not queue
            }

    def publish(self, message: dict[str, Any]) -> None:
        """Thread-safe: hands the message to every subscriber of its site."""
        with self._lock:
            targets = list(self._subscribers.get(int(message.get("site_id", -1)), set()))
        for loop, queue in targets:
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed
                loop.call_soon_threadsafe(_put, queue, message)


def _put(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    if not queue.full():  # a stalled browser loses old events, never the server's memory
        queue.put_nowait(message)


broadcaster = Broadcaster()


def publish(session: Session, *, site_id: int, kind: str, data: dict[str, Any]) -> None:
    """Queue a live event; it goes out only if the session's transaction commits."""
    message = {"site_id": site_id, "kind": kind, "data": data}
    body = orjson.dumps(message, default=str).decode()
    if len(body) > MAX_PAYLOAD:
        log.warning("live event %s too large to publish", kind)
        return
    pending: list[str] = session.info.setdefault("live_pending", [])
    pending.append(body)
    if not session.info.get("live_hooked"):
        session.info["live_hooked"] = True
        if session.get_bind().dialect.name == "postgresql":
            event.listen(session, "before_commit", _notify_pg)
        else:
            event.listen(session, "after_commit", _flush_local)
        event.listen(session, "after_rollback", _drop_local)


def _notify_pg(session: Any) -> None:
    """NOTIFY is transactional: sent just before commit, listeners hear it only if the commit
    succeeds. Events go out as JSON arrays packed up to the payload limit, so a refresh of
    thousands of trucks costs a few hundred NOTIFYs, not one each."""
    bodies: list[str] = session.info.pop("live_pending", [])
    batch: list[str] = []
    size = 2
    for body in [*bodies, None]:
        if body is None or size + len(body) + 1 > MAX_PAYLOAD:
            if batch:
                payload = "[" + ",".join(batch) + "]"
                session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
            batch, size = [], 2
        if body is not None:
            batch.append(body)
            size += len(body) + 1


def _flush_local(session: Any) -> None:
    for body in session.info.pop("live_pending", []):
        broadcaster.publish(orjson.loads(body))


def _drop_local(session: Any) -> None:
    session.info.pop("live_pending", None)


def _received(payload: str) -> None:
    parsed = orjson.loads(payload)
    for message in parsed if isinstance(parsed, list) else [parsed]:
        broadcaster.publish(message)


class PgListener:
    """A thread holding LISTEN on its own connection, feeding this process's broadcaster."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url).set(drivername="postgresql")
        self.dsn = parsed.render_as_string(hide_password=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            with contextlib.suppress(ValueError):
                                _received(note.payload)
            except psycopg.Error:
                log.warning("live listener lost its connection; reconnecting")
                self._stop.wait(2.0)
