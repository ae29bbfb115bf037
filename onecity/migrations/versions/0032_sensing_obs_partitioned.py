"""sensing: observations range-partitioned by phenomenon time on PostgreSQL (weekly partitions)

PostgreSQL only; SQLite keeps its plain table (nothing to do there). The table cannot be turned
into a partitioned one in place, so it is renamed, a partitioned ``sta_observations`` is created
with the same columns, indexes, foreign keys and id sequence, one partition per week (Monday
00:00 UTC) from the week of the oldest reading (at most 260 weeks back; older rows go to the
DEFAULT partition) to two weeks ahead plus the DEFAULT partition, and every row is copied across
with its id. The partition key is part of the primary key and of the dedup constraint, as
PostgreSQL requires of unique constraints on a partitioned table. ``onecity.sensing.partitions``
creates the weeks after these and applies retention; this migration does not import it (a
migration stays as it was written).

The copy rewrites the table: plan the upgrade of a city holding many readings as downtime for
ingest (``docs/sensing.md``).

Revision ID: 0032_sensing_obs_partitioned
Revises: 0031_svc_kept_uploads
Create Date: 2026-12-05 19:40:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0032_sensing_obs_partitioned"
down_revision: str | Sequence[str] | None = "0031_svc_kept_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('sta_observations_id_seq'::regclass),
    datastream_id bigint NOT NULL,
    phenomenon_time timestamp with time zone NOT NULL,
    phenomenon_time_end timestamp with time zone,
    result_time timestamp with time zone,
    result_number double precision,
    result_json json,
    result_quality json,
    valid_time_start timestamp with time zone,
    valid_time_end timestamp with time zone,
    parameters json,
    feature_of_interest_id bigint,
    dedup_key character varying(40),
    CONSTRAINT fk_sta_observations_datastream_id_sta_datastreams FOREIGN KEY (datastream_id)
        REFERENCES sta_datastreams (id) ON DELETE CASCADE,
    CONSTRAINT fk_sta_observations_feature_of_interest_id_sta_features_51e4 FOREIGN KEY (feature_of_interest_id)
        REFERENCES sta_features_of_interest (id) ON DELETE SET NULL
"""
_NAMES = (
    "id, datastream_id, phenomenon_time, phenomenon_time_end, result_time, result_number, result_json, "
    "result_quality, valid_time_start, valid_time_end, parameters, feature_of_interest_id, dedup_key"
)
#: How far back the copied readings get weekly partitions (five years); older ones go to DEFAULT.
_WEEKS_BACK = 260
_WEEKS_AHEAD = 2


def _monday(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return datetime(t.year, t.month, t.day, tzinfo=UTC) - timedelta(days=t.weekday())


def _set_aside(old: str) -> None:
    """Rename the table and the names PostgreSQL keeps per schema (its indexes) out of the way."""
    op.execute(f"ALTER TABLE sta_observations RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_sta_observations TO pk_{old}")
    op.execute(f"ALTER INDEX ix_sta_observations_stream_time RENAME TO ix_{old}_stream_time")
    op.execute(f"ALTER INDEX ix_sta_observations_feature_of_interest_id RENAME TO ix_{old}_foi")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT uq_sta_observations_dedup TO uq_{old}_dedup")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    old = "sta_observations_unpartitioned"
    _set_aside(old)
    op.execute(
        f"CREATE TABLE sta_observations ({_COLUMNS},"
        " CONSTRAINT pk_sta_observations PRIMARY KEY (id, phenomenon_time),"
        " CONSTRAINT uq_sta_observations_dedup UNIQUE (datastream_id, dedup_key, phenomenon_time)"
        ") PARTITION BY RANGE (phenomenon_time)"
    )
    op.execute("CREATE INDEX ix_sta_observations_stream_time ON sta_observations (datastream_id, phenomenon_time)")
    op.execute("CREATE INDEX ix_sta_observations_feature_of_interest_id ON sta_observations (feature_of_interest_id)")
    # the ids go on from the same sequence; owned by the new table, it survives the old one's drop
    op.execute("ALTER SEQUENCE sta_observations_id_seq OWNED BY sta_observations.id")
    op.execute("CREATE TABLE sta_observations_default PARTITION OF sta_observations DEFAULT")
    now: datetime = bind.execute(sa.text("SELECT now()")).scalar_one()
    oldest: datetime | None = bind.execute(sa.text(f"SELECT min(phenomenon_time) FROM {old}")).scalar_one()
    current = _monday(now)
    first = current if oldest is None else max(_monday(oldest), current - timedelta(weeks=_WEEKS_BACK))
    week = min(first, current)
    while week <= current + timedelta(weeks=_WEEKS_AHEAD):
        end = week + timedelta(weeks=1)
        op.execute(
            f"CREATE TABLE sta_observations_w{week:%Y%m%d} PARTITION OF sta_observations "
            f"FOR VALUES FROM ('{week.isoformat()}') TO ('{end.isoformat()}')"
        )
        week = end
    op.execute(f"INSERT INTO sta_observations ({_NAMES}) SELECT {_NAMES} FROM {old}")
    op.execute(f"DROP TABLE {old}")
    op.execute("ANALYZE sta_observations")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    old = "sta_observations_partitioned"
    _set_aside(old)
    op.execute(
        f"CREATE TABLE sta_observations ({_COLUMNS},"
        " CONSTRAINT pk_sta_observations PRIMARY KEY (id),"
        " CONSTRAINT uq_sta_observations_dedup UNIQUE (datastream_id, dedup_key))"
    )
    op.execute("CREATE INDEX ix_sta_observations_stream_time ON sta_observations (datastream_id, phenomenon_time)")
    op.execute("CREATE INDEX ix_sta_observations_feature_of_interest_id ON sta_observations (feature_of_interest_id)")
    op.execute("ALTER SEQUENCE sta_observations_id_seq OWNED BY sta_observations.id")
    # one message kept at two phenomenon times (a redelivery past the dedup window) becomes one row again
    op.execute(
        f"INSERT INTO sta_observations ({_NAMES}) SELECT {_NAMES} FROM {old} ORDER BY id "
        "ON CONFLICT (datastream_id, dedup_key) DO NOTHING"
    )
    op.execute(f"DROP TABLE {old}")  # its partitions with it
