"""Relations, pipeline stats and in-flight transactions.

`relations`: the columns each pipeline last replicated per source table; they tell a source
schema change from a target table changed by hand (bridge/appliers/relations.py), written in the
same target transaction as the rows they describe. `pipeline_stats`: a running pipeline's rate,
batch size, retries and last error, for `dbbridge status` (bridge/pipestats.py). `in_flight`:
how far a MySQL target got into a source transaction before a DDL's implicit commit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# MySQL/MariaDB have no time zone type: DATETIME(6) holding UTC (the applier's session is UTC).
_UTC_TIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relations",
        sa.Column("pipeline", sa.String(200), primary_key=True),
        sa.Column("table_schema", sa.String(200), primary_key=True),
        sa.Column("table_name", sa.String(200), primary_key=True),
        # JSON: [[column name, the source's type declaration or null], …] in source order.
        sa.Column("columns", sa.Text, nullable=False),
        schema="bridge",
    )
    op.create_table(
        "pipeline_stats",
        sa.Column("pipeline", sa.String(200), primary_key=True),
        sa.Column("updated_at", _UTC_TIME, nullable=False),
        sa.Column("rows_per_second", sa.Double),
        sa.Column("batch_rows", sa.Double),
        sa.Column("retries", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", _UTC_TIME),
        schema="bridge",
    )

    op.create_table(
        "in_flight",
        # MySQL targets: how far into a source transaction holding DDL the target got before
        # the DDL's implicit commit (bridge/appliers/myinflight.py).
        sa.Column("pipeline", sa.String(200), primary_key=True),
        sa.Column("commit_position", sa.Text, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        schema="bridge",
    )


def downgrade() -> None:
    op.drop_table("in_flight", schema="bridge")
    op.drop_table("pipeline_stats", schema="bridge")
    op.drop_table("relations", schema="bridge")
