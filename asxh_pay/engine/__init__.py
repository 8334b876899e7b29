"""The core engine: every send, every retry and every apply, for every rail.

* :mod:`asxh_pay.engine.sending`: the one send-and-retry loop (:class:`Lane`).
* :mod:`asxh_pay.engine.applying`: the one apply step, with hooks (:class:`Applier`).
* :mod:`asxh_pay.engine.batches`: grouping within an adapter's declared limits, and
  batch-per-request sends (MoMo's batch API).
* :mod:`asxh_pay.engine.treasury`: the file-per-batch path of the bank rail (pain.001
  files, write-ahead store, pain.002 / camt polling).
* :mod:`asxh_pay.engine.manifests`: VNPost's manifests per commune and payment point.

Adapters (:mod:`asxh_pay.providers`) only build and parse; they never import this package.
"""
