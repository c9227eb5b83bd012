"""on PostgreSQL, each raw message is compressed with lz4 instead of pglz

Revision ID: 0010_raw_lz4
Revises: 0009_handed_in

Every message is stored whole before it is read: pglz compressing its bytes (spreadsheets in base64) was a
good part of the server's CPU while intake took a season in, on a machine whose cores the service and its
reading worker share with the server (10,000 units: 7.2-7.5 s with pglz, 6.8-7.0 s with lz4). Only new
values are compressed so; the ones stored before stay as they are, and both are read alike. Nothing
changes on SQLite, or on a PostgreSQL built without lz4 or older than 14.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_raw_lz4"
down_revision = "0009_handed_in"
branch_labels = None
depends_on = None

_LZ4_KNOWN = sa.text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")


def _lz4_available() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == "postgresql" and bind.execute(_LZ4_KNOWN).scalar() is True


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE inboundmessage ALTER COLUMN raw SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE inboundmessage ALTER COLUMN raw SET COMPRESSION DEFAULT")
