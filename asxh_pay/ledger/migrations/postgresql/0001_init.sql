-- asxh_pay ledger on PostgreSQL, version 1: the same tables as the SQLite store.
-- payouts: one row per payout, its current state; events: append-only hash-chained history.
CREATE TABLE payouts (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL CONSTRAINT payouts_idempotency_key_unique UNIQUE, -- last line of defence
    payload_hash     TEXT NOT NULL,
    programme        TEXT NOT NULL,
    period           TEXT NOT NULL,
    beneficiary_cccd TEXT NOT NULL,
    parent_id        TEXT REFERENCES payouts(id),
    lineage_depth    INTEGER NOT NULL DEFAULT 0,
    run_id           TEXT,
    destination_kind TEXT NOT NULL,
    amount           BIGINT NOT NULL CHECK (amount > 0),
    status           TEXT NOT NULL CHECK (status IN ('created', 'submitted', 'processing', 'unknown',
                                                     'succeeded', 'failed', 'cancelled', 'returned')),
    provider         TEXT,
    provider_ref     TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    failure_reason   TEXT,
    failure_detail   TEXT,
    request_json     TEXT NOT NULL,          -- exact text: the genesis hash is computed over it
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    event_count      INTEGER NOT NULL,
    last_event_hash  TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ
);
-- One root payout per entitlement, whatever key a caller chose.
CREATE UNIQUE INDEX payouts_entitlement ON payouts (programme, period, beneficiary_cccd)
    WHERE parent_id IS NULL;
CREATE INDEX payouts_status ON payouts (status, id);
CREATE INDEX payouts_run ON payouts (run_id, id);
CREATE INDEX payouts_parent ON payouts (parent_id);
CREATE INDEX payouts_provider_ref ON payouts (provider, provider_ref);

CREATE TABLE events (
    payout_id    TEXT NOT NULL REFERENCES payouts(id),
    seq          INTEGER NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    source       TEXT NOT NULL,
    reason       TEXT,
    detail       TEXT,
    provider     TEXT,
    provider_ref TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (payout_id, seq)
);

CREATE TABLE callbacks (
    provider    TEXT NOT NULL,
    callback_id TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, callback_id)
);

-- The history is append-only: refuse edits, deletions and truncation at the database level too.
CREATE FUNCTION asxh_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger events are append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION asxh_events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION asxh_events_append_only();
