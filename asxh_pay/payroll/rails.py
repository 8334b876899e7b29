"""The one place where the payroll's payment rails are built: the real adapters.

Everything else in the payroll asks this module for a :class:`Rails` (ProviderSetups,
Router, the embedded sandboxes and the bank's batch channel).

Routing (per the recipient's chosen method):

=================  ======================================================
bank               ``treasury``: ISO 20022 pain.001 files through the State
                   Treasury / bank host-to-host channel (:class:`TreasuryChannel`)
wallet:<provider>  ``viettel_money`` (ECDSA-signed JSON), ``momo`` (HMAC + RSA)
postal_account     ``vnpost`` (HMAC-signed JSON)
cash_pickup/home   ``vnpost`` (commune payment point, post office, home)
fallback           ``vnpost``: an electronic payout that cannot be made
                   (no account, final decline, returned) is paid in cash
=================  ======================================================

Time. Wallets and postal-account credits settle when they are submitted, as the real
providers do. Cash needs its month: the VNPost sandbox runs on a frozen clock that
:meth:`Rails.pass_month` moves through the payment window (pickups, no-shows, home
visits simulated by :class:`CashSimulation`), and the bank sandbox runs its business
days up to the value date and the days a late return may take.

The embedded sandboxes keep their books in ``<data>/sandbox/`` (SQLite for the
SandboxProvider rails, a JSON file for the bank), written before each answer leaves.
Why: a sandbox plays the other side of the payment, and the other side does not
forget a payment because our process died. Resume-after-kill is only proven if the
books survive the kill, and ``asxh-pay reconcile`` (another process) compares the
ledger with those books. Our side of the bank rail (the pain.001 files, the reports
fetched) lives in ``<data>/treasury/`` (:class:`BatchStore`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from asxh_pay.calendar_vn import VN_TZ
from asxh_pay.client import ProviderSetup
from asxh_pay.engine.applying import Hook
from asxh_pay.engine.treasury import TreasuryChannel
from asxh_pay.errors import ProviderProtocolError, WebhookVerificationError
from asxh_pay.iso20022 import Party
from asxh_pay.ledger.base import Ledger
from asxh_pay.providers.reports import ReportEntry
from asxh_pay.providers.treasury import BatchStore, TreasuryConfig, TreasuryProvider
from asxh_pay.providers.vnpost import PostalState, day_start
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.routing import Router
from asxh_pay.sandbox.base import FaultPlan, SandboxClock, SandboxPayment, SandboxProvider
from asxh_pay.sandbox.momo import MomoSandbox, momo_sandbox_provider
from asxh_pay.sandbox.treasury import SANDBOX_URL as TREASURY_SANDBOX_URL
from asxh_pay.sandbox.treasury import TreasurySandbox
from asxh_pay.sandbox.viettel_money import ViettelMoneySandbox, viettel_money_sandbox_provider
from asxh_pay.sandbox.vnpost import CashSimulation, VNPostSandbox, vnpost_sandbox_provider
from asxh_pay.signing import (
    EcdsaSigner,
    EcdsaVerifier,
    generate_ec_key,
    load_private_key,
    private_key_to_pem,
    write_private_key,
)

TREASURY, VIETTEL_MONEY, MOMO, VNPOST = "treasury", "viettel_money", "momo", "vnpost"
RAIL_NAMES = (TREASURY, VIETTEL_MONEY, MOMO, VNPOST)
WALLET_RAILS = (VIETTEL_MONEY, MOMO)

#: Per-rail concurrency (requests in flight); the sum is what a run can push at once.
CONCURRENCY = {TREASURY: 64, VIETTEL_MONEY: 32, MOMO: 32, VNPOST: 48}


#: The district office's account at the State Treasury (sandbox) and its H2H client id.
DEBTOR_ACCOUNT = "0011001234567"
CLIENT_ID = "district-demo"
#: Transfers per pain.001 file; a district's month is a handful of files.
FILE_SIZE = 2_000


@dataclass
class TreasuryRail:
    """Our side of the bank rail (adapter + stored files) and, embedded, the bank itself."""

    adapter: TreasuryProvider
    store: BatchStore
    sandbox: TreasurySandbox | None
    retry: RetryPolicy
    transport: httpx.AsyncBaseTransport | None = None
    _tmp: Path | None = None

    def channel(
        self, ledger: Ledger, *, hooks: Sequence[Hook] = (), retry_budget: RetryBudget | None = None
    ) -> TreasuryChannel:
        """The engine's file path for this rail; ``hooks`` are the client's, so bank
        transitions reach the same audit hooks as every other payout's, and
        ``retry_budget`` the bank's, shared with the client's status queries."""
        return TreasuryChannel(
            self.adapter,
            ledger,
            self.store,
            transport=self.transport,
            retry=self.retry,
            hooks=hooks,
            retry_budget=retry_budget,
        )

    def reports(self) -> list[Path]:
        """Every report fetched from the bank (pain.002, camt.054, camt.053), in order."""
        return sorted(p for p in self.store.inbox_dir.glob("*") if p.is_file())

    async def pass_days(self, channel: TreasuryChannel, *, return_days: int = 2) -> None:
        """Run the bank's days up to the value date plus ``return_days``, then fetch the reports.

        Embedded only; against a real bank the days pass by themselves and ``poll``
        alone is called.
        """
        if self.sandbox is not None:
            bank = self.sandbox
            dates = [date.fromisoformat(m.execution_date) for m in self.store.manifests()]
            base = max([*dates, bank.business_date])
            bank.advance(bank.calendar.add_business_days(base, return_days))
        for _ in range(10):  # one poll fetches everything published; a bound, not a rule
            if not (await channel.poll()).reports:
                break

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


@dataclass
class Rails:
    """Provider setups, routing and (in embedded mode) the sandboxes behind them."""

    setups: list[ProviderSetup]
    router: Router
    retry: RetryPolicy
    sandboxes: dict[str, SandboxProvider] = field(default_factory=dict)
    treasury: TreasuryRail | None = None
    cash_clock: SandboxClock | None = None
    #: Settlement reports given as files, by rail: used instead of downloading that rail's.
    report_files: dict[str, list[ReportEntry]] = field(default_factory=dict)

    def wire_callbacks(self, handler: Callable[[str, httpx.Request], Awaitable[httpx.Response]]) -> None:
        """Deliver each sandbox's callbacks to ``handler(rail, request)`` (the client's).

        Wallets that settle at submit (the embedded default) get no callbacks. A replayed
        callback (one this process has verified before) is acknowledged, as
        :mod:`asxh_pay.receiver` answers it over HTTP: the provider stops resending and
        nothing changes.
        """
        for name, sandbox in self.sandboxes.items():
            if name in WALLET_RAILS and sandbox.settle_after_s <= 0:
                # Settled in the answer to the transfer itself: the callback would only repeat
                # it (and cost a signature check and a ledger write per payout).
                continue

            async def sink(request: httpx.Request, _name: str = name) -> httpx.Response:
                try:
                    return await handler(_name, request)
                except WebhookVerificationError as exc:
                    if exc.code == "replayed":
                        return httpx.Response(200, json={"ok": True, "duplicate": True})
                    raise

            sandbox.callback_sink = sink

    @contextlib.asynccontextmanager
    async def running(self) -> Any:
        """Run the sandboxes' settlement/callback loops for the duration of a block."""
        stop = asyncio.Event()
        tasks = [asyncio.create_task(s.run(interval_s=0.05, stop=stop)) for s in self.sandboxes.values()]
        try:
            yield self
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for s in self.sandboxes.values():
                await s.deliver_callbacks()
                s.flush_book()

    def begin_period(self, period: str) -> None:
        """Put the cash rail's clock at the start of the period's month (never back)."""
        if self.cash_clock is None:
            return
        year, month = (int(x) for x in period.split("-"))
        start = day_start(date(year, month, 1)) + 8 * 3600
        if self.cash_clock.now() < start:
            self.cash_clock.advance(start - self.cash_clock.now())

    async def pass_cash_window(self) -> bool:
        """Move the cash rail's clock past the last open payment window; True if it moved.

        Everything the simulated people and postmen do in the window happens on the way
        (pickups, no-shows, visits); each change is a signed callback to the client.
        """
        vnpost = self.sandboxes.get(VNPOST)
        if self.cash_clock is None or not isinstance(vnpost, VNPostSandbox):
            return False
        open_until = [
            r.window_to
            for r in vnpost.postal.values()
            if r.window_to is not None and r.state not in _CASH_FINAL
        ]
        if not open_until:
            return False
        target = day_start(max(open_until)) + 86_400 + 3600
        moved = False
        while self.cash_clock.now() < target:  # a day at a time: callbacks arrive in order
            self.cash_clock.advance(min(86_400.0, target - self.cash_clock.now()))
            vnpost.settle_due()
            await vnpost.deliver_callbacks()
            moved = True
        return moved

    async def deliver_callbacks(self) -> None:
        for s in self.sandboxes.values():
            s.settle_due()
            await s.deliver_callbacks()
            s.flush_book()

    def books(self) -> dict[str, dict[str, SandboxPayment]]:
        """The embedded sandboxes' own books, by rail (tests compare them with the reports)."""
        return {n: s.payments for n, s in self.sandboxes.items()}

    async def provider_reports(
        self, start: date, end: date
    ) -> tuple[dict[str, list[ReportEntry]], dict[str, str]]:
        """Each wallet and postal rail's settlement report for ``[start, end]``: (reports, failures).

        Downloaded through the rail's adapter (its address, its auth, its transport: the
        embedded sandbox's, or HTTP), unless given as files. A rail whose report cannot be
        had is named in ``failures`` with why: it is not reconciled, and the summary says so.
        """
        from asxh_pay.providers.reports import PROVIDERS, parse_report, report_request

        reports: dict[str, list[ReportEntry]] = {}
        failures: dict[str, str] = {}
        for setup in self.setups:
            name = setup.adapter.name
            if name not in PROVIDERS:
                continue
            if name in self.report_files:
                reports[name] = self.report_files[name]
                continue
            request = report_request(setup.adapter.base_url, start, end)
            transport = setup.transport
            try:
                async with httpx.AsyncClient(
                    transport=transport, timeout=max(setup.timeout_s, 60.0), trust_env=False
                ) as http:
                    response = await http.send(request, auth=setup.adapter.auth() or httpx.USE_CLIENT_DEFAULT)
                if response.status_code != 200:
                    raise ProviderProtocolError(f"answered {response.status_code}")
                reports[name] = parse_report(name, response.content)
            except (httpx.HTTPError, ProviderProtocolError) as exc:
                failures[name] = f"report not available ({type(exc).__name__}: {exc})"[:200]
        return reports, failures

    def close(self) -> None:
        for s in self.sandboxes.values():
            s.close()
        if self.treasury is not None:
            self.treasury.close()


_CASH_FINAL = (PostalState.PAID, PostalState.EXPIRED, PostalState.RETURNED, PostalState.REJECTED)


def routes() -> dict[str, str]:
    return {
        "bank": TREASURY,
        f"wallet:{VIETTEL_MONEY}": VIETTEL_MONEY,
        f"wallet:{MOMO}": MOMO,
        "postal_account": VNPOST,
        "cash_pickup": VNPOST,
        "cash_home": VNPOST,
    }


def _ec_key(path: Path | None) -> ec.EllipticCurvePrivateKey:
    """A key kept at ``path`` (made on first use), so that a resumed process signs alike."""
    if path is None:
        return generate_ec_key()
    if path.exists():
        key = load_private_key(path.read_bytes())
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key
    key = generate_ec_key()
    write_private_key(path, private_key_to_pem(key))
    return key


def treasury_rail(
    data_dir: Path | None,
    *,
    return_rate: float = 0.0,
) -> TreasuryRail:
    """The bank rail: adapter, batch store and (embedded) the bank sandbox, keys on disk."""
    tmp = None
    if data_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="asxh-treasury-"))
    root = data_dir if data_dir is not None else tmp
    assert root is not None
    keys = root / "sandbox" / "treasury-keys"
    client_key = _ec_key(keys / "client.pem" if data_dir is not None else None)
    bank_key = _ec_key(keys / "bank.pem" if data_dir is not None else None)
    sandbox = TreasurySandbox(
        clients={CLIENT_ID: (EcdsaVerifier(client_key.public_key()), DEBTOR_ACCOUNT)},
        bank_signer=EcdsaSigner(bank_key),
        business_date=datetime.now(VN_TZ).date(),
        return_rate=return_rate,
        return_after_days=1,
        book=root / "sandbox" / "treasury.sqlite" if data_dir is not None else None,
    )
    store = BatchStore(root / "treasury")
    config = TreasuryConfig(
        debtor=Party("Phòng Lao động - Thương binh và Xã hội huyện", DEBTOR_ACCOUNT, bank_bin="970415"),
        initiating_party="Phòng LĐTBXH huyện",
        client_id=CLIENT_ID,
        max_txs_per_file=FILE_SIZE,
    )
    adapter = TreasuryProvider(
        config,
        EcdsaSigner(client_key),
        base_url=TREASURY_SANDBOX_URL,
        bank_verifier=EcdsaVerifier(bank_key.public_key()),
        store=store,
    )
    retry = RetryPolicy(base_delay_s=0.005, max_delay_s=0.2, max_attempts=10, deadline_s=60)
    return TreasuryRail(adapter, store, sandbox, retry, sandbox.transport(), tmp)


def embedded_rails(
    data_dir: Path | None,
    *,
    cash_fallback: bool = True,
    faults: dict[str, FaultPlan] | None = None,
    latency_s: float = 0.0,
    cash: CashSimulation | None = None,
    bank_return_rate: float = 0.0,
) -> Rails:
    """The real adapters on their embedded sandboxes.

    ``data_dir`` None keeps the books in memory (tests that need no restart).
    ``cash`` decides who collects cash and which home visits fail (default: everyone
    comes, every visit succeeds); ``bank_return_rate`` the share of booked transfers
    the beneficiary's bank sends back a day later.
    """
    faults = faults or {}

    def book(name: str) -> Path | None:
        return data_dir / "sandbox" / f"{name}.db" if data_dir is not None else None

    cash_clock = SandboxClock(frozen=True)
    common: dict[str, Any] = {"latency_s": latency_s, "settle_after_s": 0.0}
    viettel = ViettelMoneySandbox(faults=faults.get(VIETTEL_MONEY), book=book(VIETTEL_MONEY), **common)
    momo = MomoSandbox(faults=faults.get(MOMO), book=book(MOMO), **common)
    vnpost = VNPostSandbox(
        faults=faults.get(VNPOST),
        book=book(VNPOST),
        clock=cash_clock,
        simulation=cash or CashSimulation(auto=True),
        **common,
    )
    bank = treasury_rail(data_dir, return_rate=bank_return_rate)

    def setup(adapter: Any, transport: httpx.AsyncBaseTransport | None, name: str) -> ProviderSetup:
        return ProviderSetup(
            adapter,
            transport=transport,
            concurrency=CONCURRENCY[name],
            retry_budget=RetryBudget(ratio=1.0, min_per_s=200, capacity=500),
        )

    setups = [
        setup(bank.adapter, bank.transport, TREASURY),
        setup(viettel_money_sandbox_provider(), viettel.transport(), VIETTEL_MONEY),
        setup(momo_sandbox_provider(), momo.transport(), MOMO),
        setup(vnpost_sandbox_provider(), vnpost.transport(), VNPOST),
    ]
    router = Router(routes(), fallback_provider=VNPOST if cash_fallback else None)
    retry = RetryPolicy(base_delay_s=0.005, max_delay_s=0.2, max_attempts=10, deadline_s=60)
    sandboxes: dict[str, SandboxProvider] = {VIETTEL_MONEY: viettel, MOMO: momo, VNPOST: vnpost}
    return Rails(setups, router, retry, sandboxes, bank, cash_clock)
