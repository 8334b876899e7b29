"""The one place where the payroll's payment rails are built.

Why one module: the real adapters (State Treasury / ISO 20022, Viettel Money, MoMo,
VNPost) are being written separately. Everything else in the payroll asks this module
for a :class:`Rails` (ProviderSetups + Router + the in-process sandboxes), so swapping
in a real adapter is a change here and nowhere else.

Routing (per the recipient's chosen method):

=================  ======================================================
bank               ``treasury`` (Treasury + the office's bank account)
wallet:<provider>  the wallet named in the row (``viettel_money``, ``momo``)
postal_account     ``vnpost``
cash_pickup/home   ``vnpost`` (post office, commune payment point, home)
fallback           ``vnpost``: an electronic payout that cannot be made
                   (no account, final decline, returned) is paid in cash
=================  ======================================================

The embedded sandboxes keep their books in SQLite files (``<data>/sandbox/<rail>.db``),
written before each answer leaves the sandbox. Why: a sandbox plays the other side of
the payment, and the other side does not forget a payment because our process died.
Resume-after-kill is only proven if the books survive the kill, and ``asxh-pay
reconcile`` (another process) compares the ledger with those books.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from asxh_pay.client import ProviderSetup
from asxh_pay.providers.generic import GenericProvider
from asxh_pay.retry import RetryBudget, RetryPolicy
from asxh_pay.routing import Router
from asxh_pay.sandbox.base import FaultPlan, Operation, PaymentState, SandboxPayment
from asxh_pay.sandbox.generic import GenericSandbox

TREASURY, VIETTEL_MONEY, MOMO, VNPOST = "treasury", "viettel_money", "momo", "vnpost"
RAIL_NAMES = (TREASURY, VIETTEL_MONEY, MOMO, VNPOST)
WALLET_RAILS = (VIETTEL_MONEY, MOMO)

#: Per-rail concurrency (requests in flight); the sum is what a run can push at once.
CONCURRENCY = {TREASURY: 64, VIETTEL_MONEY: 32, MOMO: 32, VNPOST: 48}


class BookedSandbox(GenericSandbox):
    """A :class:`GenericSandbox` whose books (payments, account holders) live in SQLite."""

    def __init__(self, name: str, book: Path | None, **kwargs: Any) -> None:
        super().__init__(callback_url=f"http://127.0.0.1/callbacks/{name}", **kwargs)
        self.name = name
        self._book: sqlite3.Connection | None = None
        self._in_pay = False
        if book is not None:
            book.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(book), isolation_level=None, check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
            db.execute(
                "CREATE TABLE IF NOT EXISTS payments (key TEXT PRIMARY KEY, ref TEXT, amount INTEGER, "
                "body_hash TEXT, attributes TEXT, state TEXT, outcome TEXT, reason_code TEXT, "
                "received_at REAL, settle_at REAL, settled_at REAL)"
            )
            db.execute("CREATE TABLE IF NOT EXISTS holders (ident TEXT PRIMARY KEY, name TEXT)")
            self._book = db
            self._load()

    def _load(self) -> None:
        assert self._book is not None
        for (
            key,
            ref,
            amount,
            body_hash,
            attrs,
            state,
            outcome,
            code,
            received,
            settle_at,
            settled,
        ) in self._book.execute("SELECT * FROM payments ORDER BY ref"):
            payment = SandboxPayment(
                key=key,
                ref=ref,
                amount=amount,
                body_hash=body_hash,
                attributes=json.loads(attrs),
                state=PaymentState(state),
                received_at=received,
                settle_at=settle_at,
                outcome=PaymentState(outcome),
                reason_code=code,
                settled_at=settled,
            )
            self.payments[key] = payment
            self.by_ref[ref] = payment
            self._seq = max(self._seq, int(ref[3:]) if ref[3:].isdigit() else 0)
            if payment.state is PaymentState.PROCESSING:
                self._seq += 1
                self._due.append((settle_at, self._seq, key))
        self._due.sort()
        self.holders.update(dict(self._book.execute("SELECT ident, name FROM holders").fetchall()))

    def _save(self, p: SandboxPayment) -> None:
        if self._book is None:
            return
        self._book.execute(
            "INSERT OR REPLACE INTO payments VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                p.key,
                p.ref,
                p.amount,
                p.body_hash,
                json.dumps(p.attributes, default=str),
                p.state.value,
                p.outcome.value,
                p.reason_code,
                p.received_at,
                p.settle_at,
                p.settled_at,
            ),
        )

    def set_holder(self, ident: str, name: str) -> None:
        """Register the name an account/wallet belongs to (answered by inquiries)."""
        self.holders[ident] = name
        if self._book is not None:
            self._book.execute("INSERT OR REPLACE INTO holders VALUES (?, ?)", (ident, name))

    def _pay(self, op: Operation) -> httpx.Response:
        self._in_pay = True
        try:
            response = super()._pay(op)
        finally:
            self._in_pay = False
        if op.key is not None and op.key in self.payments:
            self._save(self.payments[op.key])  # on disk before the answer leaves
        return response

    def _set_state(self, payment: SandboxPayment, state: PaymentState) -> None:
        super()._set_state(payment, state)
        if not self._in_pay:
            self._save(payment)

    async def deliver_callbacks(self, *, concurrency: int = 256) -> int:
        """Deliver queued callbacks concurrently, as a provider's webhook workers do.

        Why not one by one (the base class): each callback costs the receiver a durable
        ledger write; delivered serially, 20,000 callbacks are 20,000 disk syncs in a row.
        """
        if self.callback_sink is None or not self._pending_callbacks:
            return 0
        batch, self._pending_callbacks = self._pending_callbacks, []
        if len(batch) > 1 and self._chance(self.faults.reorder_callbacks):
            self.fault_counts["reorder_callbacks"] += 1
            self._rng.shuffle(batch)
        sink = self.callback_sink

        async def one(req: httpx.Request) -> None:
            try:
                await sink(req)
            except Exception:  # the receiver failed: the provider retries later
                self._pending_callbacks.append(req)
                return
            self.callbacks_sent += 1

        for i in range(0, len(batch), concurrency):
            await asyncio.gather(*(one(r) for r in batch[i : i + concurrency]))
        return len(batch)

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
            self._book = None


@dataclass
class Rails:
    """Provider setups, routing and (in embedded mode) the sandboxes behind them."""

    setups: list[ProviderSetup]
    router: Router
    retry: RetryPolicy
    sandboxes: dict[str, BookedSandbox] = field(default_factory=dict)

    def wire_callbacks(self, handler: Callable[[str, httpx.Request], Awaitable[httpx.Response]]) -> None:
        """Deliver each sandbox's callbacks to ``handler(rail, request)`` (the client's)."""
        for name, sandbox in self.sandboxes.items():

            def sink(request: httpx.Request, _name: str = name) -> Awaitable[httpx.Response]:
                return handler(_name, request)

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

    def close(self) -> None:
        for s in self.sandboxes.values():
            s.close()


def routes() -> dict[str, str]:
    return {
        "bank": TREASURY,
        f"wallet:{VIETTEL_MONEY}": VIETTEL_MONEY,
        f"wallet:{MOMO}": MOMO,
        "postal_account": VNPOST,
        "cash_pickup": VNPOST,
        "cash_home": VNPOST,
    }


def embedded_rails(
    data_dir: Path | None,
    *,
    cash_fallback: bool = True,
    settle_after_s: float = 0.0,
    faults: dict[str, FaultPlan] | None = None,
    latency_s: float = 0.0,
) -> Rails:
    """The sandbox rails: four :class:`BookedSandbox` behind four ``GenericProvider``.

    ``data_dir`` None keeps the books in memory (tests that need no restart).
    """
    setups: list[ProviderSetup] = []
    sandboxes: dict[str, BookedSandbox] = {}
    for name in RAIL_NAMES:
        book = data_dir / "sandbox" / f"{name}.db" if data_dir is not None else None
        sandbox = BookedSandbox(
            name, book, settle_after_s=settle_after_s, faults=(faults or {}).get(name), latency_s=latency_s
        )
        sandboxes[name] = sandbox
        setups.append(
            ProviderSetup(
                GenericProvider(f"https://{name}.sandbox.invalid", name=name),
                transport=sandbox.transport(),
                concurrency=CONCURRENCY[name],
                retry_budget=RetryBudget(ratio=1.0, min_per_s=200, capacity=500),
            )
        )
    router = Router(routes(), fallback_provider=VNPOST if cash_fallback else None)
    retry = RetryPolicy(base_delay_s=0.005, max_delay_s=0.2, max_attempts=10, deadline_s=60)
    return Rails(setups, router, retry, sandboxes)
