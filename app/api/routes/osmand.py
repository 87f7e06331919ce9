"""The OsmAnd protocol as Traccar Client and cheap trackers send it (query, form or JSON).

Units differ by form and are converted explicitly: OsmAnd query/form `speed` is in knots,
the Traccar Client JSON body gives `coords.speed` in m/s; both are stored in m/s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import SessionFactory, SessionFactoryDep, SettingsDep
from app.api.routes.positions import WriterDep, ingest
from app.auth import principal_for_api_key
from app.errors import (
    ERROR_RESPONSES,
    DomainError,
    ErrorBody,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from app.security import hash_api_key
from app.services.cache import IngestCache, TTLCache
from app.services.positions import PointError, PointIn, parse_number, parse_timestamp
from models import utcnow

router = APIRouter(
    tags=["osmand"],
    responses={
        **ERROR_RESPONSES,
        400: {"model": ErrorBody, "description": "No device id or no position in the request"},
    },
)

KNOT_MPS = 0.514444  # 1 knot = 1852 m / 3600 s
# Parameters this handler reads; anything else a device adds is kept as an attribute.
_KNOWN = frozenset(
    {
        "id",
        "deviceid",
        "lat",
        "lon",
        "location",
        "timestamp",
        "speed",
        "bearing",
        "heading",
        "altitude",
        "accuracy",
        "key",
        "api_key",
    }
)
_MAX_ATTRIBUTES = 30


class BadRequest(DomainError):
    status_code = 400


def point_from_params(params: Mapping[str, str], *, now_ts: float) -> PointIn:
    device_id = params.get("id") or params.get("deviceid")
    if not device_id:
        raise BadRequest("id (or deviceid) is required", code="missing_device_id")
    lat_raw, lon_raw = params.get("lat"), params.get("lon")
    if (lat_raw is None or lon_raw is None) and params.get("location"):
        lat_raw, _, lon_raw = params["location"].partition(",")
    if not lat_raw or not lon_raw:
        raise BadRequest("the request carries no position (lat and lon)", code="no_position")
    lat = parse_number(lat_raw, "lat", required=True)
    lon = parse_number(lon_raw, "lon", required=True)
    timestamp = params.get("timestamp")
    device_at = parse_timestamp(timestamp if timestamp not in (None, "") else now_ts)
    knots = parse_number(params.get("speed"), "speed")
    heading = parse_number(params.get("bearing") or params.get("heading"), "bearing")
    attributes = {k: str(v)[:100] for k, v in list(params.items())[:100] if k not in _KNOWN}
    assert lat is not None and lon is not None
    return PointIn(
        index=0,
        device_id=str(device_id)[:64],
        device_at=device_at,
        lat=lat,
        lon=lon,
        speed_mps=knots * KNOT_MPS if knots is not None and knots >= 0 else None,
        heading=heading % 360.0 if heading is not None and heading >= 0 else None,
        accuracy_m=_non_negative(parse_number(params.get("accuracy"), "accuracy")),
        altitude_m=parse_number(params.get("altitude"), "altitude"),
        attributes=dict(list(attributes.items())[:_MAX_ATTRIBUTES]) or None,
    )


def point_from_traccar_json(body: Any, *, now_ts: float) -> PointIn:
    """Traccar Client 9 JSON: {device_id, location: {timestamp, coords: {...}, battery, ...}}."""
    if not isinstance(body, dict):
        raise BadRequest("the JSON body must be an object", code="invalid_body")
    device_id = body.get("device_id") or body.get("deviceId")
    if not device_id or isinstance(device_id, dict | list):
        raise BadRequest("device_id is required", code="missing_device_id")
    location = body.get("location")
    if isinstance(location, list) and location:
        location = location[0]
    coords = location.get("coords") if isinstance(location, dict) else None
    if (
        not isinstance(coords, dict)
        or coords.get("latitude") is None
        or coords.get("longitude") is None
    ):
        raise BadRequest("the request carries no position (location.coords)", code="no_position")
    assert isinstance(location, dict)
    timestamp = location.get("timestamp")
    speed = parse_number(coords.get("speed"), "speed")
    heading = parse_number(coords.get("heading"), "heading")
    attributes: dict[str, Any] = {}
    battery = location.get("battery")
    if isinstance(battery, dict) and isinstance(battery.get("level"), int | float):
        attributes["battery"] = battery["level"]
    if isinstance(location.get("is_moving"), bool):
        attributes["is_moving"] = location["is_moving"]
    if isinstance(location.get("odometer"), int | float):
        attributes["odometer"] = location["odometer"]
    lat = parse_number(coords.get("latitude"), "latitude", required=True)
    lon = parse_number(coords.get("longitude"), "longitude", required=True)
    assert lat is not None and lon is not None
    return PointIn(
        index=0,
        device_id=str(device_id)[:64],
        device_at=parse_timestamp(timestamp if timestamp not in (None, "") else now_ts),
        lat=lat,
        lon=lon,
        # Negative speed or heading is how the client says "unknown".
        speed_mps=speed if speed is not None and speed >= 0 else None,
        heading=heading % 360.0 if heading is not None and heading >= 0 else None,
        accuracy_m=_non_negative(parse_number(coords.get("accuracy"), "accuracy")),
        altitude_m=parse_number(coords.get("altitude"), "altitude"),
        attributes=attributes or None,
    )


def _non_negative(value: float | None) -> float | None:
    return value if value is None or value >= 0 else None


async def _read_params(request: Request) -> tuple[dict[str, str], Any]:
    params = dict(request.query_params)
    json_body: Any = None
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            raw = await request.body()
            if raw.strip():
                try:
                    json_body = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise BadRequest("the body is not valid JSON", code="invalid_json") from exc
        elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            params.update({k: str(v) for k, v in form.items()})
    return params, json_body


async def _supplier_for(
    sessions: SessionFactory,
    *,
    params: Mapping[str, str],
    header_key: str | None,
    cache: IngestCache,
) -> int:
    raw_key = (header_key or params.get("key") or params.get("api_key") or "").strip()
    if not raw_key:
        raise NotAuthenticated(
            "pass the supplier API key as the key parameter or the X-API-Key header",
            code="not_authenticated",
        )
    hit = cache.keys.get(hash_api_key(raw_key))
    if not TTLCache.missing(hit):
        return int(hit.supplier_id)

    def resolve() -> int:
        with sessions() as session:
            principal = principal_for_api_key(session, raw_key, cache=cache)
        assert principal.supplier_id is not None
        return principal.supplier_id

    return await run_in_threadpool(resolve)


async def handle_osmand(
    request: Request, sessions: SessionFactory, settings: Any, writer: Any, header_key: str | None
) -> Response:
    cache: IngestCache = request.app.state.ingest_cache
    params, json_body = await _read_params(request)
    now_ts = utcnow().timestamp()
    try:
        if json_body is not None:
            point = point_from_traccar_json(json_body, now_ts=now_ts)
        else:
            point = point_from_params(params, now_ts=now_ts)
    except PointError as exc:
        raise InvalidInput(exc.message, code=exc.reason) from exc
    supplier_id = await _supplier_for(sessions, params=params, header_key=header_key, cache=cache)
    result = await ingest(
        sessions=sessions,
        cache=cache,
        writer=writer,
        supplier_id=supplier_id,
        points=[point],
        settings=settings,
        source="osmand",
    )
    if result.errors:
        error = result.errors[0]
        if error.reason == "unknown_device":
            raise NotFound(error.message, code="unknown_device")
        raise InvalidInput(error.message, code=error.reason)
    return Response(status_code=200)


_STORED: dict[int | str, dict[str, Any]] = {200: {"description": "stored (or already stored)"}}
_OSMAND_DOC = """Store one fix in the OsmAnd protocol (Traccar Client, trackers).

Query or form parameters: `id`/`deviceid`, `lat`, `lon` (or `location=lat,lon`),
`timestamp` (epoch s or ms, ISO-8601, `yyyy-MM-dd HH:mm:ss`; missing = now), `speed` in
knots, `bearing`/`heading`, `altitude`, `accuracy`, plus any device extras (kept as
attributes). Or the Traccar Client JSON body (`device_id`, `location.coords.*`, speed in m/s).
The supplier API key goes in `key` or the `X-API-Key` header. 200 means stored (or already
stored).
"""


@router.get("/osmand", description=_OSMAND_DOC, response_class=Response, responses=_STORED)
async def osmand_get(
    request: Request,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    writer: WriterDep,
    x_api_key: Annotated[str | None, Header()] = None,
    id: Annotated[str | None, Query(max_length=64)] = None,  # noqa: A002 - protocol name
    lat: Annotated[str | None, Query(max_length=32)] = None,
    lon: Annotated[str | None, Query(max_length=32)] = None,
    key: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    return await handle_osmand(request, sessions, settings, writer, x_api_key)


@router.post("/osmand", description=_OSMAND_DOC, response_class=Response, responses=_STORED)
async def osmand_post(
    request: Request,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    writer: WriterDep,
    x_api_key: Annotated[str | None, Header()] = None,
    key: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    return await handle_osmand(request, sessions, settings, writer, x_api_key)


@router.api_route("/", methods=["GET", "POST"], include_in_schema=False)
async def root(
    request: Request,
    sessions: SessionFactoryDep,
    settings: SettingsDep,
    writer: WriterDep,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Response:
    # Traccar Client posts to the server's root (http://host:5055/?id=…); browsers get the
    # dashboard.
    looks_like_device = request.method == "POST" or any(
        k in request.query_params for k in ("id", "deviceid", "lat", "location")
    )
    if not looks_like_device:
        return RedirectResponse("/home", status_code=303)
    return await handle_osmand(request, sessions, settings, writer, x_api_key)
