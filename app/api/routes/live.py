"""Server-Sent Events per site: deliveries, ETAs and risk, alerts — as they happen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.api.deps import CurrentPrincipal, SessionDep, SiteDep
from app.errors import ERROR_RESPONSES
from app.live import broadcaster

router = APIRouter(prefix="/api/v1", tags=["live"], responses=ERROR_RESPONSES)
HEARTBEAT_S = 15.0


@router.get(
    "/sites/{site_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def site_stream(
    site: SiteDep, principal: CurrentPrincipal, request: Request, session: SessionDep
) -> StreamingResponse:
    """`text/event-stream` of the site's live events (`delivery`, `eta`, `alert`); a supplier
    only receives events about its own deliveries. A comment line every 15 s keeps proxies
    from closing the connection."""
    assert site.id is not None
    site_id = site.id
    only_supplier = principal.supplier_id if principal.is_supplier else None
    queue = broadcaster.subscribe(site_id)
    # The stream may stay open all shift: give the request's database connection back now.
    session.close()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                data = message.get("data", {})
                if only_supplier is not None and data.get("supplier_id") != only_supplier:
                    continue
                yield (
                    b"event: "
                    + str(message["kind"]).encode()
                    + b"\ndata: "
                    + orjson.dumps(data)
                    + b"\n\n"
                )
        finally:
            broadcaster.unsubscribe(site_id, queue)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
