"""Why a message holds no table we can read, said so that the sender knows what to send instead."""

from __future__ import annotations

import re

from mail.mime import Attachment, Walked

SEND_INSTEAD = "请把表格作为 Excel（.xlsx、.xls）或 CSV 附件发送，或在邮件正文中以 HTML 表格发送"
# What a document that holds a table only as a picture of it is, by its first bytes or its name.
_MAGIC = ((b"%PDF", "PDF 文件"), (b"\x89PNG", "图片"), (b"\xff\xd8\xff", "图片"), (b"GIF8", "图片"))
_NAMES = {
    ".pdf": "PDF 文件",
    ".ofd": "OFD 文件",
    ".doc": "Word 文档",
    ".docx": "Word 文档",
    ".wps": "WPS 文字文档",
    ".jpg": "图片",
    ".jpeg": "图片",
    ".png": "图片",
    ".gif": "图片",
    ".bmp": "图片",
    ".tif": "图片",
    ".tiff": "图片",
}
# Cells of a table copied from a spreadsheet into a plain-text mail: tabs, or runs of spaces.
_CELL_GAP = re.compile(r"\t|[ \u3000]{2,}")
_PASTED_ROWS = 2
_PASTED_CELLS = 3


def document_kind(attachment: Attachment) -> str | None:
    """'PDF 文件', 'Word 文档', '图片'…: an attachment that is a document, not a table; else None."""
    for magic, kind in _MAGIC:
        if attachment.data.startswith(magic):
            return kind
    name = (attachment.filename or "").lower()
    return next((kind for suffix, kind in _NAMES.items() if name.endswith(suffix)), None)


def pasted_table(text: str) -> bool:
    """Whether a plain-text body holds rows of cells: a table pasted into the mail as text."""
    rows = [line for line in text.splitlines() if len(_CELL_GAP.split(line.strip())) >= _PASTED_CELLS]
    return len(rows) >= _PASTED_ROWS


def no_table_reason(walked: Walked) -> str:
    for attachment in walked.attachments:
        kind = document_kind(attachment)
        if kind is not None:
            name = attachment.filename or attachment.content_type
            return f"附件 {name} 是{kind}，无法从中读取表格：{SEND_INSTEAD}"
    if not walked.html_bodies and pasted_table(walked.text_body):
        return f"邮件正文中的表格是纯文本，无法可靠地分列读取：{SEND_INSTEAD}"
    return f"邮件中没有可识别的名录、申请汇总表或注销记录表格：{SEND_INSTEAD}"
