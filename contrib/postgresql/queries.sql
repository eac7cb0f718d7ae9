-- Example queries on the virtdiag store (schema.sql). Each runs as it is with psql;
-- values in :'name' form are psql variables (psql -v domain=web-1 -f ...), with the
-- defaults below. tests/fleet_relp_pgsql.rs runs every query on a fleet's records.
\if :{?domain}
\else
  \set domain 'instance-0000002a'
\endif
\if :{?silence}
\else
  \set silence '1 minute'
\endif

-- name: busiest_domains_per_host
-- The five domains of each host with the highest mean CPU over the last hour
-- (100 = one host CPU busy), with their peak and their disk and network traffic.
SELECT host, domain, mean_cpu_pct, peak_cpu_pct, disk_bytes_per_s, net_bytes_per_s
FROM (
    SELECT r.host,
           r.record #>> '{domain,name}' AS domain,
           round(avg((r.record #>> '{cpu,utilisation_pct}')::numeric), 1) AS mean_cpu_pct,
           round(max((r.record #>> '{cpu,utilisation_pct}')::numeric), 1) AS peak_cpu_pct,
           round(avg(io.disk_bytes_per_s)) AS disk_bytes_per_s,
           round(avg(io.net_bytes_per_s)) AS net_bytes_per_s,
           rank() OVER (PARTITION BY r.host
                        ORDER BY avg((r.record #>> '{cpu,utilisation_pct}')::numeric)
                        DESC NULLS LAST, r.record #>> '{domain,name}') AS place
    FROM virtdiag_records r
    CROSS JOIN LATERAL (
        SELECT (SELECT sum((d ->> 'read_bytes_per_s')::numeric)
                     + sum((d ->> 'write_bytes_per_s')::numeric)
                FROM jsonb_array_elements(r.record -> 'disks') d) AS disk_bytes_per_s,
               (SELECT sum((n ->> 'rx_bytes_per_s')::numeric)
                     + sum((n ->> 'tx_bytes_per_s')::numeric)
                FROM jsonb_array_elements(r.record -> 'nics') n) AS net_bytes_per_s
    ) io
    WHERE r.kind = 'domain' AND r.ts > now() - interval '1 hour'
    GROUP BY r.host, r.record #>> '{domain,name}'
) ranked
WHERE place <= 5
ORDER BY host, place;

-- name: domain_over_time
-- One domain's CPU and disks per minute over the last day: mean CPU, the mean read and
-- write latency over its disks (milliseconds per request completed), and operations
-- and bytes per second summed over its disks.
SELECT date_trunc('minute', r.ts) AS minute,
       r.host,
       round(avg((r.record #>> '{cpu,utilisation_pct}')::numeric), 1) AS cpu_pct,
       round(avg(io.read_latency_ms), 2) AS read_latency_ms,
       round(avg(io.write_latency_ms), 2) AS write_latency_ms,
       round(avg(io.read_ops_per_s), 1) AS read_ops_per_s,
       round(avg(io.write_ops_per_s), 1) AS write_ops_per_s,
       round(avg(io.read_bytes_per_s)) AS read_bytes_per_s,
       round(avg(io.write_bytes_per_s)) AS write_bytes_per_s
FROM virtdiag_records r
CROSS JOIN LATERAL (
    SELECT avg((d ->> 'read_latency_ms')::numeric) AS read_latency_ms,
           avg((d ->> 'write_latency_ms')::numeric) AS write_latency_ms,
           sum((d ->> 'read_ops_per_s')::numeric) AS read_ops_per_s,
           sum((d ->> 'write_ops_per_s')::numeric) AS write_ops_per_s,
           sum((d ->> 'read_bytes_per_s')::numeric) AS read_bytes_per_s,
           sum((d ->> 'write_bytes_per_s')::numeric) AS write_bytes_per_s
    FROM jsonb_array_elements(r.record -> 'disks') d
) io
WHERE r.kind = 'domain'
  AND r.record #>> '{domain,name}' = :'domain'
  AND r.ts > now() - interval '1 day'
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: silent_hosts
-- Hosts that reported within the last week but wrote no cycle line for :'silence',
-- with the agent's last own event (a `stopping` is a clean stop; anything else, look).
SELECT c.host,
       max(c.ts) AS last_cycle,
       date_trunc('second', now() - max(c.ts)) AS silent_for,
       (SELECT a.record ->> 'event'
        FROM virtdiag_records a
        WHERE a.host = c.host AND a.kind = 'agent'
        ORDER BY a.ts DESC
        LIMIT 1) AS last_agent_event
FROM virtdiag_records c
WHERE c.kind = 'cycle' AND c.ts > now() - interval '7 days'
GROUP BY c.host
HAVING max(c.ts) < now() - :'silence'::interval
ORDER BY last_cycle;

-- name: missing_cycles
-- Cycle numbers missing per host over the last day. `seq` goes up by one per cycle and
-- continues across agent restarts, so a gap means lines were lost on the way, or that
-- the agent itself dropped a cycle (its next cycle line then says so in
-- spool_dropped_cycles). Empty when every cycle arrived.
SELECT host, seq + 1 AS first_missing, next_seq - 1 AS last_missing
FROM (
    SELECT host,
           (record ->> 'seq')::bigint AS seq,
           lead((record ->> 'seq')::bigint)
               OVER (PARTITION BY host ORDER BY (record ->> 'seq')::bigint) AS next_seq
    FROM virtdiag_records
    WHERE kind = 'cycle' AND ts > now() - interval '1 day'
) numbered
WHERE next_seq > seq + 1
ORDER BY host, first_missing;

-- name: incomplete_cycles
-- Cycles of the last day with fewer domain rows than their cycle line says the agent
-- wrote (`domains`): domain lines lost on the way, which missing_cycles does not see.
-- A cycle's domain lines share its host, ts and seq. Empty when every line arrived.
SELECT c.host, (c.record ->> 'seq')::bigint AS seq,
       (c.record ->> 'domains')::int AS written, count(d.id) AS arrived
FROM virtdiag_records c
LEFT JOIN virtdiag_records d
       ON d.host = c.host AND d.kind = 'domain' AND d.ts = c.ts
      AND d.record -> 'seq' = c.record -> 'seq'
WHERE c.kind = 'cycle' AND c.ts > now() - interval '1 day'
GROUP BY c.id
HAVING count(d.id) < (c.record ->> 'domains')::int
ORDER BY c.host, seq;
