#!/usr/bin/env python3
"""Speed benchmark: `sqlpact compat` on a large registry, `buf breaking` beside it.

    python3 bench/compat_speed.py [--sqlpact PATH] [--queries 10000] [--messages 2000]
                                  [--runs 5] [--no-buf] [--markdown FILE]

Builds (once, into bench/.work/compat-<queries>x<messages>/) a git repository:

  - v1.0.0: bench/gen_registry.py's registry (200 tables x 12 columns, --queries
    queries) whose wire format is --messages hand-written protobuf messages of 10
    fields each (api/*.proto, 100 messages a file; `wire.queries: []`, so no message
    is derived from a query), with the `sqlpact.lock` that `sqlpact generate` writes;
  - HEAD: the same with 200 scattered changes to the SQL (70 queries lose a result
    column, 40 turn from :one to :many, 30 are removed, 30 added, 15 table columns
    change type, 15 tables gain a NOT NULL column without a default) and, as buf's
    reference measurement has it, 200 fields of the protobuf messages deleted (100)
    or retyped (100).

Then it times, side by side in one run (alternating, one warm-up each):

  - `sqlpact compat --against v1.0.0 --format json` in the repository (the baseline
    read from git), and checks that it reports the proto changes and the SQL ones;
  - `buf breaking api --against <v1.0.0's api/, a directory>` (buf 1.75.0 from the
    `@bufbuild/buf` npm package, installed into bench/.work/buf), on the same .proto
    files, and checks that it fails.

It reports the median, min and max wall time, the peak RSS (ru_maxrss from wait4),
and the ratio of the medians. Targets (sqlpact): under 1 s wall, under 150 MB.

Standard library only (npm installs buf).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, ".work")
BUF_VERSION = "1.75.0"
SEED = 20261124

sys.dont_write_bytecode = True
sys.path.insert(0, BENCH)
import gen_registry  # noqa: E402
from history import git  # noqa: E402

SCALARS = ["string", "int64", "int32", "bool", "double", "bytes", "uint32", "float",
           "sint64", "fixed64"]
# A retyped field takes a type of another wire group and JSON form: always breaking.
RETYPE = {"string": "int64", "bytes": "int64", "int64": "string", "int32": "string",
          "bool": "string", "double": "string", "uint32": "string", "float": "string",
          "sint64": "string", "fixed64": "string"}


def write_protos(out: str, messages: list[list[tuple[str, str]]]) -> None:
    api = os.path.join(out, "api")
    shutil.rmtree(api, ignore_errors=True)
    os.makedirs(api)
    for f, start in enumerate(range(0, len(messages), 100)):
        lines = ['syntax = "proto3";', "", "package bench.api.v1;", "",
                 'option go_package = "example.com/bench/api/v1;apiv1";', ""]
        for m in range(start, min(start + 100, len(messages))):
            lines.append(f"message Entity{m:05d} {{")
            for name, number_type in messages[m]:
                number, ty = number_type.split(":")
                lines.append(f"  {ty} {name} = {number};")
            lines.append("}")
            lines.append("")
        gen_registry.write(os.path.join(api, f"api_{f:03d}.proto"), "\n".join(lines))


def registry_yaml() -> str:
    return "\n".join([
        "version: 1",
        "contract: { name: bench, version: 1.0.0 }",
        "engine: postgresql",
        "schema: [schema.sql]",
        "queries: [queries/*.sql]",
        "wire: { version: 1, protos: [api/*.proto], queries: [] }",
        "",
    ])


def split_queries(text: str) -> tuple[str, list[str]]:
    head, *parts = text.split("-- name: ")
    return head, parts


def build(out: str, queries: int, messages: int, sqlpact: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    gen_registry.generate(out, 200, 12, queries, 100, gen_registry.DEFAULT_SEED)
    for sub in ("scythe", "gen"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    for f in ("sqlc.yaml", "scythe.toml"):
        os.remove(os.path.join(out, f))
    gen_registry.write(os.path.join(out, "sqlpact.yaml"), registry_yaml())
    rng = random.Random(SEED)
    msgs = [[(f"field_{k}", f"{k + 1}:{rng.choice(SCALARS)}") for k in range(10)]
            for _ in range(messages)]
    write_protos(out, msgs)
    subprocess.run([sqlpact, "generate"], cwd=out, check=True, stdout=subprocess.DEVNULL)
    git(out, "init", "-q", "-b", "main")
    git(out, "add", "-A")
    git(out, "commit", "-q", "-m", "v1.0.0")
    git(out, "tag", "v1.0.0")

    # 200 protobuf fields deleted or retyped, in distinct messages.
    for i, m in enumerate(rng.sample(range(messages), 200)):
        k = rng.randrange(10)
        name, number_type = msgs[m][k]
        number, ty = number_type.split(":")
        if i % 2 == 0:
            del msgs[m][k]
        else:
            msgs[m][k] = (name, f"{number}:{RETYPE[ty]}")
    write_protos(out, msgs)

    # 200 scattered changes to the SQL.
    qdir = os.path.join(out, "queries")
    files = {f: split_queries(open(os.path.join(qdir, f), encoding="utf-8").read())
             for f in sorted(os.listdir(qdir))}
    slots = [(f, i) for f, (_, parts) in files.items() for i in range(len(parts))]
    rng.shuffle(slots)
    changes = {"drop column": 0, "one to many": 0, "removed": 0, "added": 0}
    removed: set[tuple[str, int]] = set()
    added: list[str] = []
    for f, i in slots:
        parts = files[f][1]
        q = parts[i]
        if changes["drop column"] < 70 and re.search(r"SELECT id, \w+, ", q):
            parts[i] = re.sub(r"SELECT id, \w+, ", "SELECT id, ", q, count=1)
            changes["drop column"] += 1
        elif changes["one to many"] < 40 and " :one\n" in q.split("\n", 1)[0] + "\n":
            parts[i] = q.replace(" :one\n", " :many\n", 1)
            changes["one to many"] += 1
        elif changes["removed"] < 30 and rng.random() < 0.1:
            removed.add((f, i))
            changes["removed"] += 1
        elif changes["added"] < 30 and rng.random() < 0.1:
            name, rest = q.split(" ", 1)
            added.append(f"{name}Copy {rest}")
            changes["added"] += 1
        if changes == {"drop column": 70, "one to many": 40, "removed": 30, "added": 30}:
            break
    else:
        raise SystemExit(f"too few queries for the changes: {changes}")
    for f, (head, parts) in files.items():
        kept = [p for i, p in enumerate(parts) if (f, i) not in removed]
        if f == sorted(files)[-1]:
            kept += added
        gen_registry.write(os.path.join(qdir, f), head + "".join("-- name: " + p for p in kept))
    schema_path = os.path.join(out, "schema.sql")
    schema = open(schema_path, encoding="utf-8").read()
    ints = re.findall(r"^    (\w+) int4( NOT NULL)?,?$", schema, re.M)
    tables = re.findall(r"^CREATE TABLE (\w+) \($", schema, re.M)
    retyped = 0
    for t in rng.sample(tables, len(tables)):
        if retyped == 15:
            break
        body = re.search(rf"^CREATE TABLE {t} \(\n(.*?)\n\);", schema, re.M | re.S)
        m = re.search(r"^    (\w+) int4", body.group(1), re.M) if body else None
        if m:
            start = body.start(1) + m.start()
            schema = schema[:start] + schema[start:].replace(" int4", " int8", 1)
            retyped += 1
    assert retyped == 15 and ints, "the schema has too few int4 columns"
    for t in rng.sample(tables, 15):
        schema = re.sub(rf"^(CREATE TABLE {t} \(\n)", rf"\1    region_code text NOT NULL,\n",
                        schema, count=1, flags=re.M)
    gen_registry.write(schema_path, schema)
    gen_registry.write(os.path.join(out, "sqlpact.yaml"),
                       registry_yaml().replace("version: 1.0.0", "version: 2.0.0"))
    subprocess.run([sqlpact, "generate"], cwd=out, check=True, stdout=subprocess.DEVNULL)
    git(out, "add", "-A")
    git(out, "commit", "-q", "-m", "v2.0.0")
    baseline = os.path.join(out + "-baseline-api")
    shutil.rmtree(baseline, ignore_errors=True)
    os.makedirs(baseline)
    archive = subprocess.run(["git", "archive", "v1.0.0", "api"], cwd=out, check=True,
                             stdout=subprocess.PIPE).stdout
    subprocess.run(["tar", "-x", "-C", baseline], input=archive, check=True)


def install_buf() -> str:
    prefix = os.path.join(WORK, "buf")
    exe = os.path.join(prefix, "node_modules", ".bin", "buf")
    if not os.path.exists(exe):
        print(f"installing @bufbuild/buf@{BUF_VERSION} ...", file=sys.stderr)
        os.makedirs(prefix, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                        prefix, f"@bufbuild/buf@{BUF_VERSION}"], check=True)
    got = subprocess.run([exe, "--version"], check=True, stdout=subprocess.PIPE,
                         text=True).stdout.strip()
    if got != BUF_VERSION:
        raise SystemExit(f"buf {got} installed, {BUF_VERSION} wanted")
    return exe


def timed(cmd: list[str], cwd: str, ok: tuple[int, ...]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB (wait4) and standard output of one run."""
    out_path = os.path.join(WORK, "compat-speed.out")
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(out_path, encoding="utf-8") as f:
        text = f.read()
    if code not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{text[:2000]}")
    return wall, usage.ru_maxrss / 1024, text


def row(name: str, walls: list[float], rss: list[float]) -> str:
    return (f"| {name} | {len(walls)} | {statistics.median(walls):.2f} | {min(walls):.2f} | "
            f"{max(walls):.2f} | {max(rss):.0f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sqlpact", default=os.path.join(REPO, "target", "release", "sqlpact"))
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-buf", action="store_true", help="time sqlpact alone")
    ap.add_argument("--markdown", help="also write the result table to this file")
    a = ap.parse_args(argv)
    if not os.access(a.sqlpact, os.X_OK):
        raise SystemExit(f"{a.sqlpact} is not built: run `cargo build --release`")
    repo = os.path.join(WORK, f"compat-{a.queries}x{a.messages}")
    marker = os.path.join(repo, ".git", "bench-complete")
    if not os.path.exists(marker):
        print(f"building {repo} ...", file=sys.stderr)
        build(repo, a.queries, a.messages, a.sqlpact)
        open(marker, "w").close()
    baseline_api = os.path.join(repo + "-baseline-api", "api")
    buf = None if a.no_buf else install_buf()

    sqlpact_cmd = [a.sqlpact, "compat", "--against", "v1.0.0", "--format", "json"]
    buf_cmd = [buf, "breaking", "api", "--against", baseline_api] if buf else None
    walls: dict[str, list[float]] = {"sqlpact": [], "buf": []}
    rss: dict[str, list[float]] = {"sqlpact": [], "buf": []}
    for i in range(a.runs + 1):
        w, r, text = timed(sqlpact_cmd, repo, (1,))
        if i == 0:
            found = json.loads(text)["findings"]
            by_rule: dict[str, int] = {}
            for f in found:
                by_rule[f["rule"]] = by_rule.get(f["rule"], 0) + 1
            print("sqlpact findings by rule:", json.dumps(by_rule, sort_keys=True),
                  file=sys.stderr)
            # Every deleted and every retyped field, and each kind of SQL change.
            for rule, least in [("WIR-002", 100), ("WIR-005", 100), ("COL-001", 70),
                                ("QRY-002", 40), ("QRY-001", 30), ("QRY-004", 30),
                                ("SCH-002", 1), ("SCH-003", 1)]:
                if by_rule.get(rule, 0) < least:
                    raise SystemExit(f"sqlpact reports {by_rule.get(rule, 0)} {rule}, "
                                     f"expected at least {least}")
        else:
            walls["sqlpact"].append(w)
            rss["sqlpact"].append(r)
        if buf_cmd:
            w, r, text = timed(buf_cmd, repo, (100,))
            if i == 0:
                lines = [l for l in text.splitlines() if l.strip()]
                print(f"buf reports {len(lines)} breaking changes", file=sys.stderr)
                if len(lines) < 200:
                    raise SystemExit(f"buf reports {len(lines)} changes, expected 200")
            else:
                walls["buf"].append(w)
                rss["buf"].append(r)

    rows = ["| command | runs | median s | min s | max s | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|",
            row(f"sqlpact compat ({a.queries} queries, {a.messages} messages, from git)",
                walls["sqlpact"], rss["sqlpact"])]
    if buf_cmd:
        rows.append(row(f"buf breaking {BUF_VERSION} ({a.messages} messages, a directory)",
                        walls["buf"], rss["buf"]))
    table = "\n".join(rows)
    med = statistics.median(walls["sqlpact"])
    peak = max(rss["sqlpact"])
    print(f"{platform.machine()}, {os.cpu_count()} cores")
    print(table)
    if buf_cmd:
        ratio = med / statistics.median(walls["buf"])
        print(f"sqlpact / buf, medians: {ratio:.2f}")
    print(f"targets: under 1 s: {'met' if med < 1 else 'NOT met'} (median {med:.2f} s); "
          f"under 150 MB: {'met' if peak < 150 else 'NOT met'} (peak {peak:.0f} MB)")
    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
