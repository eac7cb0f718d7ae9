-- The central store of virtdiag records in PostgreSQL (12 or later; tested with 15):
-- one row per spool line, the line itself in `record` (jsonb, the agent's types kept),
-- its time, host and kind in columns for the indexes. Written by the central rsyslog
-- of contrib/rsyslog-relp/central.conf. Run once: psql -d virtdiag -f schema.sql
CREATE TABLE IF NOT EXISTS virtdiag_records (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts          timestamptz NOT NULL,              -- record.ts: the cycle's start
    host        text NOT NULL,                     -- record.host
    kind        text NOT NULL,                     -- domain, cycle, agent, event
    record      jsonb NOT NULL,                    -- the line, as the agent wrote it
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Per host over time (the dashboards, "who stopped reporting"), and per domain.
CREATE INDEX IF NOT EXISTS virtdiag_records_host_kind_ts
    ON virtdiag_records (host, kind, ts);
CREATE INDEX IF NOT EXISTS virtdiag_records_ts
    ON virtdiag_records (ts);
CREATE INDEX IF NOT EXISTS virtdiag_records_domain_uuid_ts
    ON virtdiag_records ((record #>> '{domain,uuid}'), ts)
    WHERE kind = 'domain';
