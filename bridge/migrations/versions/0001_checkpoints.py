"""Checkpoints and heartbeats: where each pipeline resumes, and proof of progress.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# MySQL/MariaDB have no time zone type: DATETIME(6) holding UTC (the applier's session is UTC).
_UTC_TIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        # One row per pipeline, rewritten in the same target transaction as the changes it covers.
        sa.Column("pipeline", sa.String(200), primary_key=True),
        sa.Column("source_engine", sa.String(20), nullable=False),
        sa.Column("source_system_id", sa.String(100), nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("position", sa.Text, nullable=False),
        sa.Column("snapshot_position", sa.Text),
        sa.Column("commit_time", _UTC_TIME),
        sa.Column("applied_at", _UTC_TIME, nullable=False),
        sa.Column("transactions", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("changes", sa.BigInteger, nullable=False, server_default="0"),
        schema="bridge",
    )
    op.create_table(
        "heartbeats",
        sa.Column("pipeline", sa.String(200), primary_key=True),
        sa.Column("source_time", _UTC_TIME, nullable=False),
        sa.Column("applied_at", _UTC_TIME, nullable=False),
        schema="bridge",
    )


def downgrade() -> None:
    op.drop_table("heartbeats", schema="bridge")
    op.drop_table("checkpoints", schema="bridge")
