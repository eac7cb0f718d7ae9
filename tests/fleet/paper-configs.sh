#!/usr/bin/env bash
# Checks the shipper configs in contrib/ that cannot run on this machine, as far as an
# offline check goes: every YAML, TOML and JSON file parses. (The shippers' own
# validators, such as `vector validate` or `filebeat test config`, are not packaged for
# Debian 12.) Prints one line per file and "paper configs: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import json, pathlib, sys, tomllib
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
print(f"paper configs: {passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
PY
