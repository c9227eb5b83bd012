"""contact address changes

Revision ID: 0005_contacts
Revises: 0004_cycles
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.columns

revision = "0005_contacts"
down_revision = "0004_cycles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contactchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("old_address", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("new_address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("known_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("usable_from", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", storage.columns.UTCDateTime(), nullable=True),
        sa.Column("confirmed_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["message_pk"], ["inboundmessage.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_contactchange_unit_id"), "contactchange", ["unit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_contactchange_unit_id"), table_name="contactchange")
    op.drop_table("contactchange")
