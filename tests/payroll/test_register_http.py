"""The population register's HTTP adapter against the served sandbox register (docs/register.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from asxh_pay.errors import AuthenticationError, ProviderUnavailable
from asxh_pay.localserver import LocalServer, serve
from asxh_pay.payroll.register_http import SANDBOX_TOKEN, HttpPopulationRegistry, RegisterService
from asxh_pay.payroll.registry import PersonRecord, SandboxPopulationRegistry
from asxh_pay.status import FailureReason

A, B, C, GONE = "001203012345", "001203012346", "001203012347", "001203099999"


@pytest.fixture
def register(tmp_path: Path) -> Iterator[tuple[SandboxPopulationRegistry, LocalServer]]:
    reg = SandboxPopulationRegistry(tmp_path / "registry.db")
    reg.add(
        [
            PersonRecord(A, "Nguyễn Văn An", date(1950, 3, 4)),
            PersonRecord(B, "Trần Thị Bình", date(1948, 1, 1)),
            PersonRecord(C, "Lê Văn Cường", None),
        ]
    )
    server = serve(RegisterService(reg).handle).start()
    yield reg, server
    server.stop()
    reg.close()


async def test_lookup_in_batches_returns_what_the_register_holds(
    register: tuple[SandboxPopulationRegistry, LocalServer],
) -> None:
    _, server = register
    http = HttpPopulationRegistry(server.url, SANDBOX_TOKEN, batch_size=2)  # 4 CCCDs: two calls
    try:
        people = await http.lookup_batch([A, B, C, GONE])
    finally:
        await http.aclose()
    assert set(people) == {A, B, C}  # an unknown CCCD is simply absent
    assert people[A] == PersonRecord(A, "Nguyễn Văn An", date(1950, 3, 4))
    assert people[C].birth_date is None and people[C].alive


async def test_deaths_and_ended_entitlements_recorded_later_stop_payment(
    register: tuple[SandboxPopulationRegistry, LocalServer],
) -> None:
    reg, server = register
    http = HttpPopulationRegistry(server.url, SANDBOX_TOKEN)
    try:
        assert await http.check_batch([A, B, C]) == {}
        reg.mark_dead(A, date(2026, 11, 2))  # another process writes the register's file
        reg.stop_entitlement(B, "BTXH", "moved away")
        stops = await http.check_batch([A, B, C, GONE])
        people = await http.lookup_batch([A])
    finally:
        await http.aclose()
    assert [s.reason for s in stops[A]] == [FailureReason.BENEFICIARY_DECEASED]
    assert [(s.reason, s.programme) for s in stops[B]] == [(FailureReason.REGULATORY, "BTXH")]
    assert stops[B][0].applies_to("BTXH") and not stops[B][0].applies_to("NCC")
    assert [s.reason for s in stops[GONE]] == [FailureReason.IDENTITY_CHECK_FAILED]
    assert C not in stops
    assert people[A].died_on == date(2026, 11, 2)


async def test_identity_check_by_cccd_name_and_birth_date(
    register: tuple[SandboxPopulationRegistry, LocalServer],
) -> None:
    _, server = register
    http = HttpPopulationRegistry(server.url, SANDBOX_TOKEN)
    try:
        folded = await http.verify_identity(A, "NGUYEN VAN AN", date(1950, 3, 4))
        wrong_birth = await http.verify_identity(A, "Nguyễn Văn An", date(1951, 3, 4))
        unknown = await http.verify_identity(GONE, "Ai Đó", None)
        health = await http.health()
    finally:
        await http.aclose()
    assert folded == {
        "found": True,
        "alive": True,
        "died_on": None,
        "name_match": "folded",
        "birth_date_match": True,
    }
    assert wrong_birth["birth_date_match"] is False
    assert unknown == {"found": False}
    assert health == {"status": "ok", "people": 3}


async def test_a_wrong_token_is_refused_and_a_dead_register_is_unavailable(
    register: tuple[SandboxPopulationRegistry, LocalServer],
) -> None:
    _, server = register
    bad = HttpPopulationRegistry(server.url, "not-the-token")
    with pytest.raises(AuthenticationError):
        await bad.lookup_batch([A])
    await bad.aclose()
    url = server.url
    server.stop()
    gone = HttpPopulationRegistry(url, SANDBOX_TOKEN, attempts=2)
    with pytest.raises(ProviderUnavailable):
        await gone.check_batch([A])
    await gone.aclose()
