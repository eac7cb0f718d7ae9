#!/usr/bin/env python3
"""End-to-end tests of `virtdiag run` against a real libvirtd with real QEMU guests.

The bed (tests/bed/bed.sh) must be up with the guests e1 and e2 (e2 with Nova metadata);
tests/e2e/run.sh does that, runs this file and tears the bed down. The agent runs as user
nobody on the read-only socket for every test. Each test prints "ok" or "FAIL" with what it
saw; the last line is "e2e: N passed, N failed". Standard library only.
E2E_SKIP=name,... skips tests by method name (e.g. hung_guest); they are counted as skipped.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BEDSH = os.path.join(ROOT, "tests", "bed", "bed.sh")
INTERVAL = 2.0


def run(cmd, check=True, timeout=300):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        err = "\n".join(l for l in p.stderr.splitlines() if "cgroup" not in l)
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {err.strip()[-2000:]}")
    return p.stdout


def bed(*args, check=True, timeout=600):
    return run([BEDSH, *args], check=check, timeout=timeout)


ENV = {}
for line in bed("env").splitlines():
    k, v = line.removeprefix("export ").split("=", 1)
    ENV[k] = subprocess.run(["bash", "-c", f"printf %s {v}"], capture_output=True, text=True).stdout
BED_DIR = ENV["VIRTDIAG_BED"]
URI = ENV["BED_URI"]
URI_RO = ENV["BED_URI_RO"]
WORK = os.path.join(BED_DIR, "e2e")
BIN = os.environ.get("VIRTDIAG_BIN") or os.path.join(ROOT, "target", "debug", "virtdiag")


def virsh(*args, check=True):
    return run(["virsh", "-q", "-c", URI, *args], check=check)


def num(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def domstats(names):
    """`virsh domstats --raw` of the named domains: {name: {key: value}}."""
    out = virsh("domstats", "--raw", *names)
    stats, cur = {}, None
    for line in out.splitlines():
        if line.startswith("Domain: "):
            cur = stats.setdefault(line.split("'")[1], {})
        elif "=" in line and cur is not None:
            k, v = line.strip().split("=", 1)
            cur[k] = num(v)
    return stats


def block_index(stats, dev):
    for k, v in stats.items():
        if k.startswith("block.") and k.endswith(".name") and v == dev:
            return k.split(".")[1]
    return None


def net_index(stats, dev):
    for k, v in stats.items():
        if k.startswith("net.") and k.endswith(".name") and v == dev:
            return k.split(".")[1]
    return None


def wait_until(what, timeout, fn, interval=0.25):
    """Poll fn() until it returns a true value; on timeout raise with the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 - what was seen is reported
            last = f"exception: {e}"
        if last and not isinstance(last, str):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {what}; last seen: {str(last)[:600]}")
        time.sleep(interval)


class Agent:
    """`virtdiag run` as nobody:nogroup, spool and socket in its own folder."""

    def __init__(self, name, uri, interval=INTERVAL, extra=()):
        self.dir = os.path.join(WORK, name)
        self.extra = list(extra)  # more `virtdiag run` arguments
        self.uri = uri
        self.interval = interval
        self.spool = os.path.join(self.dir, "spool.ndjson")
        self.sock = os.path.join(self.dir, "virtdiag.sock")
        self.log = os.path.join(self.dir, "agent.log")
        self.proc = None

    def start(self, keep=False):
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            os.makedirs(self.dir)
            shutil.chown(self.dir, "nobody", "nogroup")
        binary = os.path.join(WORK, "virtdiag")
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
               binary, "run", "--uri", self.uri, "--interval", str(self.interval),
               "--spool", self.spool, "--socket", self.sock, "--host", "e2e", *self.extra]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)
        wait_until("the agent's socket", 20, lambda: os.path.exists(self.sock) or self.exited())
        if self.exited():
            raise RuntimeError(f"agent exited {self.proc.returncode}: {self.log_text()[-800:]}")
        return self

    def exited(self):
        return self.proc is not None and self.proc.poll() is not None and "exited"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def ask(self, request, timeout=60):
        """Send one request line; answers until an "end" line (all/collect) or one line."""
        multi = request.split()[0] in ("all", "collect", "help", "events")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
            s.sendall(request.encode() + b"\n")
            buf, out = b"", []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    doc = json.loads(line)
                    out.append(doc)
                    if not multi or doc.get("kind") == "end" or "error" in doc:
                        return out
            return out
        finally:
            s.close()

    def status(self):
        return self.ask("status")[0]

    def lines(self):
        out = []
        for path in (self.spool,):
            try:
                with open(path) as f:
                    out.extend(json.loads(line) for line in f if line.strip())
            except FileNotFoundError:
                pass
        return out

    def cycles(self):
        return [x for x in self.lines() if x.get("kind") == "cycle"]

    def records(self, seq=None, name=None):
        return [x for x in self.lines() if x.get("kind") == "domain"
                and (seq is None or x["seq"] == seq) and (name is None or x["domain"]["name"] == name)]

    def last_seq(self):
        c = self.cycles()
        return c[-1]["seq"] if c else 0

    def wait_cycles(self, n=1, timeout=None):
        """Wait until n cycles after the current one have been written; return the last seq."""
        target = self.last_seq() + n
        wait_until(f"cycle {target}", timeout or (n * self.interval + 30), lambda: self.last_seq() >= target)
        return self.last_seq()

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def complaints(self, since=0):
        """Log lines above info (warning or error), from byte offset `since`."""
        text = self.log_text()[since:]
        return [l for l in text.splitlines() if l.startswith(("virtdiag: warning", "virtdiag: error"))]


# ----------------------------------------------------------------------------- the checks
BALLOON = {  # record field -> domstats key
    "actual_kib": "balloon.current", "unused_kib": "balloon.unused",
    "available_kib": "balloon.available", "usable_kib": "balloon.usable", "rss_kib": "balloon.rss",
    "disk_caches_kib": "balloon.disk_caches", "swap_in_kib": "balloon.swap_in",
    "swap_out_kib": "balloon.swap_out", "major_faults": "balloon.major_fault",
    "minor_faults": "balloon.minor_fault", "hugetlb_pgalloc": "balloon.hugetlb_pgalloc",
    "hugetlb_pgfail": "balloon.hugetlb_pgfail", "last_update_unix_s": "balloon.last-update",
}
DISK = {"read_requests": "rd.reqs", "read_bytes": "rd.bytes", "write_requests": "wr.reqs",
        "write_bytes": "wr.bytes", "read_time_ns": "rd.times", "write_time_ns": "wr.times",
        "flush_requests": "fl.reqs", "flush_time_ns": "fl.times"}
NIC = {"rx_bytes": "rx.bytes", "rx_packets": "rx.pkts", "rx_errors": "rx.errs", "rx_drop": "rx.drop",
       "tx_bytes": "tx.bytes", "tx_packets": "tx.pkts", "tx_errors": "tx.errs", "tx_drop": "tx.drop"}


def pairs(rec, a):
    """(label, agent value, domstats key) for every counter of one record."""
    out = []
    cpu = rec.get("cpu") or {}
    out += [("cpu.time_ns", cpu.get("time_ns"), "cpu.time"),
            ("cpu.user_ns", cpu.get("user_ns"), "cpu.user"),
            ("cpu.system_ns", cpu.get("system_ns"), "cpu.system")]
    vc = a.get("vcpu.current", 0)
    got = {v["id"]: v for v in cpu.get("vcpus") or []}
    for i in range(vc):
        out.append((f"vcpu{i}.time_ns", got.get(i, {}).get("time_ns"), f"vcpu.{i}.time"))
        if f"vcpu.{i}.delay" in a:
            out.append((f"vcpu{i}.delay_ns", got.get(i, {}).get("delay_ns"), f"vcpu.{i}.delay"))
    mem = rec.get("memory") or {}
    out += [("memory.max_kib", mem.get("max_kib"), "balloon.maximum"),
            ("memory.current_kib", mem.get("current_kib"), "balloon.current")]
    balloon = mem.get("balloon") or {}
    for f, k in BALLOON.items():
        if k in a:
            out.append((f"balloon.{f}", balloon.get(f), k))
    disks = {d["dev"]: d for d in rec.get("disks") or []}
    for dev in ("vda", "vdb", "hdc"):  # hdc: the CD-ROM with no medium
        i = block_index(a, dev)
        for f, k in DISK.items():
            if dev == "hdc" and f"block.{i}.{k}" not in a:
                continue  # an empty drive has the counters QEMU gives it, no more
            out.append((f"{dev}.{f}", disks.get(dev, {}).get(f), f"block.{i}.{k}"))
    nics = {n["dev"]: n for n in rec.get("nics") or []}
    for dev in nics:
        i = net_index(a, dev)
        for f, k in NIC.items():
            out.append((f"{dev}.{f}", nics[dev].get(f), f"net.{i}.{k}"))
    return out


def bracket(label, v, a, b, key, bad):
    lo, hi = a.get(key), b.get(key)
    if lo is None or hi is None:
        bad.append(f"{label}: domstats has no {key}")
    elif v is None:
        bad.append(f"{label}: null (domstats {key} {lo}..{hi})")
    elif not min(lo, hi) <= v <= max(lo, hi):
        bad.append(f"{label}: {v} outside domstats {key} {lo}..{hi}")


def rates_of(rec):
    """Every rate of a record: (label, value)."""
    out = []
    cpu = rec.get("cpu") or {}
    out.append(("cpu.utilisation_pct", cpu.get("utilisation_pct")))
    for v in cpu.get("vcpus") or []:
        out.append((f"vcpu{v['id']}.utilisation_pct", v.get("utilisation_pct")))
    for d in rec.get("disks") or []:
        for f in ("read_bytes_per_s", "write_bytes_per_s", "read_ops_per_s", "write_ops_per_s"):
            out.append((f"{d['dev']}.{f}", d.get(f)))
    for n in rec.get("nics") or []:
        for f in ("rx_bytes_per_s", "tx_bytes_per_s", "rx_packets_per_s", "tx_packets_per_s"):
            out.append((f"{n['dev']}.{f}", n.get(f)))
    return out


# ---------------------------------------------------------------------------------- tests
class Suite:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.skip = {x for x in os.environ.get("E2E_SKIP", "").split(",") if x}
        self.agent = None
        self.notes = []  # measurements worth recording

    def check(self, name, fn):
        if fn.__name__ in self.skip:
            self.skipped += 1
            print(f"skip - {name} (E2E_SKIP={fn.__name__})", flush=True)
            return
        t = time.monotonic()
        try:
            detail = fn()
            self.passed += 1
            print(f"ok   - {name} ({time.monotonic() - t:.1f} s){': ' + detail if detail else ''}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, the suite goes on
            self.failed += 1
            print(f"FAIL - {name} ({time.monotonic() - t:.1f} s): {e}", flush=True)
            if not isinstance(e, AssertionError):
                traceback.print_exc()

    # 1
    def bulk_path(self):
        a = self.agent
        seq = a.wait_cycles(1)
        cyc = [c for c in a.cycles() if c["seq"] == seq][0]
        bad = [f"cycle paths {cyc['paths']}"] if set(cyc["paths"].values()) != {"bulk"} else []
        for r in a.records(seq):
            if set(r["collect"]["sources"].values()) != {"bulk"}:
                bad.append(f"{r['domain']['name']} sources {r['collect']['sources']}")
            if r["collect"]["missing"]:
                bad.append(f"{r['domain']['name']} missing {r['collect']['missing']}")
        assert not bad, "; ".join(bad)
        return f"cycle {seq}: {cyc['domains']} domains, bulk {cyc['bulk_ms']} ms, per-domain {cyc['per_domain_ms']} ms"

    def kvm_counters(self):
        """The opt-in groups on a KVM guest (the bed's are TCG, which has no KVM counters):
        every `kvm` counter within `virsh domstats` before and after the agent's cycle, none
        of domstats' left out, and the opt-in paths `bulk`."""
        name = "dense-001"
        bed("dense", "1")
        agent = None
        try:
            groups = "state,cpu-total,vcpu,vm,perf,iothread,memory,dirtyrate"
            agent = Agent("kvm", URI_RO, extra=["--groups", groups]).start()
            agent.wait_cycles(1)
            before = domstats([name])[name]
            recs = [r for r in agent.ask("collect") if r.get("kind") == "domain"
                    and r["domain"]["name"] == name]
            after = domstats([name])[name]
            assert recs, "no record of the KVM guest"
            rec = recs[0]
            errors = [e.message for e in SCHEMA.iter_errors(rec)]
            assert not errors, f"schema: {errors[:3]}"
            paths = agent.cycles()[-1]["paths"]
            want = {"kvm", "perf", "iothreads", "bandwidth_monitors", "dirtyrate"}
            assert {k for k, v in paths.items() if v == "bulk"} >= want, f"paths {paths}"
            bad, pairs_seen = [], kvm_pairs(rec)
            for label, v, key in pairs_seen:
                kvm_check(label, v, before, after, key, bad)
            seen = {key for _, _, key in pairs_seen}
            kinds = (".sum", ".cur", ".max")
            left_out = sorted(k for k in before if k.endswith(kinds) and k not in seen
                              and (k.startswith("vm.") or k.startswith("vcpu.")))
            if left_out:
                bad.append(f"not in the record: {left_out[:8]}")
            assert pairs_seen, f"no KVM counter in the record: kvm = {rec.get('kvm')}"
            assert (rec.get("dirtyrate") or {}).get("status") == "unstarted", f"dirtyrate {rec.get('dirtyrate')}"
            assert not bad, f"{len(bad)} of {len(pairs_seen)} wrong: " + "; ".join(bad[:12])
            return f"{len(pairs_seen)} KVM counters of {name} within domstats before/after"
        finally:
            if agent:
                agent.stop()
            virsh("destroy", name, check=False)

    # 2
    def truth(self):
        names = ["e1", "e2"]
        before = domstats(names)
        recs = [r for r in self.agent.ask("collect") if r.get("kind") == "domain"]
        after = domstats(names)
        bad, n = [], 0
        for r in recs:
            name = r["domain"]["name"]
            if name not in names:
                continue
            for label, v, key in pairs(r, before[name]):
                n += 1
                bracket(f"{name} {label}", v, before[name], after[name], key, bad)
        assert {r["domain"]["name"] for r in recs} >= set(names), f"records for {[r['domain']['name'] for r in recs]}"
        assert not bad, f"{len(bad)} of {n} counters wrong: " + "; ".join(bad[:12])
        return f"{n} counters within domstats before/after"

    def legacy(self):
        names = ["e1", "e2"]
        before = domstats(names)
        lines = [x for x in self.agent.ask("collect format=legacy") if "diagnostics" in x]
        after = domstats(names)
        bad = []
        for line in lines:
            name = line["domain"]
            if name not in names:
                continue
            a, b, d = before[name], after[name], line["diagnostics"]
            want = {}
            for i in range(a["vcpu.current"]):
                want[f"cpu{i}_time"] = f"vcpu.{i}.time"
            for row in virsh("domblklist", name).splitlines():
                dev = row.split()[0]
                i = block_index(a, dev)
                for suf, k in (("read_req", "rd.reqs"), ("read", "rd.bytes"), ("write_req", "wr.reqs"),
                               ("write", "wr.bytes"), ("errors", None)):
                    want[f"{dev}_{suf}"] = k and f"block.{i}.{k}"
            for row in virsh("domiflist", name).splitlines():
                dev = row.split()[0]
                i = net_index(a, dev)
                for suf, k in (("rx", "rx.bytes"), ("rx_packets", "rx.pkts"), ("rx_errors", "rx.errs"),
                               ("rx_drop", "rx.drop"), ("tx", "tx.bytes"), ("tx_packets", "tx.pkts"),
                               ("tx_errors", "tx.errs"), ("tx_drop", "tx.drop")):
                    want[f"{dev}_{suf}"] = f"net.{i}.{k}"
            want["memory"] = "balloon.maximum"
            for row in virsh("dommemstat", name).splitlines():
                tag = row.split()[0]
                want[f"memory-{tag}"] = {"actual": "balloon.current", "last_update": "balloon.last-update"}.get(
                    tag, f"balloon.{tag}")
            if set(d) != set(want):
                bad.append(f"{name}: keys missing {sorted(set(want) - set(d))}, extra {sorted(set(d) - set(want))}")
            for key, sk in want.items():
                if key not in d:
                    continue
                if sk is None:  # <disk>_errors: QEMU does not count them, Nova's original code got -1
                    if d[key] != -1:
                        bad.append(f"{name} {key}: {d[key]}, want -1")
                else:
                    bracket(f"{name} {key}", d[key], a, b, sk, bad)
        assert len(lines) >= 2, f"legacy lines: {lines}"
        assert not bad, "; ".join(bad[:12])
        return f"{sum(len(x['diagnostics']) for x in lines if x['domain'] in names)} keys"

    # 3
    def rates(self):
        a = self.agent
        a.wait_cycles(3)
        bad, n, jitter = [], 0, []
        for name in ("e1", "e2"):
            recs = a.records(name=name)[-3:]
            for p, c in zip(recs, recs[1:]):
                if c["seq"] != p["seq"] + 1:
                    continue
                dt = c["collect"]["interval_s"]
                wall = (ts(c["ts"]) - ts(p["ts"]))
                # ts is when a cycle was due, interval_s the time between the two samples: they
                # differ by the jitter of the libvirt calls, so only a sanity bound here.
                if dt is None or abs(dt - wall) > 0.25 * wall + 0.05:
                    bad.append(f"{name} interval_s {dt} vs ts difference {wall:.3f}")
                    continue
                jitter.append(abs(dt - wall))
                for kind, devs, fields in (("disks", ("vda", "vdb"), (
                        ("read_bytes_per_s", "read_bytes"), ("write_bytes_per_s", "write_bytes"),
                        ("read_ops_per_s", "read_requests"), ("write_ops_per_s", "write_requests"))),
                        ("nics", None, (("rx_bytes_per_s", "rx_bytes"), ("tx_bytes_per_s", "tx_bytes"),
                                        ("rx_packets_per_s", "rx_packets"), ("tx_packets_per_s", "tx_packets")))):
                    pd = {x["dev"]: x for x in p[kind]}
                    for x in c[kind]:
                        for rf, cf in fields:
                            n += 1
                            if x.get(cf) is None or pd.get(x["dev"], {}).get(cf) is None:
                                bad.append(f"{name} {x['dev']}.{cf} null")
                                continue
                            want = (x[cf] - pd[x["dev"]][cf]) / dt
                            got = x.get(rf)
                            if got is None or abs(got - want) > 0.05 * abs(want) + 0.01:
                                bad.append(f"{name} {x['dev']}.{rf} {got} vs {want:.3f}")
                n += 1
                want = 100 * (c["cpu"]["time_ns"] - p["cpu"]["time_ns"]) / (dt * 1e9)
                got = c["cpu"]["utilisation_pct"]
                if got is None or got < 0 or abs(got - want) > 0.05 * want + 0.05:
                    bad.append(f"{name} cpu.utilisation_pct {got} vs {want:.3f}")
                # Derived figures: steal from delay, latency from time and requests, fill.
                pv = {v["id"]: v for v in p["cpu"]["vcpus"]}
                for v in c["cpu"]["vcpus"]:
                    before = pv.get(v["id"], {}).get("delay_ns")
                    if v.get("delay_ns") is None or before is None:
                        continue
                    n += 1
                    want = 100 * (v["delay_ns"] - before) / (dt * 1e9)
                    got = v.get("steal_pct")
                    if got is None or abs(got - want) > 0.05 * want + 0.05:
                        bad.append(f"{name} vcpu{v['id']}.steal_pct {got} vs {want:.3f}")
                pd = {x["dev"]: x for x in p["disks"]}
                for x in c["disks"]:
                    q = pd.get(x["dev"], {})
                    for lf, tf, rf in (("read_latency_ms", "read_time_ns", "read_requests"),
                                       ("write_latency_ms", "write_time_ns", "write_requests"),
                                       ("flush_latency_ms", "flush_time_ns", "flush_requests")):
                        if None in (x.get(tf), q.get(tf), x.get(rf), q.get(rf)):
                            continue
                        n += 1
                        reqs = x[rf] - q[rf]
                        want = (x[tf] - q[tf]) / reqs / 1e6 if reqs > 0 else None
                        got = x.get(lf)
                        if (want is None) != (got is None) or (want is not None and abs(got - want) > 0.05 * want + 0.001):
                            bad.append(f"{name} {x['dev']}.{lf} {got} vs {want}")
                    if x.get("allocation_bytes") is not None and x.get("capacity_bytes"):
                        n += 1
                        want = 100 * x["allocation_bytes"] / x["capacity_bytes"]
                        if x.get("fill_pct") is None or abs(x["fill_pct"] - want) > 0.01:
                            bad.append(f"{name} {x['dev']}.fill_pct {x.get('fill_pct')} vs {want:.3f}")
        for r in a.records():
            for label, v in rates_of(r):
                if v is not None and v < 0:
                    bad.append(f"{r['domain']['name']} seq {r['seq']} {label} negative: {v}")
        assert n > 0, "no consecutive records"
        assert not bad, "; ".join(bad[:12])
        return (f"{n} rates, steal, latencies and fills agree with counter deltas / interval_s within 5 %; interval_s vs ts difference "
                f"up to {max(jitter) * 1000:.0f} ms")

    # 4
    def identity(self):
        import xml.etree.ElementTree as ET
        bad = []
        seq = self.agent.last_seq()
        for r in self.agent.records(seq):
            name = r["domain"]["name"]
            x = ET.fromstring(virsh("dumpxml", name))
            if r["domain"]["uuid"] != x.findtext("uuid"):
                bad.append(f"{name} uuid {r['domain']['uuid']} vs {x.findtext('uuid')}")
            disks = [(d.find("target").get("dev"), d.find("source").get("file") if d.find("source") is not None else None)
                     for d in x.iter("disk")]
            if [(d["dev"], d["path"]) for d in r["disks"]] != disks:
                bad.append(f"{name} disks {[(d['dev'], d['path']) for d in r['disks']]} vs {disks}")
            nics = [(i.find("target").get("dev"), i.find("mac").get("address"), i.find("model").get("type"))
                    for i in x.iter("interface")]
            if [(n["dev"], n["mac"], n["model"]) for n in r["nics"]] != nics:
                bad.append(f"{name} nics {[(n['dev'], n['mac'], n['model']) for n in r['nics']]} vs {nics}")
            ns = {"nova": "http://openstack.org/xmlns/libvirt/nova/1.1"}
            inst = x.find("metadata/nova:instance", ns)
            if inst is None:
                if r["nova"] is not None:
                    bad.append(f"{name} nova {r['nova']} without metadata")
            else:
                want = {"instance": inst.findtext("nova:name", namespaces=ns),
                        "flavor": inst.find("nova:flavor", ns).get("name"),
                        "project_id": inst.find("nova:owner/nova:project", ns).get("uuid"),
                        "project_name": inst.findtext("nova:owner/nova:project", namespaces=ns),
                        "user_id": inst.find("nova:owner/nova:user", ns).get("uuid"),
                        "user_name": inst.findtext("nova:owner/nova:user", namespaces=ns)}
                if r["nova"] != want:
                    bad.append(f"{name} nova {r['nova']} vs {want}")
        assert not bad, "; ".join(bad)
        return "uuid, name, disks, NICs and Nova metadata match dumpxml"

    # 5
    def churn(self):
        a = self.agent
        since = len(a.log_text())
        # Start a busy guest mid-run: next cycle has it with null rates, then real ones.
        t = time.monotonic()
        bed("vm", "e3", "3", "--busy")
        bad = []
        first = wait_until("e3 in a cycle", 60, lambda: a.records(name="e3"))[0]
        nulls = [l for l, v in rates_of(first) if v is not None]
        if nulls:
            bad.append(f"first record of a new guest has rates: {nulls}")
        wait_until("a second e3 record", 30, lambda: len(a.records(name="e3")) >= 3)
        second = a.records(name="e3")[1]
        missing = [l for l, v in rates_of(second) if v is None]
        if missing:
            bad.append(f"second record of a new guest lacks rates: {missing}")
        vutil = a.records(name="e3")[-1]["cpu"]["vcpus"][0]["utilisation_pct"]
        if vutil is None or not 1 <= vutil <= 105:
            bad.append(f"busy guest vCPU utilisation {vutil}")
        self.notes.append(f"busy guest vCPU utilisation {vutil} %, started in {time.monotonic() - t:.1f} s")
        # Suspend e1: its state shows, and its rates are no bogus numbers.
        virsh("suspend", "e1")
        try:
            wait_until("e1 paused", 30, lambda: [r for r in a.records(name="e1")[-1:] if r["domain"]["state"] == "paused"])
            a.wait_cycles(2)
            r = a.records(name="e1")[-1]
            if r["domain"]["state"] != "paused":
                bad.append(f"e1 state {r['domain']['state']}")
            bogus = [(l, v) for l, v in rates_of(r) if v is not None and (v < 0 or v > 0.5)]
            if bogus:
                bad.append(f"paused guest has rates {bogus}")
        finally:
            virsh("resume", "e1", check=False)
        # Reboot e3 with fresh counters (a new QEMU with the same name and UUID).
        virsh("destroy", "e3")
        bed("vm", "e3", "3", "--busy")
        a.wait_cycles(2)
        neg = [(r["seq"], l, v) for r in a.records(name="e3") for l, v in rates_of(r) if v is not None and v < 0]
        if neg:
            bad.append(f"negative rates after a reset: {neg}")
        # Destroy e3: gone from the next cycle and from list.
        virsh("destroy", "e3")
        seq = a.wait_cycles(1)
        wait_until("a cycle without e3", 20, lambda: not a.records(a.last_seq(), "e3") and a.last_seq() > seq - 1)
        listed = [d["name"] for d in a.ask("list")[0]["domains"]]
        if "e3" in listed:
            bad.append(f"list still has e3: {listed}")
        a.wait_cycles(1)
        comp = a.complaints(since)
        if comp:
            bad.append(f"agent log above info: {comp[:5]}")
        assert not bad, "; ".join(bad)
        return "; ".join(self.notes[-1:])

    # 5b
    def events(self):
        """Domain events reach the spool and a watcher within 1 s, and a metadata change
        is in the very next record."""
        a = self.agent
        watcher = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        watcher.settimeout(10)
        watcher.connect(a.sock)
        watcher.sendall(b"watch\n")
        time.sleep(0.3)
        bad, delays = [], {}

        def event_lines(**want):
            return [x for x in a.lines() if x.get("kind") == "event"
                    and all(x.get(k) == v for k, v in want.items())]

        def expect(label, action, **want):
            before = len(event_lines(**want))
            action()
            done = time.monotonic()
            line = wait_until(f"the {label} event line", 10,
                              lambda: event_lines(**want)[before:], interval=0.02)[0]
            delays[label] = time.monotonic() - done
            return line

        paused = expect("suspend", lambda: virsh("suspend", "e1"), event="lifecycle", type="suspended")
        if (paused["domain"]["name"], paused["domain"]["state"], paused["detail"]) != ("e1", "paused", "paused"):
            bad.append(f"suspend line {paused}")
        resumed = expect("resume", lambda: virsh("resume", "e1"), event="lifecycle", type="resumed")
        if resumed["domain"]["state"] != "running":
            bad.append(f"resume line {resumed}")
        nova = ('<instance><name>renamed-by-e2e</name><flavor name="m1.e2e"/>'
                '<owner><user uuid="u-1">ada</user><project uuid="p-1">lab</project></owner></instance>')
        expect("metadata", lambda: virsh("metadata", "e2", "--uri", "http://openstack.org/xmlns/libvirt/nova/1.1",
                                         "--key", "nova", "--set", nova, "--live"),
               event="metadata_changed")
        seq = a.wait_cycles(1)
        rec = a.records(seq, "e2")
        if not rec or (rec[0]["nova"] or {}).get("instance") != "renamed-by-e2e":
            bad.append(f"the record after the metadata change: {rec[0]['nova'] if rec else 'none'}")
        # The watcher saw the same events, between cycles.
        buf = b""
        deadline = time.monotonic() + 5
        while buf.count(b'"kind":"event"') < 3 and time.monotonic() < deadline:
            buf += watcher.recv(1 << 20)
        watcher.close()
        if buf.count(b'"kind":"event"') < 3:
            bad.append("the watcher got fewer than 3 event lines")
        for x in event_lines():
            for err in SCHEMA.iter_errors(x):
                bad.append(f"event line not schema-valid: {err.message}")
        slow = {k: round(v, 3) for k, v in delays.items() if v > 1.0}
        if slow:
            bad.append(f"event lines later than 1 s: {slow}")
        ring = a.ask("events 10")
        if not any(x.get("event") == "metadata_changed" for x in ring):
            bad.append(f"events ring: {ring[-3:]}")
        assert not bad, "; ".join(bad)
        return "spool line after the action: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in delays.items())

    # 5c
    def hotplug_reset_restart(self):
        """A disk hot-plugged and unplugged, a reset, and an agent restart."""
        a = self.agent
        bad, notes = [], []

        def events(name):
            return [x for x in a.lines() if x.get("kind") == "event" and x["event"] == name
                    and x["domain"]["name"] == "e1"]

        def disks(seq):
            r = a.records(seq, "e1")
            return [d["dev"] for d in r[0]["disks"]] if r else None

        image = os.path.join(BED_DIR, "vm", "e1-c.img")
        run(["truncate", "-s", "16M", image])
        before = len(events("device_added"))
        virsh("attach-disk", "e1", image, "vdc", "--targetbus", "virtio", "--live")
        added = wait_until("device_added", 10, lambda: events("device_added")[before:], interval=0.05)[0]
        notes.append(f"device_added {added.get('device')}")
        seq = a.wait_cycles(1)
        if "vdc" not in (disks(seq) or []):
            bad.append(f"the record after the hot-plug has disks {disks(seq)}")
        before = len(events("device_removed"))
        virsh("detach-disk", "e1", "vdc", "--live")
        try:
            removed = wait_until("device_removed", 20, lambda: events("device_removed")[before:], interval=0.05)[0]
            notes.append(f"device_removed {removed.get('device')} ({removed.get('target')})")
            if removed.get("target") != "vdc":
                bad.append(f"device_removed without the target its alias stands for: {removed}")
            seq = a.wait_cycles(1)
            if "vdc" in (disks(seq) or []):
                bad.append(f"the record after the unplug still has vdc: {disks(seq)}")
        except AssertionError as e:
            bad.append(f"no device_removed: {e}")

        before = len(events("reboot"))
        virsh("reset", "e1")
        wait_until("a reboot event", 10, lambda: events("reboot")[before:], interval=0.05)

        # Restart the agent on the same spool: the first cycle has rates.
        last = a.last_seq()
        a.stop()
        a.start(keep=True)
        wait_until("a cycle after the restart", 30, lambda: a.last_seq() > last)
        first = a.records(last + 1)
        missing = [(r["domain"]["name"], l) for r in first for l, v in rates_of(r) if v is None]
        if not first or missing:
            bad.append(f"the first cycle after a restart lacks rates: {missing[:6]}")
        notes.append(f"first cycle after restart: {len(first)} records with rates")
        assert not bad, "; ".join(bad)
        return "; ".join(notes)

    # 6
    def libvirtd_restart(self):
        a = self.agent
        pid = a.status()["pid"]
        bed("libvirtd", "kill")
        t_kill = time.monotonic()
        st = wait_until("status disconnected", 30, lambda: [s for s in [a.status()] if not s["connected"]])[0]
        assert st.get("disconnect_reason"), f"no reason in {st}"
        served = 0
        while time.monotonic() - t_kill < 5:
            a.status()
            served += 1
            time.sleep(0.5)
        bed("libvirtd", "start")
        t_start = time.monotonic()
        def full():
            s = a.last_seq()
            recs = a.records(s)
            ok = s and {r["domain"]["name"] for r in recs} >= {"e1", "e2"} and all(
                set(r["collect"]["sources"].values()) == {"bulk"} and not r["collect"]["missing"] for r in recs)
            return ok and s
        seq = wait_until("full records after the restart", 2 * INTERVAL + 30, full)
        took = time.monotonic() - t_start
        assert a.status()["pid"] == pid, "the agent restarted"
        events = [x["event"] for x in a.lines() if x.get("kind") == "agent"]
        assert "libvirt_disconnected" in events and events.count("libvirt_connected") >= 2, f"agent lines {events}"
        seqs = [c["seq"] for c in a.cycles()]
        gaps = [(x, y) for x, y in zip(seqs, seqs[1:]) if y != x + 1]
        assert not gaps, f"seq gaps {gaps}"
        assert took <= 2 * INTERVAL + 3, f"full records {took:.1f} s after libvirtd answered (2 cycles = {2 * INTERVAL} s)"
        self.notes.append(f"libvirtd restart: reason '{st['disconnect_reason']}', {served} status answers while down, "
                          f"full records {took:.1f} s after restart (cycle {seq})")
        return self.notes[-1]

    def before_libvirtd(self):
        bed("libvirtd", "kill")
        b = Agent("early", URI_RO)
        try:
            b.start()
            st = wait_until("a status", 10, lambda: b.status())
            assert st["connected"] is False, f"status {st}"
            time.sleep(2 * INTERVAL)
            assert b.proc.poll() is None, "agent exited without libvirtd"
            bed("libvirtd", "start")
            wait_until("records from the early agent", 2 * INTERVAL + 30,
                       lambda: {r["domain"]["name"] for r in b.records(b.last_seq())} >= {"e1", "e2"})
            events = [x["event"] for x in b.lines() if x.get("kind") == "agent"]
            assert "libvirt_connected" in events, f"agent lines {events}"
        finally:
            b.stop()
            bed("libvirtd", "start")
        return "started while libvirtd was down, connected once it came"

    # 7
    def hung_guest(self):
        a = self.agent
        qpid = int(open("/run/libvirt/qemu/e2.pid").read().strip())
        os.kill(qpid, signal.SIGSTOP)
        t0 = time.monotonic()
        seen = []
        try:
            start = a.last_seq()
            try:
                wait_until("3 cycles with e2's QEMU stopped", 45, lambda: a.last_seq() >= start + 3, interval=0.5)
            except AssertionError:
                pass  # what the cycles did is reported below
            for c in a.cycles():
                if c["seq"] > start:
                    e1 = a.records(c["seq"], "e1")
                    e2 = a.records(c["seq"], "e2")
                    seen.append((c["seq"], c["duration_ms"], bool(e1 and not e1[0]["collect"]["missing"]),
                                 [m["field"] for m in (e2[0]["collect"]["missing"] if e2 else [])],
                                 (e2[0]["collect"]["control"] or {}).get("state") if e2 else None,
                                 c["stuck_domains"]))
        finally:
            os.kill(qpid, signal.SIGCONT)
        stopped_for = time.monotonic() - t0
        cont_seq = a.last_seq()
        def recovered():
            s = a.last_seq()
            r = a.records(s, "e2")
            return s > cont_seq and r and not r[0]["collect"]["missing"] and s
        t1 = time.monotonic()
        wait_until("e2 complete again", 90, recovered)
        stall = [c["duration_ms"] for c in a.cycles() if c["seq"] == cont_seq + 1 or c["seq"] == start + 1]
        note = (f"hung QEMU ({stopped_for:.0f} s): cycles while stopped (seq, ms, e1 complete, e2 missing, "
                f"e2 control, stuck domains) {seen}; first cycle durations {stall} ms; "
                f"complete records {time.monotonic() - t1:.1f} s after SIGCONT")
        self.notes.append(note)
        assert len(seen) >= 3, f"only {len(seen)} cycles in {stopped_for:.0f} s with one QEMU stopped; {note}"
        worst = max(s[1] for s in seen)
        assert all(s[2] for s in seen), f"e1 incomplete while e2 hung; {note}"
        assert worst < 35000, f"a cycle took {worst} ms; {note}"
        named = [x for x in seen if x[4] in ("job", "occupied", "error") and "disks" in x[3] and x[5] >= 1]
        assert named, f"the stuck guest's records never named its monitor; {note}"
        return note

    # 8 is how every agent here runs (nobody, read-only socket); check it once.
    def read_only_nobody(self):
        st = os.stat(self.agent.sock)
        import pwd
        owner = pwd.getpwuid(st.st_uid).pw_name
        with open(f"/proc/{self.agent.proc.pid}/status") as f:
            uid = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        assert owner == "nobody" and set(uid) == {str(pwd.getpwnam("nobody").pw_uid)}, f"uid {uid}, socket owner {owner}"
        assert self.agent.uri.endswith("libvirt-sock-ro")
        return f"agent uid {uid[0]}, {self.agent.uri}"

    # 9
    def test_driver_1000(self):
        path = os.path.join(WORK, "node1000.xml")
        with open(path, "w") as f:
            f.write("<node>\n")
            for i in range(1000):
                f.write(f"<domain type='test'><name>t{i:04d}</name><memory>65536</memory><vcpu>2</vcpu>"
                        "<os><type arch='x86_64'>hvm</type></os>"
                        f"<devices><disk type='file'><source file='/t/{i}.img'/><target dev='vda'/></disk>"
                        f"<interface type='ethernet'><mac address='52:54:00:b3:e0:{i % 256:02x}'/>"
                        f"<target dev='tt{i:04d}'/></interface><memballoon model='virtio'/></devices></domain>\n")
            f.write("</node>\n")
        os.chmod(path, 0o644)
        uri = f"test+unix://{path}?socket={BED_DIR}/run/libvirt-sock-ro"
        t = Agent("test1000", uri, interval=5)
        try:
            t.start()
            def done():
                cs = t.cycles()
                if len(cs) >= 3 and not any(c["connected"] for c in cs):
                    raise AssertionError(f"not connected: {cs[-1]['error']}")
                return [c for c in cs if c["domains"] == 1000 and c["connected"]]
            try:
                c = wait_until("a cycle with 1000 domains", 120, done, interval=1)[0]
            except AssertionError as e:
                if "not connected" in str(e):
                    raise
                raise AssertionError(f"{e}; cycles {[(c['seq'], c['domains'], c['error']) for c in t.cycles()][-3:]}")
            recs = t.records(c["seq"])
            assert len(recs) == 1000, f"{len(recs)} records"
            assert c["paths"]["state"] == "bulk", f"paths {c['paths']}"
            per = [g for g, p in c["paths"].items() if p != "bulk"]
            note = (f"1000 test-driver domains through the daemon: cycle {c['duration_ms']} ms "
                    f"(bulk {c['bulk_ms']} ms, per-domain {c['per_domain_ms']} ms), paths {c['paths']}")
            self.notes.append(note)
            assert per, "the test driver served every group in bulk?"
            return note
        finally:
            t.stop()


SCHEMA = jsonschema.Draft202012Validator(json.load(open(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "record.schema.json"))))


def kvm_pairs(rec):
    """(label, agent value, domstats key) for every KVM counter of one record."""
    kvm = rec.get("kvm") or {}
    out = [(f"kvm.vm.{k}", v, f"vm.{k}") for k, v in (kvm.get("vm") or {}).items()]
    for vcpu in kvm.get("vcpus") or []:
        out += [(f"kvm.vcpu{vcpu['id']}.{k}", v, f"vcpu.{vcpu['id']}.{k}")
                for k, v in vcpu.items() if k != "id"]
    return out


def kvm_check(label, v, a, b, key, bad):
    """A cumulative (sum) or peak (max) counter lies between domstats before and after; an
    instant value (cur) or a flag is present in domstats with the same type."""
    if key.endswith((".sum", ".max")) and not isinstance(v, bool):
        bracket(label, v, a, b, key, bad)
    elif key not in a or key not in b:
        bad.append(f"{label}: domstats has no {key}")
    elif isinstance(v, bool) != (a[key] in ("yes", "no")):
        bad.append(f"{label}: {v!r} where domstats says {a[key]!r}")


def ts(text):
    from datetime import datetime
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def main():
    os.makedirs(WORK, exist_ok=True)
    os.chmod(WORK, 0o755)
    shutil.copy2(BIN, os.path.join(WORK, "virtdiag"))
    s = Suite()
    s.agent = Agent("main", URI_RO).start()
    try:
        s.check("agent runs as nobody on libvirt-sock-ro", s.read_only_nobody)
        s.check("bulk path: every group from the bulk call", s.bulk_path)
        s.check("truth: every counter within domstats before/after the cycle", s.truth)
        s.check("legacy view: the keys of Nova's original get_diagnostics, values within domstats", s.legacy)
        s.check("rates: deltas over interval_s within 5 %, none negative", s.rates)
        s.check("identity: uuid, devices, Nova metadata vs dumpxml", s.identity)
        s.check("churn: start, suspend, reset, destroy mid-run", s.churn)
        s.check("events: suspend, resume, metadata as event lines within 1 s", s.events)
        s.check("hot-plug, reset and an agent restart", s.hotplug_reset_restart)
        s.check("hung guest (SIGSTOP on its QEMU) does not stall the others", s.hung_guest)
        s.check("libvirtd SIGKILL and restart 5 s later", s.libvirtd_restart)
        s.check("agent started before libvirtd", s.before_libvirtd)
        s.check("test driver through the daemon, 1000 domains", s.test_driver_1000)
        s.check("kvm: opt-in vm group's counters within domstats before/after", s.kvm_counters)
    finally:
        s.agent.stop()
    with open(os.path.join(WORK, "notes.txt"), "w") as f:
        f.write("\n".join(s.notes) + "\n")
    print(f"e2e: {s.passed} passed, {s.failed} failed" + (f", {s.skipped} skipped" if s.skipped else ""))
    return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
