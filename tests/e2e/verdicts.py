#!/usr/bin/env python3
"""The verdicts on the real bed: a guest paused by ENOSPC, a job's progress, a guest
panic, a stopped QEMU, the host's totals and QEMU's overhead, and a stopped agent, each
checked in the agent's records and, through a real Prometheus and Alertmanager fed by the
agent's textfile, as the alert reaching a webhook receiver.

tests/e2e/verdicts.sh sets up the bed with the guests v1 (--enospc 30: paused by its own
writes), v2 (--panic: panics some seconds after boot) and v3 (plain), runs this file and
takes the bed down. The agent runs as nobody on the read-only socket. node_exporter,
Prometheus and Alertmanager (Debian's packages) listen on 127.0.0.1 only, Alertmanager
without clustering; the receiver is a thread of this script. The last line is
"verdicts: N passed, N failed". Standard library only (and e2e.py's helpers).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402 - the bed's helpers
from e2e import Agent, BED_DIR, URI_RO, WORK, ROOT, run, virsh, wait_until, ts  # noqa: E402

RULES = os.path.join(ROOT, "contrib", "prometheus", "virtdiag-alerts.yml")
DASHBOARD = os.path.join(ROOT, "contrib", "grafana", "virtdiag.json")
EVAL_S = 2.0
SCRAPE_S = 1.0
GROUP_WAIT_S = 1.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()


class Receiver:
    """Alertmanager's webhook target: every firing alert with when it arrived."""

    def __init__(self):
        self.alerts = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time()
                for alert in json.loads(body).get("alerts", []):
                    if alert.get("status") == "firing":
                        outer.alerts.append((now, alert["labels"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def first(self, alertname, **labels):
        for at, got in self.alerts:
            if got.get("alertname") == alertname and all(got.get(k) == v for k, v in labels.items()):
                return at, got
        return None


class Stack:
    """node_exporter (textfile collector only), Prometheus with the alert rules, and
    Alertmanager sending to the receiver: loopback only, stopped by their pids."""

    def __init__(self, textdir):
        self.dir = os.path.join(WORK, "prometheus")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.receiver = Receiver()
        self.procs = []
        self.node_port, self.prom_port, self.am_port = free_port(), free_port(), free_port()
        self.start("prometheus-node-exporter", [
            f"--web.listen-address=127.0.0.1:{self.node_port}", "--collector.disable-defaults",
            "--collector.textfile", f"--collector.textfile.directory={textdir}"])
        am_config = os.path.join(self.dir, "alertmanager.yml")
        with open(am_config, "w") as f:
            f.write(f"""route:
  receiver: hook
  group_by: ['alertname', 'domain']
  group_wait: {GROUP_WAIT_S:g}s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: 'http://127.0.0.1:{self.receiver.port}/'
        send_resolved: false
""")
        self.start("prometheus-alertmanager", [
            f"--config.file={am_config}", f"--storage.path={os.path.join(self.dir, 'am')}",
            f"--web.listen-address=127.0.0.1:{self.am_port}", "--cluster.listen-address="])
        prom_config = os.path.join(self.dir, "prometheus.yml")
        with open(prom_config, "w") as f:
            f.write(f"""global: {{scrape_interval: {SCRAPE_S:g}s, evaluation_interval: {EVAL_S:g}s}}
rule_files: ['{RULES}']
alerting:
  alertmanagers:
    - static_configs: [{{targets: ['127.0.0.1:{self.am_port}']}}]
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ['127.0.0.1:{self.node_port}']}}]
""")
        self.start("prometheus", [
            f"--config.file={prom_config}", f"--storage.tsdb.path={os.path.join(self.dir, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{self.prom_port}"])
        wait_until("Prometheus ready", 30, lambda: "Ready" in http_get(self.prom_port, "/-/ready"))
        wait_until("Alertmanager ready", 30, lambda: http_get(self.am_port, "/-/ready") is not None)
        self.ready_at = time.time()

    def start(self, name, args):
        log = open(os.path.join(self.dir, f"{name}.log"), "w")
        self.procs.append(subprocess.Popen([name, *args], stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, cwd=self.dir))

    def query(self, expr):
        import urllib.parse
        body = http_get(self.prom_port, "/api/v1/query?query=" + urllib.parse.quote(expr))
        doc = json.loads(body)
        assert doc["status"] == "success", body
        return doc["data"]["result"]

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def written_at(agent, record):
    """When the record's cycle ended (epoch s): its start plus its duration, from the cycle
    line; the textfile is written right after."""
    cycle = [c for c in agent.cycles() if c["seq"] == record["seq"]][0]
    return ts(cycle["ts"]) + cycle["duration_ms"] / 1000.0


class Verdicts(e2e.Suite):
    """The checks; reporting (and E2E_SKIP) as in e2e.py's suite."""

    def __init__(self, agent, stack):
        super().__init__()
        self.agent = agent
        self.a, self.s = agent, stack

    def alert_delay(self, alertname, since, budget, **labels):
        """Waits for the alert at the receiver; returns its delay after `since` (epoch s),
        or after the stack was ready for a condition older than the stack."""
        since = max(since, self.s.ready_at)
        at, _ = wait_until(f"{alertname} at the receiver", budget + 30,
                           lambda: self.s.receiver.first(alertname, **labels), interval=0.2)
        delay = at - since
        assert delay <= budget, f"{alertname} reached the receiver {delay:.1f} s after its condition (budget {budget:.0f} s)"
        return delay

    def budget(self, for_s=0.0):
        """The rule's `for`, then two evaluation intervals, a scrape and Alertmanager's
        group wait, and 1 s for the processes and the webhook."""
        return for_s + 2 * EVAL_S + SCRAPE_S + GROUP_WAIT_S + 1.0

    # ---------------------------------------------------------------------- the proofs
    def enospc(self):
        a = self.a

        def paused():
            r = a.records(a.last_seq(), "v1")
            return r and r[0]["domain"]["reason"] == "ioerror" and r[0]

        rec = wait_until("v1 paused by ENOSPC in a record", 120, paused)
        vdb = [d for d in rec["disks"] if d["dev"] == "vdb"][0]
        state = virsh("domstate", "--reason", "v1").strip()
        blkerror = virsh("domblkerror", "v1").strip()
        assert rec["domain"]["state"] == "paused", rec["domain"]
        assert vdb["error"] == "no_space", f"vdb error {vdb['error']!r} (virsh domblkerror: {blkerror})"
        assert "I/O error" in state and "no space" in blkerror, f"{state}; {blkerror}"
        others = [d["dev"] for d in rec["disks"] if d["dev"] != "vdb" and d["error"] is not None]
        assert not others, f"errors on other disks: {others}"
        first = min((r for r in a.records(name="v1") if r["domain"]["reason"] == "ioerror"),
                    key=lambda r: r["seq"])
        delay = self.alert_delay("DomainPausedOnIOError", written_at(a, first), self.budget(), domain="v1")
        return (f"record: paused/ioerror, vdb error no_space (virsh: {state}; {blkerror}); "
                f"DomainPausedOnIOError at the receiver {delay:.1f} s after the first such record")

    def dump_job(self):
        """A non-live memory-only dump into a FIFO read slowly: the job's progress in the
        records lies between `virsh domjobinfo` readings taken around a `collect`."""
        a = self.a
        fifo = os.path.join(BED_DIR, "vm", "v3.dump")
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo, 0o600)
        fast = threading.Event()
        got = [0]

        def reader():
            with open(fifo, "rb") as f:
                while True:
                    chunk = f.read(64 << 10 if not fast.is_set() else 8 << 20)
                    if not chunk:
                        return
                    got[0] += len(chunk)
                    if not fast.is_set():
                        time.sleep(0.05)  # about 1.3 MB/s

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        dump = subprocess.Popen(["virsh", "-q", "-c", e2e.URI, "dump", "--memory-only", "v3", fifo],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            def processed():
                # libvirt 9.0 gives a dump's memory_* only; data is memory plus disks.
                out = virsh("domjobinfo", "v3", "--rawstats", check=False)
                fields = dict(re.findall(r"^(\w+):\s*(\d+)$", out, re.M))
                if "data_processed" in fields:
                    return int(fields["data_processed"])
                if "memory_processed" in fields or "disk_processed" in fields:
                    return int(fields.get("memory_processed", 0)) + int(fields.get("disk_processed", 0))
                return None

            wait_until("a dump job with progress", 30, lambda: (processed() or 0) > 0)
            brackets = []
            for _ in range(3):
                before = processed()
                recs = [r for r in a.ask("collect") if r.get("kind") == "domain"
                        and r["domain"]["name"] == "v3"]
                after = processed()
                job = recs[0]["job"] if recs else None
                brackets.append((before, (job or {}).get("data_processed_bytes"), after))
                assert job, f"no job in the collected record: {recs[0] if recs else 'no record'}"
                assert job["operation"] == "dump", job
                assert before <= job["data_processed_bytes"] <= after, f"{before} <= {job} <= {after}"
                assert job["data_total_bytes"] and 0 < job["progress_pct"] < 100, job
                time.sleep(1)
            seq = a.wait_cycles(1)
            rec = a.records(seq, "v3")
            cyc_job = rec[0]["job"] if rec else None
            assert cyc_job and cyc_job["operation"] == "dump", f"the cycle's own record: {cyc_job}"
            prom = self.s.query('virtdiag_domain_job_info_data_processed_bytes{domain="v3"}')
        finally:
            fast.set()
            try:
                dump.wait(120)
            except subprocess.TimeoutExpired:
                dump.kill()
            t.join(30)
            os.unlink(fifo)
        assert dump.returncode == 0, dump.stderr
        a.wait_cycles(2)
        after_job = a.records(a.last_seq(), "v3")[0]
        assert after_job["job"] is None and after_job["domain"]["state"] == "running", after_job["domain"]
        return (f"domjobinfo before <= record <= after: {brackets}; reason while dumping "
                f"{rec[0]['domain']['reason']}; Prometheus series {len(prom)}; dump of {got[0]} bytes; "
                f"job null again after")

    def flapping(self):
        """Three suspend/resume pairs within one cycle (one virsh): `transitions` counts
        the six lifecycle events and DomainStateFlapping fires."""
        a = self.a
        last = a.last_seq()
        wait_until("a fresh cycle", 30, lambda: a.last_seq() > last, interval=0.02)
        # One virsh, six commands: the events fall within one cycle.
        run(["virsh", "-q", "-c", e2e.URI, "; ".join(["suspend v3", "resume v3"] * 3)])
        done = time.time()

        def flapped():
            return [r for r in a.records(name="v3") if (r["domain"]["transitions"] or 0) > 3]

        rec = wait_until("a record with more than 3 transitions", 30, flapped)[0]
        total = sum(r["domain"]["transitions"] or 0 for r in a.records(name="v3") if r["seq"] > last)
        assert total == 6, f"{total} transitions counted for 6 events"
        delay = self.alert_delay("DomainStateFlapping", max(done, written_at(a, rec)), self.budget(), domain="v3")
        return (f"transitions {rec['domain']['transitions']} in cycle {rec['seq']} (6 over the cycles); "
                f"DomainStateFlapping at the receiver {delay:.1f} s after that record")

    def panic(self):
        a = self.a

        def crashed():
            r = a.records(a.last_seq(), "v2")
            return r and r[0]["domain"]["state"] == "crashed" and r[0]

        rec = wait_until("v2 crashed in a record", 120, crashed)
        events = [x for x in a.lines() if x.get("kind") == "event" and x["domain"]["name"] == "v2"
                  and x.get("event") == "lifecycle" and x.get("type") == "crashed"]
        assert events, "no crashed event line"
        assert rec["domain"]["crashes"] == 1, rec["domain"]
        assert rec["domain"]["reason"] == "panicked", rec["domain"]
        first = min((r for r in a.records(name="v2") if r["domain"]["crashes"]), key=lambda r: r["seq"])
        delay = self.alert_delay("DomainCrashed", written_at(a, first), self.budget(), domain="v2")
        return (f"crashed event ({events[0]['detail']}), record crashed/panicked with crashes 1; "
                f"DomainCrashed at the receiver {delay:.1f} s after the first record")

    def stuck(self):
        a = self.a
        qpid = int(open("/run/libvirt/qemu/v3.pid").read().strip())
        os.kill(qpid, signal.SIGSTOP)
        try:
            def stuck_record():
                r = a.records(a.last_seq(), "v3")
                c = r and r[0]["collect"]["control"]
                return c and c["state"] in ("occupied", "error") and c["since_ms"] > 30000 and r[0]

            rec = wait_until("v3's monitor occupied for over 30 s", 90, stuck_record, interval=0.5)
            first = min((r for r in a.records(name="v3") if (r["collect"]["control"] or {}).get("since_ms", 0) > 30000
                         and r["collect"]["control"]["state"] in ("occupied", "error")), key=lambda r: r["seq"])
            delay = self.alert_delay("DomainMonitorStuck", written_at(a, first), self.budget(), domain="v3")
        finally:
            os.kill(qpid, signal.SIGCONT)
        top = run(["ps", "-o", "stat=", "-p", str(qpid)]).strip()
        return (f"record control {rec['collect']['control']}; DomainMonitorStuck at the receiver "
                f"{delay:.1f} s after the first record past 30 s (QEMU state now {top})")

    def host_and_overhead(self):
        """The cycle's node against virsh nodeinfo/nodememstats and /proc; v3's overhead
        against its QEMU's threads in /proc."""
        a = self.a
        qpid = int(open("/run/libvirt/qemu/v3.pid").read().strip())

        def proc_cpu():
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            # libvirt's user (user + nice) and kernel (system + irq + softirq), then idle
            # and iowait: steal and guest time are not in its sums.
            busy = v[0] + v[1] + v[2] + v[5] + v[6]
            return busy, busy + v[3] + v[4]

        def qemu_cpu():
            total = vcpus = 0
            for tid in os.listdir(f"/proc/{qpid}/task"):
                with open(f"/proc/{qpid}/task/{tid}/stat") as f:
                    raw = f.read()
                comm = raw[raw.index("(") + 1:raw.rindex(")")]
                fields = raw[raw.rindex(")") + 2:].split()
                ticks = int(fields[11]) + int(fields[12])
                total += ticks
                if comm.startswith("CPU ") and "/" in comm:
                    vcpus += ticks
            return total, vcpus

        def meminfo(key):
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])

        hz = os.sysconf("SC_CLK_TCK")
        nodeinfo = virsh("nodeinfo")
        cpus = int(re.search(r"CPU\(s\):\s+(\d+)", nodeinfo).group(1))
        memory = int(re.search(r"Memory size:\s+(\d+) KiB", nodeinfo).group(1))
        total = int(re.search(r"total\s*:\s*(\d+) KiB", virsh("nodememstats")).group(1))
        # Bracket one cycle: /proc readings right after the previous cycle line and right
        # after this one.
        last = a.last_seq()
        wait_until("a cycle line", 30, lambda: a.last_seq() > last, interval=0.02)
        free_before, cpu0, q0, t0 = meminfo("MemFree"), proc_cpu(), qemu_cpu(), time.monotonic()
        seq = a.last_seq()
        wait_until("the next cycle line", 30, lambda: a.last_seq() > seq, interval=0.02)
        free_after, cpu1, q1, t1 = meminfo("MemFree"), proc_cpu(), qemu_cpu(), time.monotonic()
        cyc = [c for c in a.cycles() if c["seq"] == seq + 1][0]
        node = cyc["node"]
        v3 = a.records(seq + 1, "v3")[0]
        proc_pct = 100.0 * cpus * (cpu1[0] - cpu0[0]) / max(1, cpu1[1] - cpu0[1])
        elapsed = t1 - t0
        q_over = 100.0 * ((q1[0] - q0[0]) - (q1[1] - q0[1])) / hz / elapsed
        bad = []
        if node["cpus"] != cpus:
            bad.append(f"cpus {node['cpus']} vs nodeinfo {cpus}")
        if node["memory_kib"] not in (memory, total):
            bad.append(f"memory_kib {node['memory_kib']} vs nodeinfo {memory} / nodememstats {total}")
        slack = 64 << 10  # KiB: MemFree moves with the page cache between readings
        if not min(free_before, free_after) - slack <= node["memory_free_kib"] <= max(free_before, free_after) + slack:
            bad.append(f"memory_free_kib {node['memory_free_kib']} vs MemFree {free_before}..{free_after}")
        if node["cpu_utilisation_pct"] is None or abs(node["cpu_utilisation_pct"] - proc_pct) > 15 + 0.15 * proc_pct:
            bad.append(f"cpu_utilisation_pct {node['cpu_utilisation_pct']} vs /proc/stat {proc_pct:.1f}")
        running = [r for r in a.records(seq + 1) if r["domain"]["state"] == "running"]
        if node["vcpus_running"] != sum(len(r["cpu"]["vcpus"]) for r in running):
            bad.append(f"vcpus_running {node['vcpus_running']}")
        over = v3["cpu"]["overhead_pct"]
        if over is None or abs(over - q_over) > 3 + 0.5 * q_over:
            bad.append(f"v3 overhead_pct {over} vs /proc threads {q_over:.2f}")
        assert not bad, "; ".join(bad)
        return (f"node cpus {cpus}, memory {node['memory_kib']} KiB, free {node['memory_free_kib']} KiB "
                f"(MemFree {free_before}..{free_after}), host CPU {node['cpu_utilisation_pct']} % vs /proc/stat "
                f"{proc_pct:.1f} %; v3 overhead {over} % vs QEMU's non-vCPU threads {q_over:.2f} %")

    def dashboard(self):
        """Every panel's query on this Prometheus, with real guests: none fails to parse;
        which have data."""
        with open(DASHBOARD) as f:
            d = json.load(f)
        empty = []
        count = 0
        for panel in d["panels"]:
            for target in panel.get("targets", []):
                expr = (target["expr"].replace("$__rate_interval", "10s")
                        .replace("$instance", ".*").replace("$domain", "v3"))
                count += 1
                if not self.s.query(expr):
                    empty.append(f"{panel['title']} {target['refId']}")
        self.notes.append(f"dashboard on the bed: {count} queries, empty: {empty}")
        allowed = {"Top guests by steal A", "Steal per vCPU A", "Disks by time to full A",
                   "Job progress A", "Firing virtdiag alerts A"}
        unexpected = [e for e in empty if e not in allowed]
        assert not unexpected, f"no data on real guests for {unexpected}"
        return f"{count} queries, empty (no steal, no growth, no job now, no alert): {empty}"

    def agent_down(self):
        a = self.a
        a.stop()
        stopped = time.time()
        delay = self.alert_delay("VirtdiagDown", stopped, self.budget(60.0))
        return f"VirtdiagDown at the receiver {delay:.1f} s after the agent stopped (for: 1m)"


def main():
    os.makedirs(WORK, exist_ok=True)
    os.chmod(WORK, 0o755)
    shutil.copy2(e2e.BIN, os.path.join(WORK, "virtdiag"))
    textdir = os.path.join(WORK, "textfile")
    shutil.rmtree(textdir, ignore_errors=True)
    os.makedirs(textdir)
    shutil.chown(textdir, "nobody", "nogroup")
    agent = Agent("verdicts", URI_RO, extra=["--prometheus-textfile", os.path.join(textdir, "virtdiag.prom")])
    agent.start()
    stack = Stack(textdir)
    v = Verdicts(agent, stack)
    try:
        v.check("host totals and QEMU overhead vs virsh nodeinfo and /proc", v.host_and_overhead)
        v.check("ENOSPC pause: reason ioerror, vdb no_space, DomainPausedOnIOError", v.enospc)
        v.check("dump job: progress between domjobinfo readings", v.dump_job)
        v.check("flapping: 6 lifecycle events in a cycle, DomainStateFlapping", v.flapping)
        v.check("guest panic: crashed event, crashes 1, DomainCrashed", v.panic)
        v.check("every dashboard query on real guests", v.dashboard)
        v.check("stopped QEMU: DomainMonitorStuck", v.stuck)
        v.check("agent stopped: VirtdiagDown", v.agent_down)
    finally:
        agent.stop()
        stack.stop()
    with open(os.path.join(WORK, "verdicts-notes.txt"), "w") as f:
        f.write("\n".join(v.notes) + "\n")
    print(f"verdicts: {v.passed} passed, {v.failed} failed" + (f", {v.skipped} skipped" if v.skipped else ""))
    return 1 if v.failed else 0


if __name__ == "__main__":
    sys.exit(main())
