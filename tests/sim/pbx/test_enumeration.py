"""No extension enumeration (issue 4): sipvicious ``svwar`` against the PBX's SIP port, with a
dictionary holding real 端末ID and extensions among fakes, finds nothing by REGISTER, INVITE or
OPTIONS — an unknown 端末ID and a known one get the same answers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from harness.clock import ManualClock
from tests.sim.pbx.sip_phones import Lab, with_pbx

SVWAR = Path(sys.executable).parent / "sipvicious_svwar"
REAL = ["abcde20200", "abcde20201", "20200", "20201", "200"]
FAKE = ["nobody1", "zzzzz99999", "99999"]


async def svwar(port: int, method: str, dictionary: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(SVWAR),
        *("-d", str(dictionary), "-m", method, "-b", "127.0.0.1", "-p", str(port), "127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return out.decode(errors="replace")


@pytest.mark.skipif(not SVWAR.exists(), reason="sipvicious is a test dependency (make setup)")
@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
def test_svwar_finds_no_extension(method: str, tmp_path: Path) -> None:
    dictionary = tmp_path / "dictionary.txt"
    dictionary.write_text("\n".join(REAL + FAKE) + "\n", encoding="utf-8")
    outputs: list[str] = []

    async def body(lab: Lab) -> None:
        outputs.append(await svwar(lab.service.address.port, method, dictionary))

    asyncio.run(with_pbx(None, body, clock=ManualClock()))
    (out,) = outputs
    assert "found nothing" in out, out
    assert not any(name in out for name in REAL), out
