"""Service configuration: one pydantic-settings class read from INBOUND_* variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that must never reach production: they are public in this repository.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "demo-secret-key"})
DEMO_SECRET = "demo-secret-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INBOUND_", env_file=".env", extra="ignore")

    environment: str = Field(
        default="demo",
        description="demo, development, test or production; production refuses placeholder secrets",
    )
    database_url: str = Field(
        default="sqlite:///inbound.db",
        description="SQLAlchemy URL; a SQLite file in the working directory by default",
    )
    secret_key: str = Field(default=DEMO_SECRET, description="signs session cookies and tokens")
    session_max_age_s: int = Field(default=12 * 3600, ge=60)
    cookie_secure: bool = Field(default=False, description="send cookies over HTTPS only")
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_batch_points: int = Field(default=10_000, ge=1)
    db_pool_size: int = Field(default=10, ge=1)
    model_dir: Path = Field(default=Path("models_store"), description="trained ETA models")
    routing_url: str | None = Field(default=None, description="OSRM-compatible routing server")
    map_tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="dashboard map tiles ({z}/{x}/{y}); empty for no tiles",
    )
    osmand_port: int | None = Field(default=5055, description="dedicated OsmAnd/Traccar port")
    log_level: str = "info"
    # Ingestion validation; thresholds are for road trucks, with headroom for GPS glitches.
    retention_days: int = Field(default=90, ge=1, description="positions older are refused/pruned")
    max_future_s: int = Field(default=300, ge=0, description="device clock tolerance")
    max_accuracy_m: float = Field(default=1000.0, gt=0)
    max_speed_mps: float = Field(default=55.0, gt=0, description="reported speed; ~200 km/h")
    max_implied_speed_mps: float = Field(default=70.0, gt=0, description="between two fixes")
    # Group commit: requests arriving while a commit runs share the next one.
    ingest_max_group_rows: int = Field(default=20_000, ge=1)
    scheduler_enabled: bool = Field(
        default=True, description="run the background jobs in this process (one wins the lock)"
    )
    eta_refresh_s: float = Field(
        default=30.0, ge=0, description="seconds between ETA refreshes; 0 = off"
    )
    live_enabled: bool = Field(
        default=True, description="listen for live events from other processes (PostgreSQL)"
    )
    webhook_interval_s: float = Field(
        default=10.0, ge=0, description="seconds between webhook delivery passes; 0 = off"
    )
    eta_retrain_hour_utc: int = Field(
        default=3, ge=-1, le=23, description="hour (UTC) of the daily ETA retraining; -1 = off"
    )
    forecast_refresh_s: float = Field(
        default=300.0, ge=0, description="seconds between site queue forecasts; 0 = off"
    )
    lifecycle_refresh_s: float = Field(
        default=15.0, ge=0, description="seconds between GPS lifecycle passes; 0 = off"
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key in PLACEHOLDER_SECRETS:
            raise ValueError(
                "INBOUND_SECRET_KEY must be set to a random value in production "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("INBOUND_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
