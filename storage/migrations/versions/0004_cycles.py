"""facts belong to a cycle; per-year roster figures, sectors, offset operations

Revision ID: 0004_cycles
Revises: 0001
Create Date: 2026-12-04 14:20:19.798500

Rows written before this revision get the cycle of the instant they were learned (storage.cycles), and
each roster entry's figures become that cycle's first obligation's, so a first-cycle database keeps every
fact as it was.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.columns
from compliance.cycle import load_cycle
from storage.cycles import cycle_at

revision = "0004_cycles"
down_revision = "0003_replay"
branch_labels = None
depends_on = None

_FACT_TABLES = ("rosterentry", "weeklysnapshot", "cancellationrecord")


def upgrade() -> None:
    for name in _FACT_TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
            if name == "rosterentry":
                batch_op.add_column(sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        _fill_cycles(name)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("cycle", existing_type=sqlmodel.sql.sqltypes.AutoString(), nullable=False)
            batch_op.create_index(batch_op.f(f"ix_{name}_cycle"), ["cycle"], unique=False)
    op.create_table(
        "offsetoperation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("natural_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("cycle", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("known_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("province", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("project_no", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("project_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("project_type", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("obligation", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("quantity_t", sa.BigInteger(), nullable=False),
        sa.Column("operated_on", sa.Date(), nullable=False),
        sa.Column("operation_no", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("ccer_kind", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["inboundmessage.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("natural_key"),
    )
    with op.batch_alter_table("offsetoperation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offsetoperation_cycle"), ["cycle"], unique=False)
        batch_op.create_index(batch_op.f("ix_offsetoperation_message_pk"), ["message_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_offsetoperation_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_offsetoperation_province"), ["province"], unique=False)
        batch_op.create_index(batch_op.f("ix_offsetoperation_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "operationevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False),
        sa.Column("known_at", storage.columns.UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["inboundmessage.id"],
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["offsetoperation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operationevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operationevent_message_pk"), ["message_pk"], unique=False)
        batch_op.create_index("ix_operationevent_operation_known", ["operation_id", "known_at"], unique=False)

    op.create_table(
        "rosteryear",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("obligation", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("allowances_due_t", sa.BigInteger(), nullable=True),
        sa.Column("surrendered_t", sa.BigInteger(), nullable=True),
        sa.Column("complied", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["rosterentry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rosteryear", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rosteryear_entry_id"), ["entry_id"], unique=False)

    _fill_roster_years()


def _fill_cycles(name: str) -> None:
    """Each row gets the cycle of its known_at; rows learned at the same instant are updated together."""
    table = sa.table(name, sa.column("known_at", storage.columns.UTCDateTime()), sa.column("cycle"))
    bind = op.get_bind()
    by_cycle: dict[str, list[object]] = defaultdict(list)
    for (known_at,) in bind.execute(sa.select(table.c.known_at).distinct()):
        by_cycle[cycle_at(known_at).name].append(known_at)
    for cycle, instants in by_cycle.items():
        for start in range(0, len(instants), 500):
            chunk = instants[start : start + 500]
            bind.execute(table.update().where(table.c.known_at.in_(chunk)).values(cycle=cycle))


def _fill_roster_years() -> None:
    """A roster entry's one figure is its cycle's first obligation's (FORMATS.md: a column without a year)."""
    entry = sa.table(
        "rosterentry",
        sa.column("id"),
        sa.column("cycle"),
        sa.column("allowances_due_t"),
        sa.column("surrendered_t"),
        sa.column("complied"),
    )
    year = sa.table(
        "rosteryear",
        sa.column("entry_id"),
        sa.column("obligation"),
        sa.column("allowances_due_t"),
        sa.column("surrendered_t"),
        sa.column("complied"),
    )
    bind = op.get_bind()
    for (cycle,) in bind.execute(sa.select(entry.c.cycle).distinct()).all():
        obligation = load_cycle(cycle).obligations[0]
        given = sa.or_(
            entry.c.allowances_due_t.is_not(None),
            entry.c.surrendered_t.is_not(None),
            entry.c.complied.is_not(None),
        )
        rows = sa.select(
            entry.c.id,
            sa.literal(obligation, sqlmodel.sql.sqltypes.AutoString()),
            entry.c.allowances_due_t,
            entry.c.surrendered_t,
            entry.c.complied,
        ).where(entry.c.cycle == cycle, given)
        bind.execute(
            year.insert().from_select(
                ["entry_id", "obligation", "allowances_due_t", "surrendered_t", "complied"], rows
            )
        )


def downgrade() -> None:
    for name in reversed(_FACT_TABLES):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_cycle"))
            batch_op.drop_column("cycle")
            if name == "rosterentry":
                batch_op.drop_column("sector")
    with op.batch_alter_table("rosteryear", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rosteryear_entry_id"))
    op.drop_table("rosteryear")
    with op.batch_alter_table("operationevent", schema=None) as batch_op:
        batch_op.drop_index("ix_operationevent_operation_known")
        batch_op.drop_index(batch_op.f("ix_operationevent_message_pk"))
    op.drop_table("operationevent")
    with op.batch_alter_table("offsetoperation", schema=None) as batch_op:
        for column in ("unit_id", "province", "name_key", "message_pk", "cycle"):
            batch_op.drop_index(batch_op.f(f"ix_offsetoperation_{column}"))
    op.drop_table("offsetoperation")
