"""Issue 10 item 3 over real UDP on loopback: a cracker using a new source port per guess is
stopped long before a password late in its list, while honest phones behind the same address
— the attacked 端末ID's registered phone included — keep registering and calling."""

from __future__ import annotations

from tests.sim.pbx.sip_phones import PASSWORD, Lab, Phone, close_all, run, with_pbx

TARGET = "abcde20200"
GUESSES = [f"Guess{n:03d}" for n in range(95)] + [PASSWORD]  # the right one is the 96th


async def crack(lab: Lab) -> list[int]:
    """One guess per fresh endpoint (a new port each time), as the issue's cracker did."""
    statuses = []
    for guess in GUESSES:
        cracker = await Phone.open(lab, TARGET)
        try:
            statuses.append((await cracker.register(password=guess)).status)
        finally:
            await cracker.endpoint.close()
    return statuses


def test_a_rotating_port_cracker_is_stopped_and_honest_phones_keep_working() -> None:
    async def body(lab: Lab) -> None:
        attacked = await Phone.open(lab, TARGET, mode="ring")
        neighbour = await Phone.open(lab, "abcde20201", mode="ring")
        newcomer = await Phone.open(lab, "abcde20202")
        try:
            assert (await attacked.register()).status == 200
            assert (await neighbour.register()).status == 200

            statuses = await crack(lab)

            assert 200 not in statuses, "the cracker found the password"
            assert statuses[:4] == [401] * 4 and set(statuses[4:]) == {503}, statuses
            now, phone = lab.service.now(), attacked.endpoint.transport().local
            bound = lab.service.registrar.bindings(TARGET, now)
            assert [b.peer for b in bound] == [
                f"127.0.0.1:{phone.port}"
            ]  # nothing of the cracker's
            # The same address, other 端末IDs: a registered phone refreshes, a new one joins.
            assert (await neighbour.register()).status == 200
            assert (await newcomer.register()).status == 200
            # The attacked 端末ID's own phone (a known device) refreshes and places calls.
            assert (await attacked.register()).status == 200
            call = await attacked.call("20201")
            await lab.wire.settled()
            assert [s.request.headers.from_.uri.user for s in neighbour.incoming] == ["20200"]  # type: ignore[union-attr]
            call.cancel()
            await call.wait_final()
        finally:
            await close_all(attacked, neighbour, newcomer)

    run(with_pbx(None, body))
