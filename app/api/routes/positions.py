"""GPS positions: the batch ingest API for suppliers' systems and the stored track per vehicle."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from app.api.deps import (
    CurrentPrincipal,
    IngestCacheDep,
    SessionDep,
    SessionFactory,
    SessionFactoryDep,
    SettingsDep,
    SupplierKeyPrincipal,
    VehicleDep,
)
from app.errors import ERROR_RESPONSES, Forbidden, PayloadTooLarge
from app.services import positions as positions_service
from app.services import track_import
from app.services.cache import IngestCache
from app.services.ingest_writer import PositionWriter
from models import utcnow
from models.position import (
    IngestResult,
    PositionBatchIn,
    PositionPointIn,
    PositionPublic,
    RejectedPoint,
)

router = APIRouter(prefix="/api/v1", tags=["positions"], responses=ERROR_RESPONSES)


def get_position_writer(request: Request) -> PositionWriter:
    return request.app.state.position_writer


WriterDep = Annotated[PositionWriter, Depends(get_position_writer)]


async def ingest(
    *,
    sessions: SessionFactory,
    cache: IngestCache,
    writer: PositionWriter,
    supplier_id: int,
    points: list[positions_service.PointIn | positions_service.Rejection],
    settings: Any,
    source: str,
    check_age: bool = True,
) -> IngestResult:
    now = utcnow()
    missing = positions_service.uncached_devices(cache, supplier_id=supplier_id, points=points)
    if missing:
        # Only a cold cache costs a query (and a thread hop); warm requests stay on the loop.
        def load() -> None:
            with sessions() as session:
                positions_service.resolve_devices(
                    session, supplier_id=supplier_id, device_ids=missing, cache=cache
                )

        await run_in_threadpool(load)
    batch = positions_service.prepare(
        None,
        supplier_id=supplier_id,
        points=points,
        now=now,
        settings=settings,
        source=source,
        check_age=check_age,
        cache=cache,
    )
    flags = await writer.write(batch.rows)
    for row, new in zip(batch.rows, flags, strict=True):
        if new:
            cache.note_fix(row["vehicle_id"], row["device_at"], row["lat"], row["lon"])
    accepted = sum(flags)
    return IngestResult(
        accepted=accepted,
        duplicates=len(flags) - accepted + batch.duplicates_in_batch,
        rejected=len(batch.rejected),
        errors=[
            RejectedPoint(index=r.index, reason=r.reason, message=r.message) for r in batch.rejected
        ],
    )


@router.post(
    "/positions",
    response_model=IngestResult,
    openapi_extra={"x-point-schema": PositionPointIn.model_json_schema()},
)
async def post_positions(
    body: PositionBatchIn,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    principal: SupplierKeyPrincipal,
    writer: WriterDep,
    cache: IngestCacheDep,
) -> IngestResult:
    """Store a batch of fixes from the supplier's own devices.

    Each point is `{device_id, ts, lat, lon, speed_mps?, heading?, accuracy_m?}`. The answer
    counts accepted, duplicate and rejected points and gives each rejected point's index and
    reason. It is sent only after the accepted points are committed; retrying a batch is safe
    (a vehicle has one fix per device time).
    """
    supplier_id = principal.supplier_id
    assert supplier_id is not None  # SupplierKeyPrincipal admits supplier keys only
    if len(body.positions) > settings.max_batch_points:
        raise PayloadTooLarge(
            f"at most {settings.max_batch_points} points per batch", code="batch_too_large"
        )
    points: list[positions_service.PointIn | positions_service.Rejection] = []
    for index, raw in enumerate(body.positions):
        try:
            points.append(positions_service.point_from_json(raw, index))
        except positions_service.PointError as exc:
            points.append(positions_service.Rejection(index, exc.reason, exc.message))
    return await ingest(
        sessions=sessions,
        cache=cache,
        writer=writer,
        supplier_id=supplier_id,
        points=points,
        settings=settings,
        source="api",
    )


@router.get("/vehicles/{vehicle_id}/positions", response_model=list[PositionPublic])
def vehicle_track(
    vehicle: VehicleDep,
    session: SessionDep,
    since: Annotated[datetime | None, Query(description="device time from (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="device time to (exclusive)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[PositionPublic]:
    """A vehicle's stored fixes in time order (the newest `limit` of the window)."""
    assert vehicle.id is not None
    rows = positions_service.list_track(
        session, vehicle_id=vehicle.id, since=since, until=until, limit=limit
    )
    return [PositionPublic.model_validate(r) for r in rows]


MAX_IMPORT_ERRORS = 1000


@router.post("/vehicles/{vehicle_id}/tracks", response_model=IngestResult)
async def import_track(
    vehicle: VehicleDep,
    file: Annotated[UploadFile, File(description="a .gpx or .csv track (ts, lat, lon, …)")],
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    writer: WriterDep,
    cache: IngestCacheDep,
) -> IngestResult:
    """Import a past trip (GPX or CSV) into the vehicle's history, e.g. for training.

    Points go through the same checks as live ones, except the retention age (history is
    old by nature; the retention job still prunes it later). Re-importing a file is safe.
    """
    if not (principal.kind == "api_key" or principal.is_admin):
        raise Forbidden(
            "imports need the supplier's API key or the admin role", code="forbidden_role"
        )
    data = await file.read()
    points = list(
        track_import.parse_track(data, filename=file.filename or "", device_id=vehicle.device_id)
    )
    totals = IngestResult(accepted=0, duplicates=0, rejected=0, errors=[])
    for chunk in track_import.chunks(iter(points), 5000):
        result = await ingest(
            sessions=sessions,
            cache=cache,
            writer=writer,
            supplier_id=vehicle.supplier_id,
            points=chunk,
            settings=settings,
            source="import",
            check_age=False,
        )
        totals.accepted += result.accepted
        totals.duplicates += result.duplicates
        totals.rejected += result.rejected
        room = MAX_IMPORT_ERRORS - len(totals.errors)
        totals.errors.extend(result.errors[: max(room, 0)])
    return totals
