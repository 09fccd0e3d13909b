#!/usr/bin/env python3
"""Seeds the fuzz corpus from the test fixtures: every registry file, every schema
and query pair, every .proto file and every compat fixture pair, in the input layout
of the targets in src/lib.rs. Files are named by the SHA-1 of their content, as
libFuzzer names what it adds, so seeding twice adds nothing.

    python3 fuzz/seed.py            # then: cargo +nightly fuzz cmin <target>
"""
import hashlib
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT / "fuzz" / "corpus"
MARK = "\n-- @@ "


def read(p: pathlib.Path) -> str:
    try:
        return p.read_text()
    except (OSError, UnicodeDecodeError):
        return ""


def add(target: str, data: str) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    b = data.encode()
    (d / hashlib.sha1(b).hexdigest()).write_bytes(b)


def sql_of(dir: pathlib.Path) -> tuple[str, str]:
    schema = read(dir / "schema.sql") or read(dir.parent / "schema.sql")
    return schema, read(dir / "queries.sql")


def main() -> None:
    for reg in sorted(FIXTURES.rglob("sqlpact.yaml")):
        if reg.stat().st_size < 64 << 10:
            add("registry", read(reg))
        schema, queries = sql_of(reg.parent)
        if queries:
            add("sql", f"{schema}{MARK}queries\n{queries}")
    for proto in sorted(FIXTURES.rglob("*.proto")):
        add("proto", read(proto))
    for old in sorted(FIXTURES.glob("compat/*/old")):
        new = old.parent / "new"
        (os, oq), (ns, nq) = sql_of(old), sql_of(new)
        add("compat", f"{os}{MARK}old queries\n{oq}{MARK}new schema\n{ns}{MARK}new queries\n{nq}")


if __name__ == "__main__":
    main()
