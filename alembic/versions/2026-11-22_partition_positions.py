"""partition positions by device time on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:59:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = """
    vehicle_id INTEGER NOT NULL,
    device_at TIMESTAMP WITH TIME ZONE NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    lat FLOAT NOT NULL,
    lon FLOAT NOT NULL,
    speed_mps FLOAT,
    heading FLOAT,
    accuracy_m FLOAT,
    altitude_m FLOAT,
    source VARCHAR(16) NOT NULL,
    attributes JSON,
    CONSTRAINT pk_position PRIMARY KEY (vehicle_id, device_at),
    CONSTRAINT fk_position_vehicle_id_vehicle FOREIGN KEY (vehicle_id) REFERENCES vehicle (id)
"""


def upgrade() -> None:
    # SQLite keeps a plain table; PostgreSQL gets native range partitions by month, so that
    # retention drops whole partitions instead of deleting row by row.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE position RENAME TO position_unpartitioned")
    op.execute("ALTER TABLE position_unpartitioned RENAME CONSTRAINT pk_position TO pk_position_old")
    op.execute(
        "ALTER TABLE position_unpartitioned "
        "RENAME CONSTRAINT fk_position_vehicle_id_vehicle TO fk_position_old_vehicle"
    )
    op.execute(f"CREATE TABLE position ({COLUMNS}) PARTITION BY RANGE (device_at)")
    op.execute("CREATE TABLE position_pdefault PARTITION OF position DEFAULT")
    op.execute("INSERT INTO position SELECT * FROM position_unpartitioned")
    op.execute("DROP TABLE position_unpartitioned")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE position RENAME TO position_partitioned")
    op.execute("ALTER TABLE position_partitioned RENAME CONSTRAINT pk_position TO pk_position_p")
    op.execute(
        "ALTER TABLE position_partitioned "
        "RENAME CONSTRAINT fk_position_vehicle_id_vehicle TO fk_position_p_vehicle"
    )
    op.execute(f"CREATE TABLE position ({COLUMNS})")
    op.execute("INSERT INTO position SELECT * FROM position_partitioned")
    op.execute("DROP TABLE position_partitioned CASCADE")
