"""Alembic, driven from code: `ccerbot db upgrade`, and an empty database upgrades itself on first use.

Alembic is imported only to read or change the schema through it: with the Mako and Pygments it loads it
is 11 MB that a service would hold to the end for one look at start-up. Whether a database is already
at the newest revision is read without it, from its alembic_version row and the migration files' own
revision lines; when either does not say so plainly, alembic is asked.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str | None:
    """Bring the schema to the newest revision; returns it."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
    return head_revision(engine)


def ensure_current(engine: Engine) -> None:
    newest = newest_revision_in_files()
    if newest is not None and stamped_revision(engine) == newest:
        return
    if current_revision(engine) != head_revision(engine):
        upgrade(engine)


@cache
def newest_revision_in_files() -> str | None:
    """The one revision that no migration file names as revised (alembic's head), as the files write
    it; None when they do not say it plainly (several heads, a value that is not a literal)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("[!_]*.py")):
        lines = _literals(path)
        revision, down = lines.get("revision"), lines.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple) and all(isinstance(d, str) for d in down):  # a merge
            revised.update(down)
        elif down is not None or "down_revision" not in lines:
            return None
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _literals(path: Path) -> dict[str, object]:
    """The module's top-level `name = literal` lines (annotated or not); a value that is no literal is
    given as Ellipsis."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        try:
            found[name] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError):
            found[name] = ...
    return found


def stamped_revision(engine: Engine) -> str | None:
    """The revision the database's alembic_version table holds; None without the table (or the
    database) or with other than one row."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None
