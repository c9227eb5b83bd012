"""replay: when a record kept unmatched was matched to its unit

Revision ID: 0003_replay
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.columns

revision = "0003_replay"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("applicationline", "cancellationrecord"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("matched_at", storage.columns.UTCDateTime(), nullable=True))


def downgrade() -> None:
    for table in ("applicationline", "cancellationrecord"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("matched_at")
