"""a file handed in by an officer bound in chat: who handed it in, for which province

Revision ID: 0009_handed_in
Revises: 0008_screenshots

A roster, summary or list an officer drops into the chat is taken as mail from the province's trusted
sender; it is trusted because of the officer's binding, not its From line, and the message keeps that so
that `quarantine retry` judges it the same way.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_handed_in"
down_revision = "0008_screenshots"
branch_labels = None
depends_on = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    # a plain ADD COLUMN, on SQLite too: the inbox (every raw message) is never copied for it
    op.add_column("inboundmessage", sa.Column("handed_in_by", TEXT, nullable=True))
    op.add_column("inboundmessage", sa.Column("handed_in_for", TEXT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inboundmessage") as batch:
        batch.drop_column("handed_in_for")
        batch.drop_column("handed_in_by")
