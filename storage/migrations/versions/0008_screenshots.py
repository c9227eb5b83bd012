"""step 5's stamped screenshots of the cancellation, filed against their unit

Revision ID: 0008_screenshots
Revises: 0007_applications
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.columns

revision = "0008_screenshots"
down_revision = "0007_applications"
branch_labels = None
depends_on = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    op.create_table(
        "cancellationscreenshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("cycle", TEXT, nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=True),
        sa.Column("source", TEXT, nullable=False),
        sa.Column("filename", TEXT, nullable=True),
        sa.Column("content_type", TEXT, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", storage.columns.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_pk"], ["inboundmessage.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_pk", "unit_id", name="uq_screenshot_message_unit"),
    )
    op.create_index(op.f("ix_cancellationscreenshot_unit_id"), "cancellationscreenshot", ["unit_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cancellationscreenshot_unit_id"), table_name="cancellationscreenshot")
    op.drop_table("cancellationscreenshot")
