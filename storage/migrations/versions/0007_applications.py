"""step 4: emitters' applications, the weekly summaries composed from the decisions, mail with files

Revision ID: 0007_applications
Revises: 0006_chat_platforms

An application (申请表) is a proposal waiting for an officer; its projects are its lines. A summary draft
is a province's weekly summary composed for the officers to send. An outbox item may now be an email
sent on a province's behalf: its own From, copies and one attached file.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.columns

revision = "0007_applications"
down_revision = "0006_chat_platforms"
branch_labels = None
depends_on = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def upgrade() -> None:
    op.create_table(
        "offsetapplication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("cycle", TEXT, nullable=False),
        sa.Column("province", TEXT, nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("code", TEXT, nullable=True),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("sender", TEXT, nullable=True),
        sa.Column("received_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("allowances_due_t", sa.BigInteger(), nullable=True),
        sa.Column("requested_t", sa.BigInteger(), nullable=True),
        sa.Column("account_no", TEXT, nullable=True),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("decided_by", TEXT, nullable=True),
        sa.Column("decided_at", storage.columns.UTCDateTime(), nullable=True),
        sa.Column("reason", TEXT, nullable=True),
        sa.ForeignKeyConstraint(["message_pk"], ["inboundmessage.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_offsetapplication_message_pk"), "offsetapplication", ["message_pk"])
    op.create_index(op.f("ix_offsetapplication_unit_id"), "offsetapplication", ["unit_id"])
    op.create_index("ix_offsetapplication_province_state", "offsetapplication", ["province", "state"])
    op.create_table(
        "offsetapplicationproject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("project_no", TEXT, nullable=True),
        sa.Column("project_name", TEXT, nullable=True),
        sa.Column("vintage_start", sa.Date(), nullable=True),
        sa.Column("vintage_end", sa.Date(), nullable=True),
        sa.Column("requested_t", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["offsetapplication.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_offsetapplicationproject_application_id"), "offsetapplicationproject", ["application_id"]
    )
    op.create_table(
        "summarydraft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province", TEXT, nullable=False),
        sa.Column("cycle", TEXT, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("composed_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("approved_by", TEXT, nullable=True),
        sa.Column("approved_at", storage.columns.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("province", "as_of", name="uq_summarydraft_province_as_of"),
    )
    with op.batch_alter_table("outboxitem") as batch:
        batch.add_column(sa.Column("sender", TEXT, nullable=True))
        batch.add_column(sa.Column("cc", TEXT, nullable=True))
        batch.add_column(sa.Column("attachment_name", TEXT, nullable=True))
        batch.add_column(sa.Column("attachment", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outboxitem") as batch:
        for name in ("attachment", "attachment_name", "cc", "sender"):
            batch.drop_column(name)
    op.drop_table("summarydraft")
    op.drop_index(op.f("ix_offsetapplicationproject_application_id"), table_name="offsetapplicationproject")
    op.drop_table("offsetapplicationproject")
    op.drop_index("ix_offsetapplication_province_state", table_name="offsetapplication")
    op.drop_index(op.f("ix_offsetapplication_unit_id"), table_name="offsetapplication")
    op.drop_index(op.f("ix_offsetapplication_message_pk"), table_name="offsetapplication")
    op.drop_table("offsetapplication")
