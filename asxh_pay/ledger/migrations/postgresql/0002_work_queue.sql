-- asxh_pay ledger on PostgreSQL, version 2: the work queue that many workers share.
-- Workers claim unfinished payouts with FOR UPDATE SKIP LOCKED under a lease; this
-- partial index holds only the unfinished ones, so it stays small as a run completes
-- and a claim never scans the payouts already paid.
CREATE INDEX payouts_ready ON payouts (run_id, id)
    WHERE status IN ('created', 'submitted', 'unknown', 'processing');
CREATE INDEX payouts_ready_any_run ON payouts (id)
    WHERE status IN ('created', 'submitted', 'unknown', 'processing');
