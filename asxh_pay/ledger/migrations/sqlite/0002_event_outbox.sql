-- asxh_pay ledger, version 2: the outbox of payout events for the integrator's backend.
-- Every status event gets an outbox row in the same transaction (the trigger), so an event
-- can never be recorded and then forgotten by the sender; the sender keeps its delivery
-- state here (attempts, next try, delivered) and the backend never has to poll.
CREATE TABLE event_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    payout_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      REAL NOT NULL DEFAULT 0,   -- Unix seconds: not before
    delivered_at TEXT,
    last_error   TEXT,
    UNIQUE (payout_id, seq)
);
CREATE INDEX event_outbox_due ON event_outbox (next_at, id) WHERE delivered_at IS NULL;
CREATE TRIGGER events_to_outbox AFTER INSERT ON events
BEGIN INSERT INTO event_outbox (payout_id, seq) VALUES (NEW.payout_id, NEW.seq); END;
