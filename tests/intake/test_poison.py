"""A message whose processing keeps failing is retried a bounded number of times, then quarantined;
intake goes on, and the quarantine can be replayed once the fault is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import main
from compliance.creditcode import make_code
from storage import inbox, outbox
from storage.engine import make_engine
from tests.intake.world import SD, SD_UNITS, Unit, roster_mail

POISON = Unit("山东省", "毒丸测试有限公司", make_code("91370900MA3C00007"), "371000000007", 1_000_000)
CONFIG = """
[senders]
ncsc = ["registry@ccersc.org.cn"]
[senders.provinces]
"山东省" = ["ccer@sthj.shandong.example"]
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, str]:
    config = tmp_path / "ccerbot.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["--config", str(config), "--db", url, "db", "upgrade"]) == 0
    # a fault in the database itself, as a full disk or a broken constraint would give: no patching
    with make_engine(url).begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER poison BEFORE INSERT ON rosterentry WHEN NEW.name = '毒丸测试有限公司' "
                "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            )
        )
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "1-poison.eml").write_bytes(roster_mail(SD, [*SD_UNITS, POISON]))
    (tmp_path / "mail" / "2-good.eml").write_bytes(roster_mail(SD, SD_UNITS, "2021-10-26T10:00"))
    return tmp_path, url


def test_poison_is_quarantined_after_its_attempts_and_the_next_message_applies(
    setup: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, url = setup
    assert main(["--config", str(folder / "ccerbot.toml"), "--db", url, "ingest", str(folder / "mail")]) == 0
    assert "已处理 1" in capsys.readouterr().out
    told = sorted((i.kind, i.recipient) for i in outbox.items(make_engine(url)))
    assert told == [("receipt", SD), ("receipt", SD)]  # `ingest` answers like the service: both mails
    kept = inbox.quarantined(make_engine(url))
    assert len(kept) == 1 and kept[0].attempts == inbox.MAX_ATTEMPTS
    assert f"处理出错 {inbox.MAX_ATTEMPTS} 次" in (kept[0].reason or "") and "disk says no" in (
        kept[0].reason or ""
    )


def test_a_quarantined_message_is_listed_shown_and_retried(
    setup: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, url = setup
    base = ["--config", str(folder / "ccerbot.toml"), "--db", url]
    main([*base, "ingest", str(folder / "mail")])
    message_pk = inbox.quarantined(make_engine(url))[0].id
    capsys.readouterr()
    assert main([*base, "quarantine", "list"]) == 0
    assert "disk says no" in capsys.readouterr().out
    assert main([*base, "quarantine", "show", str(message_pk)]) == 0
    assert SD in capsys.readouterr().out
    assert main([*base, "quarantine", "retry", str(message_pk)]) == 1  # the fault is still there
    with make_engine(url).begin() as connection:
        connection.execute(text("DROP TRIGGER poison"))
    capsys.readouterr()
    assert main([*base, "quarantine", "retry", str(message_pk)]) == 0
    assert capsys.readouterr().out.strip() == f"{message_pk}：已处理"
    receipts = [i for i in outbox.items(make_engine(url)) if i.key.endswith(f"|receipt|{message_pk}|applied")]
    assert [r.recipient for r in receipts] == [SD]  # the retry tells the sender, as any take does
    assert "结果：已处理" in receipts[0].body
    assert main([*base, "status", POISON.code, "--json"]) == 0
    assert '"allowances_due_t": 1000000' in capsys.readouterr().out
    assert main([*base, "quarantine", "retry", str(message_pk)]) == 2
    assert "隔离区中没有" in capsys.readouterr().err
