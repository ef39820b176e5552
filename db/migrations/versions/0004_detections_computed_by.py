"""detections.computed_by: the cluster worker that computed a detection (empty: the daemon itself)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("detections") as batch:
        batch.add_column(sa.Column("computed_by", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("detections") as batch:
        batch.drop_column("computed_by")
