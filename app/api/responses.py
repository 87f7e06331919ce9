"""Response shapes shared by the routes: list pages and CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from fastapi.responses import Response
from pydantic import BaseModel

from app.api.deps import Pagination
from models import Page

P = TypeVar("P", bound=BaseModel)


def page_of(schema: type[P], items: Iterable[Any], total: int, page: Pagination) -> Page[P]:
    return Page(
        items=[schema.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


def csv_response(
    rows: Sequence[dict[str, Any]], *, filename: str, columns: Sequence[str] | None = None
) -> Response:
    """A CSV download; missing values are empty cells."""
    fieldnames = list(columns or (rows[0] if rows else ["hour_start"]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in fieldnames})
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
