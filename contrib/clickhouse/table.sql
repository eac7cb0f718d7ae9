-- ClickHouse: the virtdiag records, one row per line, filled by an INSERT ... FORMAT
-- JSONEachRow (contrib/fluent-bit/virtdiag.yaml sends exactly that over HTTP). The
-- columns named like the record's top-level keys are filled from them; the nested
-- objects are kept as JSON text (input_format_json_read_objects_as_strings) and read
-- with the JSONExtract functions. Keys the table does not name are skipped
-- (input_format_skip_unknown_fields, on by default).
CREATE DATABASE IF NOT EXISTS virtdiag;

CREATE TABLE IF NOT EXISTS virtdiag.records
(
    kind     LowCardinality(String),
    schema   UInt8,
    ts       DateTime64(3, 'UTC'),
    host     LowCardinality(String),
    seq      Nullable(UInt64),
    domain   Nullable(String),   -- {"name","uuid","id","state","reason"}
    nova     Nullable(String),
    cpu      Nullable(String),
    memory   Nullable(String),
    disks    Nullable(String),   -- JSON array
    nics     Nullable(String),   -- JSON array
    collect  Nullable(String),
    event    Nullable(String),   -- agent and event lines
    domain_uuid String MATERIALIZED JSONExtractString(ifNull(domain, '{}'), 'uuid'),
    domain_name String MATERIALIZED JSONExtractString(ifNull(domain, '{}'), 'name'),
    cpu_pct  Nullable(Float64) MATERIALIZED JSONExtract(ifNull(cpu, '{}'), 'utilisation_pct', 'Nullable(Float64)')
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (host, kind, domain_uuid, ts)
TTL toDateTime(ts) + INTERVAL 90 DAY
SETTINGS index_granularity = 8192;

-- The HTTP insert, with its settings as URL parameters (Fluent Bit's uri):
--   /?date_time_input_format=best_effort&input_format_json_read_objects_as_strings=1
--    &input_format_json_read_arrays_as_strings=1
--    &query=INSERT INTO virtdiag.records FORMAT JSONEachRow
