#!/usr/bin/env bash
# Checks the shipper configs in contrib/ that cannot run on this machine, as far as an
# offline check goes: every YAML, TOML and JSON file parses (the shippers' own
# validators, such as `vector validate` or `filebeat test config`, are not packaged for
# Debian 12), and rsyslog's Kafka snippet passes rsyslogd -N1 with its omkafka. Prints one line per file and "paper configs: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import json, pathlib, subprocess, sys, tempfile, tomllib
import yaml

loaders = {
    ".yaml": yaml.safe_load, ".yml": yaml.safe_load,
    ".toml": tomllib.loads, ".json": json.loads,
}
passed = failed = 0
for path in sorted(pathlib.Path("contrib").rglob("*")):
    load = loaders.get(path.suffix)
    if load is None or not path.is_file():
        continue
    try:
        load(path.read_text())
        print(f"ok   {path}")
        passed += 1
    except Exception as error:
        print(f"FAIL {path}: {error}")
        failed += 1
# rsyslog snippets that go with contrib/rsyslog/virtdiag.conf: rsyslogd -N1 on both.
base = pathlib.Path("contrib/rsyslog/virtdiag.conf").read_text()
for path in [pathlib.Path("contrib/rsyslog-kafka/virtdiag-kafka.conf")]:
    with tempfile.TemporaryDirectory() as work:
        conf = pathlib.Path(work, "rsyslog.conf")
        wired = base.replace('template="virtdiag_json")', 'template="virtdiag_json")\n    call virtdiag_kafka')
        assert wired != base, "contrib/rsyslog/virtdiag.conf has its omfile action"
        conf.write_text(f'global(workDirectory="{work}")\n' + path.read_text() + "\n" + wired)
        check = subprocess.run(["rsyslogd", "-N1", "-f", str(conf)], capture_output=True, text=True)
    if check.returncode == 0:
        print(f"ok   {path} (rsyslogd -N1)")
        passed += 1
    else:
        print(f"FAIL {path}: {check.stderr.strip()}")
        failed += 1
print(f"paper configs: {passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
PY
