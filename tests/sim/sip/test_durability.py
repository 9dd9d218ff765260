"""kill -9 and restart: settings survive (SQLite WAL), registrations are soft state and are
gone — the restarted registrar routes nothing to a binding made before the crash."""

from __future__ import annotations

import signal
from pathlib import Path

from harness.pytest_plugin.phones import PhoneFactory
from harness.pytest_plugin.sim import start_simulator
from harness.sim.documents import read_tenant
from harness.sip.observed import PhoneEventKind
from tests.sim.sip.kit import FIXTURES, eventually, point_at, rows, tenant_phones

SAMPLE = FIXTURES / "sample"
ABSENCE = {"種別": "転送/留守番電話", "転送動作": {"圏外": "留守番電話"}}


def test_kill_9_keeps_settings_and_drops_registrations(
    tmp_path: Path, phone_factory: PhoneFactory
) -> None:
    db = tmp_path / "sim.sqlite3"
    with start_simulator(SAMPLE, db=db, workdir=_dir(tmp_path / "first")) as first:
        phones = tenant_phones(phone_factory, first, SAMPLE)
        document = first.settings()
        document.setdefault("不在時動作設定", {})["20201"] = ABSENCE
        first.put_settings(document)
        eventually(lambda: len(rows(first, "/api/registrations")) == 2, "both registered")
        first.kill(signal.SIGKILL)
        assert first.process.returncode == -signal.SIGKILL

    with start_simulator(SAMPLE, db=db, workdir=_dir(tmp_path / "second")) as second:
        assert second.settings()["不在時動作設定"]["20201"]["転送動作"]["圏外"] == "留守番電話"
        assert rows(second, "/api/registrations") == []
        guide = read_tenant(SAMPLE).guide
        point_at(phone_factory, second, guide)
        caller = phone_factory.for_terminal(guide, guide.terminals[0])  # 20200, registers anew
        caller.register()
        # 20201's binding died with the process: 圏外 → its voicemail answers at once.
        call = caller.call("20201")
        call.wait_for(PhoneEventKind.CONNECTED)
        call.hangup()
        assert [
            m["extension"]
            for m in eventually(lambda: rows(second, "/api/voicemail"), "the message listed")
        ] == ["20201"]
        assert not [e for e in phones["20201"].timeline() if e.kind is PhoneEventKind.RING]


def _dir(path: Path) -> Path:
    path.mkdir()
    return path
