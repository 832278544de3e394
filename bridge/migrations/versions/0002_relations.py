"""Relations: the columns each pipeline last replicated per source table.

They tell a source schema change from a target table changed by hand (bridge/appliers/
relations.py). Written in the same target transaction as the rows they describe.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    op.drop_table("relations", schema="bridge")
