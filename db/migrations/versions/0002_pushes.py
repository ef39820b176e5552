"""pushes: per episode and media-server target, what was sent and what is left to send

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
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
        "pushes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("episode_id", sa.Integer(), sa.ForeignKey("episodes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("detection_id", sa.Integer(), sa.ForeignKey("detections.id", ondelete="SET NULL"), nullable=True),
        sa.Column("pushed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("episode_id", "target"),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="state_valid"),
    )
    op.create_index("ix_pushes_episode_id", "pushes", ["episode_id"])
    op.create_index("ix_pushes_state", "pushes", ["state"])


def downgrade() -> None:
    op.drop_table("pushes")
