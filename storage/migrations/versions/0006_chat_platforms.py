"""chats of every platform: bindings keyed by (platform, chat id as text)

Revision ID: 0006_chat_platforms
Revises: 0005_contacts

Until now a chat was a Telegram chat id (a BIGINT). A DingTalk senderStaffId or a Feishu open_id is text
and lives in a number space of its own, so a chat becomes (platform, chat_id as text). Every row written
before is a Telegram chat's: it keeps its id, as text, with platform 'telegram'. Where a chat is stored in
one column (the chat that used a code, the officer who confirmed a contact) it becomes str(Peer),
'telegram:1001'.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_chat_platforms"
down_revision = "0005_contacts"
branch_labels = None
depends_on = None

TEXT = sqlmodel.sql.sqltypes.AutoString()


def _platform() -> sa.Column[str]:
    return sa.Column("platform", TEXT, nullable=False, server_default="telegram")


def upgrade() -> None:
    with op.batch_alter_table("chatbinding") as batch:
        batch.drop_index("ix_chatbinding_chat_id")
        batch.add_column(_platform())
        batch.alter_column("chat_id", type_=TEXT, existing_nullable=False, postgresql_using="chat_id::text")
        batch.create_index("ix_chatbinding_platform_chat", ["platform", "chat_id"], unique=True)

    with op.batch_alter_table("bindattempt") as batch:
        batch.drop_index("ix_bindattempt_chat_at")
        batch.add_column(_platform())
        batch.alter_column("chat_id", type_=TEXT, existing_nullable=False, postgresql_using="chat_id::text")
        batch.create_index("ix_bindattempt_chat_at", ["platform", "chat_id", "at"], unique=False)

    # The primary key itself changes: a new table is the one way both databases take alike.
    op.create_table(
        "chatpreference_new",
        sa.Column("platform", TEXT, nullable=False),
        sa.Column("chat_id", TEXT, nullable=False),
        sa.Column("lang", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("platform", "chat_id"),
    )
    op.execute(
        "INSERT INTO chatpreference_new (platform, chat_id, lang) "
        "SELECT 'telegram', CAST(chat_id AS VARCHAR), lang FROM chatpreference"
    )
    op.drop_table("chatpreference")
    op.rename_table("chatpreference_new", "chatpreference")

    for table, column in (("onetimecode", "used_by_chat"), ("contactchange", "confirmed_by")):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=TEXT, existing_nullable=True, postgresql_using=f"{column}::text")
        op.execute(f"UPDATE {table} SET {column} = 'telegram:' || {column} WHERE {column} IS NOT NULL")


def downgrade() -> None:
    """Back to Telegram only: the chats of other platforms are forgotten."""
    for table, column in (("onetimecode", "used_by_chat"), ("contactchange", "confirmed_by")):
        op.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} NOT LIKE 'telegram:%'")
        op.execute(f"UPDATE {table} SET {column} = SUBSTR({column}, 10) WHERE {column} IS NOT NULL")
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, type_=sa.BigInteger(), existing_nullable=True, postgresql_using=f"{column}::bigint"
            )

    op.create_table(
        "chatpreference_old",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("lang", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.execute(
        "INSERT INTO chatpreference_old (chat_id, lang) "
        "SELECT CAST(chat_id AS BIGINT), lang FROM chatpreference WHERE platform = 'telegram'"
    )
    op.drop_table("chatpreference")
    op.rename_table("chatpreference_old", "chatpreference")

    for table, index, columns, unique in (
        ("chatbinding", "ix_chatbinding_platform_chat", ["chat_id"], True),
        ("bindattempt", "ix_bindattempt_chat_at", ["chat_id", "at"], False),
    ):
        op.execute(f"DELETE FROM {table} WHERE platform <> 'telegram'")
        with op.batch_alter_table(table) as batch:
            batch.drop_index(index)
            batch.drop_column("platform")
            batch.alter_column(
                "chat_id", type_=sa.BigInteger(), existing_nullable=False, postgresql_using="chat_id::bigint"
            )
            name = "ix_chatbinding_chat_id" if table == "chatbinding" else index
            batch.create_index(name, columns, unique=unique)
