"""Every message of the shared sample corpus walks, and its attachment reads to one table."""

from __future__ import annotations

from pathlib import Path

import pytest

from mail.mime import walk
from mail.tables import read_tables
from tests import shared

SAMPLES = sorted((shared.SAMPLES / "mail").glob("*.eml"))
HEADERS = ("统一社会信用代码", "账户名称")

pytestmark = pytest.mark.skipif(not SAMPLES, reason="no sample corpus")


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_walks_and_reads(path: Path) -> None:
    walked = walk(path.read_bytes())
    assert walked.envelope.sender and walked.envelope.subject and walked.envelope.date
    assert walked.envelope.message_id
    (attachment,) = walked.attachments
    assert attachment.filename and attachment.filename.endswith(".xlsx")
    (table,) = read_tables(attachment.data, attachment.filename, attachment.content_type)
    assert any(
        any(isinstance(cell, str) and cell.strip() in HEADERS for cell in row) for row in table.rows[:10]
    ), table.rows[:5]
