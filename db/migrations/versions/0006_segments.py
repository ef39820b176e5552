"""segments: a detection's recap, credits and preview (the intro stays in detections)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table: every existing detection keeps its row and simply has no other segment yet.
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("detection_id", sa.Integer(), sa.ForeignKey("detections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("signals", sa.String(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('recap', 'credits', 'preview')", name="segment_kind_valid"),
        sa.CheckConstraint("end_s > start_s", name="segment_not_empty"),
    )
    op.create_index("ix_segments_detection_id", "segments", ["detection_id"])


def downgrade() -> None:
    op.drop_index("ix_segments_detection_id", "segments")
    op.drop_table("segments")
