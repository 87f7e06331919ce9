"""Settings: safe demo defaults, and production refuses placeholder secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.settings import Settings


def test_demo_defaults_need_nothing() -> None:
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite")
    assert settings.is_sqlite


@pytest.mark.parametrize("secret", ["demo-secret-key", "change-me", "short"])
def test_production_refuses_placeholder_or_short_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="INBOUND_SECRET_KEY"):
        Settings(_env_file=None, environment="production", secret_key=secret)


def test_production_accepts_a_real_secret() -> None:
    settings = Settings(_env_file=None, environment="production", secret_key="x" * 48)
    assert settings.environment == "production"
