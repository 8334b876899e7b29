"""The monthly payroll run: lists in, money out, reports up.

One concept per module:

* :mod:`~asxh_pay.payroll.lists`: read the commune lists (CSV, XLSX) into payout requests,
  with a rejected-rows report (row, column, reason);
* :mod:`~asxh_pay.payroll.placement`: every row in a 2025 commune of the run's paying unit
  (pre-2025 codes mapped, split communes held; :mod:`asxh_pay.units`), programmes known
  (:mod:`asxh_pay.programmes`);
* :mod:`~asxh_pay.payroll.dedupe`: one payout per beneficiary, programme and period;
* :mod:`~asxh_pay.payroll.registry`: the National Population Database check (identity,
  alive, name and date of birth) and account-owner matching;
* :mod:`~asxh_pay.payroll.approval`: prepare -> freeze -> approve (maker-checker, Ed25519);
* :mod:`~asxh_pay.payroll.rails`: the one place where providers are built;
* :mod:`~asxh_pay.payroll.execute`: pay the approved run, resumable, with cash fallback;
* :mod:`~asxh_pay.payroll.reports`: commune -> province reports from the ledger;
* :mod:`~asxh_pay.payroll.books`: compare the ledger with the providers' settlement reports;
* :mod:`~asxh_pay.payroll.demo` and :mod:`~asxh_pay.payroll.commands`: the ``asxh-pay`` command.
"""
