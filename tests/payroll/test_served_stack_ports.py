"""The ports the served stack picks for processes it starts later.

Why: CI once failed with ``Address already in use`` because a port taken by ``bind(0)``
and released was handed by the kernel to one of the month's outgoing connections before
the child process bound it.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from asxh_pay.payroll import served_stack
from asxh_pay.payroll.served_stack import free_ports


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    low = served_stack._ephemeral_range_start()
    ports = free_ports(6)
    assert len(set(ports)) == 6
    assert all(10_000 <= port < low for port in ports)
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_port_somebody_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        # The random source offers the busy port first, then a free one.
        offers = iter([busy, busy, 23_456])

        class Offers:
            def randrange(self, start: int, stop: int) -> int:
                return next(offers)

        monkeypatch.setattr(served_stack.random, "SystemRandom", Offers)
        monkeypatch.setattr(served_stack, "_ephemeral_range_start", lambda: 65_000)
        if not served_stack._bindable(23_456):
            pytest.skip("port 23456 is in use on this machine")
        assert free_ports(1) == [23_456]


def test_an_unreadable_range_falls_back_to_linux_default(tmp_path: Path) -> None:
    assert served_stack._ephemeral_range_start(tmp_path / "missing") == 32_768
    (tmp_path / "range").write_text("40000\t60999\n")
    assert served_stack._ephemeral_range_start(tmp_path / "range") == 40_000
