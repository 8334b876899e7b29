"""Three-way reconciliation: what we instructed, what the provider says, what the bank booked.

Why three ways: the ledger (what was instructed and what we believe happened), the
provider's status reports (pain.002, or a provider's status list) and the bank
statement (camt.053/054 entries on the paying account) are written by three
different systems. Any two can agree while the third shows the problem: a payout
the provider reported ``ACSC`` that never left the account, a debit booked twice
for one EndToEndId (paid twice, *trung linh*), a transfer returned days after we
recorded it as paid. Every difference is a *break* with its evidence (file names,
entry references, amounts, statuses), so a person can act on it.

Matching is by key: for each payout its EndToEndId (derived from the idempotency
key, see :func:`asxh_pay.providers.treasury.end_to_end_id`), its idempotency key
and its provider reference; any rail whose reports carry one of these reconciles
here. The same booking seen in an intraday camt.054 and in the end-of-day camt.053
is counted once (same account-servicer reference); two *different* references
debiting one EndToEndId are a double payment.

The package: :mod:`~asxh_pay.reconcile.model` (entries, statuses, the one
:class:`Break` type of every rail), :mod:`~asxh_pay.reconcile.loading` (report files)
and :mod:`~asxh_pay.reconcile.matching` (the ledger against them); the command
``asxh-pay reconcile FILE...`` lives with the CLI. The public names are importable
from here.

Categories (``explained`` ones need no person):

=====================  =========  ==================================================
category               explained  meaning
=====================  =========  ==================================================
matched                yes        ledger, reports and statement agree
not_paid               yes        ledger failed/cancelled and nothing was booked
in_flight              yes        accepted, not booked yet, nothing contradicts
ledger_behind          if applied booked (or rejected) but the ledger lagged: applied
late_return            if applied a return after ``succeeded``: applied as ``returned``
                                  (source ``reconciliation``), so the cash fallback
                                  can pick it up
missing_on_statement   no         ledger says paid or returned, statement shows nothing
unknown_on_statement   no         a debit or return the ledger does not know
duplicate_debit        no         two or more debits for one payout: paid twice
amount_mismatch        no         booked (or pain.002 original) amount differs from the
                                  instructed amount
status_disagreement    no         e.g. ledger failed but the bank booked the debit
unknown_report         no         a status report about a transfer we never instructed
return_mismatch        no         a return of another amount than was sent (partial,
                                  zero, over), of unknown amount, or several returns
wrong_rail             no         a debit or return naming a payout of another rail, or
                                  booked on an account that is not the rail's debtor
                                  account
unexplained_credit     no         a credit naming a payout that the statement does not
                                  call a return (no ``RtrInf``, no return code)
file_rejected          no         a pain.002 rejecting a whole file or payment block
                                  without transaction details: none of it was paid
=====================  =========  ==================================================

What a statement may change (``apply=True``). The bank statement belongs to one
rail (``statement_rail``, the bank/Treasury rail) and one debtor account
(``debtor_accounts``). A booking acts on a payout only when all hold: the payout
was sent on that rail; it is inside the run/provider scope given; the entry is
booked (``BOOK``) on one of those debtor accounts; and its amount is the amount
sent, exactly. Entries not booked (``PDNG``, ``INFO``) are not matched at all. A
return is a credit the statement marks as a return (``RtrInf``, an ``RRTN`` bank
transaction code, or a proprietary code the caller lists in ``return_codes``),
never a credit that merely carries an EndToEndId. Everything else is a break for
a person and changes nothing: a 1 VND "return" on a wallet payout must not
release a full cash payment. A bank pain.002 likewise changes only payouts of
that rail, and nothing outside the scope given.
"""

from __future__ import annotations

from asxh_pay.reconcile.loading import dedupe_entries, load_files
from asxh_pay.reconcile.matching import default_keys, reconcile
from asxh_pay.reconcile.model import (
    COLUMNS,
    STATEMENT_RAIL,
    Break,
    Category,
    ProviderStatus,
    ReconciliationReport,
    StatementEntry,
    mask_account,
)

__all__ = [
    "COLUMNS",
    "STATEMENT_RAIL",
    "Break",
    "Category",
    "ProviderStatus",
    "ReconciliationReport",
    "StatementEntry",
    "dedupe_entries",
    "default_keys",
    "load_files",
    "mask_account",
    "reconcile",
]
