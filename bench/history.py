#!/usr/bin/env python3
"""Build a git repository holding many tagged versions of a synthetic contract.

    python3 bench/history.py --out DIR [--tags 50] [--queries 2000]
                             [--wire --sqlpact PATH]

The first version is bench/gen_registry.py's registry (200 tables x 12 columns and
--queries queries). Every later tag is one release of a living service:

  - a migration adds a nullable column to a table;
  - two queries gain a result column (at the end: the wire fields keep their
    numbers), and four queries are added;
  - every 5th release adds a query that reads the column its migration added (new
    clients need the new schema: the changelog must say "database first");
  - every 7th release deprecates a query, with a sunset date;
  - every 10th release contracts: it removes the query added 5 releases earlier and
    drops the column it read (a major version: old clients break on the new schema).

Versions are tagged v<major>.<minor>.0. With --wire the registry declares a wire
format whose version follows the major version, and each release commits the
`sqlpact.lock` that `sqlpact generate` (the --sqlpact binary) writes, as a service
does. The output depends only on the arguments. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, BENCH)
import gen_registry  # noqa: E402

SEED = 20261123


def git(cwd: str, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid",
                    "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
                   cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)


def registry_yaml(version: str, wire: int | None, lifecycle: list[tuple[str, str]]) -> str:
    out = [
        "version: 1",
        f"contract: {{ name: bench, version: {version} }}",
        "engine: postgresql",
        "schema: [schema.sql, migrations/*.sql]",
        "queries: [queries/*.sql]",
    ]
    if wire is not None:
        out.append(f"wire: {{ version: {wire} }}")
    if lifecycle:
        out.append("lifecycle:")
        for name, sunset in lifecycle:
            out.append(f"  {name}: {{ deprecated: use the newer query, sunset: {sunset} }}")
    return "\n".join(out) + "\n"


def build(out: str, tags: int, queries: int, wire: bool, sqlpact: str | None = None) -> list[str]:
    if wire and not sqlpact:
        raise SystemExit("--wire needs the sqlpact binary (--sqlpact) to write sqlpact.lock")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tables, base = gen_registry.generate(out, 200, 12, queries, 100, gen_registry.DEFAULT_SEED)
    for sub in ("scythe", "gen"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    for f in ("sqlc.yaml", "scythe.toml"):
        os.remove(os.path.join(out, f))
    gen_registry.write(os.path.join(out, "migrations", "0000_base.sql"),
                       "CREATE INDEX t000_by_id ON t000 (id);\n")
    git(out, "init", "-q", "-b", "main")

    rng = random.Random(SEED)
    files = {}  # file name -> list of Query, the base queries by file
    for fi, start in enumerate(range(0, len(base), 100)):
        files[f"queries_{fi:03d}.sql"] = base[start:start + 100]
    extra: dict[int, list[gen_registry.Query]] = {}
    lifecycle: list[tuple[str, str]] = []
    major, minor = 1, 0
    labels = []

    def write_all() -> None:
        for name, qs in files.items():
            gen_registry.write(os.path.join(out, "queries", name), gen_registry.render_sqlc(qs))
        for i, qs in extra.items():
            path = os.path.join(out, "queries", f"extra_{i:03d}.sql")
            if qs:
                gen_registry.write(path, gen_registry.render_sqlc(qs))
            elif os.path.exists(path):
                os.remove(path)
        gen_registry.write(os.path.join(out, "sqlpact.yaml"),
                           registry_yaml(f"{major}.{minor}.0", major if wire else None, lifecycle))

    def release() -> None:
        write_all()
        if wire:
            subprocess.run([sqlpact, "generate"], cwd=out, check=True, stdout=subprocess.DEVNULL)
        git(out, "add", "-A")
        git(out, "commit", "-q", "-m", f"v{major}.{minor}.0")
        label = f"v{major}.{minor}.0"
        git(out, "tag", label)
        labels.append(label)

    release()
    for i in range(1, tags):
        t = rng.choice(tables)
        added: list[gen_registry.Query] = []
        mig = [f"ALTER TABLE {t.name} ADD COLUMN rev_{i} text;"]
        # Two queries gain a result column.
        for _ in range(2):
            qs = files[rng.choice(sorted(files))]
            k = rng.randrange(len(qs))
            q = qs[k]
            if q.sql.startswith("SELECT id, "):
                qs[k] = gen_registry.Query(q.name, q.kind,
                                           q.sql.replace("\nFROM ", f", id AS rev_{i}\nFROM ", 1))
        # Four new queries: copies of existing ones under new names.
        for j in range(4):
            src = rng.choice(base)
            added.append(gen_registry.Query(f"{src.name}V{i:03d}{j}", src.kind, src.sql))
        if i % 5 == 0:
            added.append(gen_registry.Query(
                f"GetRev{i:03d}", "one",
                f"SELECT id, rev_{i}\nFROM {t.name}\nWHERE id = @id;"))
        breaking = False
        if i % 10 == 0 and (i - 5) in extra:
            gone = [q for q in extra[i - 5] if q.name == f"GetRev{i - 5:03d}"]
            if gone:
                extra[i - 5] = [q for q in extra[i - 5] if q.name != gone[0].name]
                table = gone[0].sql.split("FROM ")[1].split("\n")[0]
                mig.append(f"ALTER TABLE {table} DROP COLUMN rev_{i - 5};")
                breaking = True
        if i % 7 == 0:
            victim = rng.choice(base)
            if victim.name not in dict(lifecycle):
                lifecycle.append((victim.name, f"2027-{(i % 12) + 1:02d}-28"))
        extra[i] = added
        gen_registry.write(os.path.join(out, "migrations", f"{i:04d}_rev.sql"), "\n".join(mig) + "\n")
        if breaking:
            major, minor = major + 1, 0
        else:
            minor += 1
        release()
    return labels


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--tags", type=int, default=50)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--wire", action="store_true")
    ap.add_argument("--sqlpact", help="the binary that writes sqlpact.lock (with --wire)")
    a = ap.parse_args(argv)
    labels = build(a.out, a.tags, a.queries, a.wire, a.sqlpact)
    print(f"{a.out}: {len(labels)} tags, {labels[0]} .. {labels[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
