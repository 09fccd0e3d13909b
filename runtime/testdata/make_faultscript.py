#!/usr/bin/env python3
"""Writes faultscript.json: the fault script of scenario 14 of the fault suite
(docs/runtime.md, "Under faults"), which runtime/rust/tests/trace.rs and
runtime/go/trace_test.go both run against PostgreSQL; their decision-and-delay traces
must be identical (runtime/testdata/faulttrace.txt).

    python3 runtime/testdata/make_faultscript.py

Standard library only; running it twice writes the same file.

The script is a sequence of calls run one after another. Each call names a kind of
statement (`read`: an idempotent read; `write`: a non-idempotent write;
`idempotent_write`; `keyed_write`: a write under an idempotency key; `transaction`: a
transaction whose one statement is a non-idempotent write) and the SQLSTATE each
successive attempt of it fails with; the attempt after the last one succeeds. The
server raises them: `setup` installs a PL/pgSQL function that counts the attempts of
each call in a sequence of its own (`nextval` is not rolled back with the failing
statement) and raises the scripted SQLSTATE for that attempt.

The calls are fixed episodes, each there for something the suite must see (every
action of the decision table ending a call, a reroute, a replay, the retry budget
running out, a server reply resetting the breaker's count, the breaker opening and the
calls after it), with filler calls drawn between them from SplitMix64 seeded with
SEED (the runtime's own generator, docs/runtime.md "Random source", so the draws do
not depend on Python's `random`).

Each call's `expect` is its outcome as docs/runtime.md's rules give it, computed here
by a model of the decision table (make_classify.py's), the attempt limit, the retry
budget and the breaker's consecutive-failure count; both tests check every call's
outcome against it, and this script refuses to write a script whose outcomes miss any
of what the episodes are for.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_classify import classify  # noqa: E402  (the decision table, written once)
from make_vectors import SplitMix64  # noqa: E402  (the generator, written once)

# The seed of the filler draws. The runtimes run the script seeded with RUNTIME_SEED.
SEED = 14
RUNTIME_SEED = 14

POLICY = {
    # Small waits so the whole script runs in well under a second of backoff.
    "retry": {"base_us": 2_000, "cap_us": 16_000, "max_attempts": 4, "multiplier": 2.0,
              "jitter": "full"},
    # Far longer than the script: no deadline ever cuts a wait short.
    "timeout_ms": 60_000,
    # Open for longer than the test runs: once open, it stays open.
    "breaker": {"failure_threshold": 3, "open_for_ms": 3_600_000},
    # No reserve and a window longer than the test: a bucket holds at most
    # percent% of the calls made so far, whatever the clock says.
    "budget": {"percent": 60, "min_per_sec": 0, "ttl_ms": 3_600_000},
    # Room for the Rust runtime's connections shared by reads (half the pool).
    "pool": {"max_size": 4, "acquire_timeout_ms": 10_000},
}

KINDS = ["read", "write", "idempotent_write", "keyed_write", "transaction"]
# Codes of the filler calls; 53300 is kept for the breaker's own episodes.
FILLER_CODES = ["40001", "40P01", "55P03", "57P01", "25006", "08006", "23505", "XX000",
                "57014", "22012"]


def episodes():
    """(name, calls); a call is (kind, faults) or (kind, faults, key)."""
    r, w, iw, kw, tx = KINDS
    return [
        # Traffic before the faults: the budget allows retries in proportion to calls.
        ("warm-up", [(r, []), (w, []), (iw, []), (kw, [], "k-warm"), (tx, []), (r, []),
                     (w, []), (r, []), (iw, []), (r, [])]),
        ("retried, then served", [(r, ["40001"]), (w, ["55P03"]), (iw, ["40P01", "08006"]),
                                  (kw, ["57P01"], "k-served"), (r, ["57P01", "08006"])]),
        ("rerouted to the primary", [(w, ["25006"]), (r, ["25006", "40001"])]),
        ("every action ends a call", [
            (r, ["40001", "40001", "40001", "40001"]),   # rerun_transaction
            (w, ["55P03", "55P03", "55P03", "55P03"]),   # backoff_retry
            (r, ["08006", "08006", "08006", "08006"]),   # retry_anywhere
            (w, ["25006", "25006", "25006", "25006"]),   # reroute_primary
            (w, ["08006"]),                               # ambiguous
            (w, ["40P01", "57P01"]),                      # ambiguous after a retry
            (iw, ["23505"]), (r, ["XX000"]), (r, ["57014"]), (w, ["22012"]),  # fatal
        ]),
        ("transactions", [(tx, ["40001"]), (tx, ["40P01", "55P03"]), (tx, ["08006"]),
                          (tx, ["40001", "40001", "40001", "40001"]), (tx, ["23505"])]),
        ("a keyed write replayed", [(kw, [], "k-served")]),
        # Two refusals, a server reply, then one refusal: without the reply's reset the
        # third would open the breaker.
        ("a server reply resets the breaker's count", [(iw, ["53300", "53300", "40001"]),
                                                        (r, ["53300"])]),
        ("the contention budget runs out", [(r, ["40001", "40P01", "55P03"]),
                                            (w, ["55P03", "55P03"]),
                                            (iw, ["40P01", "40001", "40001"]),
                                            (tx, ["40001", "40P01"]),
                                            (r, ["40001", "40001"])]),
        # A restart evicts every connection; reads alone use the new one (the Rust
        # runtime holds it for reads to share); then the server refuses three times in
        # a row and the breaker opens for good. The healthy connection still serves
        # first attempts of every kind; retries need the breaker's permit.
        ("the breaker opens", [(r, ["57P01"]), (r, []), (r, []),
                               (r, ["53300", "53300", "53300"]),
                               (w, []), (r, []), (tx, []), (iw, []),
                               (r, ["08006"]), (w, ["XX000"]), (tx, ["40001"])]),
    ]


def draw_filler(rng, n_keys):
    kind = KINDS[rng.uniform(len(KINDS) - 1)]
    faults = [FILLER_CODES[rng.uniform(len(FILLER_CODES) - 1)]
              for _ in range(rng.uniform(2))]
    if kind == "keyed_write":
        return (kind, faults, f"k{n_keys}")
    return (kind, faults)


class Model:
    """docs/runtime.md's rules for one host and calls one after another."""

    def __init__(self):
        b = POLICY["budget"]
        self.reserve = b["min_per_sec"] * b["ttl_ms"] // 1000
        self.requests = 0
        self.buckets = {"contention": 0, "outage": 0}
        self.consecutive = 0
        self.open = False
        self.keys = set()
        self.seen = set()  # what the outcomes exercised

    def budget_allows(self, cls):
        bucket = ("contention" if cls in ("serialization", "deadlock", "lock_not_available")
                  else "outage")
        ok = ((self.buckets[bucket] + 1) * 100
              <= self.reserve * 100 + self.requests * POLICY["budget"]["percent"])
        if ok:
            self.buckets[bucket] += 1
        return ok

    def breaker_failure(self):
        if not self.open:
            self.consecutive += 1
            if self.consecutive >= POLICY["breaker"]["failure_threshold"]:
                self.open = True
                self.consecutive = 0
                self.seen.add("breaker opened")

    def breaker_success(self):
        if not self.open:
            self.consecutive = 0

    def run(self, kind, faults, key):
        in_tx = kind == "transaction"
        idempotent = kind in ("read", "idempotent_write", "keyed_write")
        if kind == "keyed_write" and key in self.keys:
            if faults:
                raise SystemExit(f"a replay of {key} runs no statement: no faults")
            self.requests += 1
            self.seen.add("replayed")
            return "ok"
        limit = POLICY["retry"]["max_attempts"]
        attempt = 0
        while True:
            attempt += 1
            # A first attempt is served by an idle connection whatever the breaker
            # says; a retry needs its permit.
            if attempt > 1 and self.open:
                self.seen.add("breaker_open")
                return outcome("breaker_open", "fatal", attempt, False)
            permit = not self.open
            if attempt == 1:
                self.requests += 1
            code = faults[attempt - 1] if attempt <= len(faults) else None
            if code is None:
                if permit:
                    self.breaker_success()
                if kind == "keyed_write":
                    self.keys.add(key)
                return "ok"
            cls, action, _evict, feeds = classify("sqlstate", code, "replied", in_tx,
                                                  idempotent, "primary")
            if not in_tx:
                # A transaction's failed run tells its breaker nothing.
                if feeds:
                    self.breaker_failure()
                elif permit:
                    self.breaker_success()
            # A transaction re-runs only for rerun_transaction; a statement for every
            # action but fatal and ambiguous.
            if in_tx:
                retried = action == "rerun_transaction"
            else:
                retried = action not in ("fatal", "ambiguous")
            if not retried or attempt == limit:
                self.seen.add(action)
                return outcome(cls, action, attempt, False)
            if not self.budget_allows(cls):
                self.seen.add("budget exhausted")
                return outcome(cls, action, attempt, True)
            self.seen.add("retry " + cls)


def outcome(cls, action, attempts, exhausted):
    ambiguous = "true" if action == "ambiguous" else "false"
    return (f"err {cls} {action} attempts={attempts} ambiguous={ambiguous} "
            f"budget_exhausted={'true' if exhausted else 'false'}")


REQUIRED = {"retry_anywhere", "backoff_retry", "rerun_transaction", "reroute_primary",
            "ambiguous", "fatal", "budget exhausted", "breaker opened", "breaker_open",
            "replayed"}


def setup_sql(calls):
    sql = ["CREATE TABLE fault_log (call int PRIMARY KEY, attempt bigint NOT NULL, key text)",
           "CREATE TABLE fault_script (call int, attempt int, sqlstate text NOT NULL, "
           "PRIMARY KEY (call, attempt))"]
    sql.append("DO $$ BEGIN FOR c IN 0..%d LOOP "
               "EXECUTE format('CREATE SEQUENCE fault_attempts_%%s', c); END LOOP; END $$"
               % (len(calls) - 1))
    rows = [f"({c['call']}, {i + 1}, '{code}')"
            for c in calls for i, code in enumerate(c["faults"])]
    sql.append("INSERT INTO fault_script VALUES " + ", ".join(rows))
    sql.append("""CREATE FUNCTION sqlpact_fault(c int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint := nextval(format('fault_attempts_%s', c)::regclass);
  code text;
BEGIN
  SELECT s.sqlstate INTO code FROM fault_script s WHERE s.call = c AND s.attempt = n;
  IF code IS NOT NULL THEN
    RAISE EXCEPTION 'scripted fault: call %, attempt %', c, n USING ERRCODE = code;
  END IF;
  RETURN n;
END $$""")
    return sql


def main() -> None:
    rng = SplitMix64(SEED)
    calls = []
    n_keys = 0
    for i, (name, group) in enumerate(episodes()):
        drawn = []
        # Filler before every episode but the warm-up and the breaker's (whose
        # connections must be as the episode says).
        if 0 < i < len(episodes()) - 1:
            for _ in range(1 + rng.uniform(2)):
                drawn.append(draw_filler(rng, n_keys))
                n_keys += 1
        for j, spec in enumerate(drawn + group):
            kind, faults = spec[0], list(spec[1])
            c = {"call": len(calls), "episode": "filler" if j < len(drawn) else name,
                 "kind": kind, "faults": faults}
            if kind == "keyed_write":
                c["key"] = spec[2]
            calls.append(c)

    model = Model()
    for c in calls:
        c["expect"] = model.run(c["kind"], c["faults"], c.get("key"))
    missing = REQUIRED - model.seen
    if missing:
        for c in calls:
            print(c["call"], c["episode"], c["kind"], c["faults"], c.get("key", ""), "->",
                  c["expect"], file=sys.stderr)
        raise SystemExit(f"the script does not exercise {sorted(missing)}")

    doc = {"about": "Generated by make_faultscript.py: scenario 14 of the fault suite; "
                    "read by runtime/rust/tests/trace.rs and runtime/go/trace_test.go.",
           "seed": RUNTIME_SEED, "policy": POLICY, "setup": setup_sql(calls), "calls": calls}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faultscript.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        # One call a line: reviewable in a diff.
        head = {k: v for k, v in doc.items() if k != "calls"}
        f.write("{\n")
        for k, v in head.items():
            f.write(f" {json.dumps(k)}: {json.dumps(v)},\n")
        f.write(' "calls": [\n')
        f.write(",\n".join("  " + json.dumps(c, separators=(",", ":")) for c in calls))
        f.write("\n ]\n}\n")
    print(f"{len(calls)} calls, {sum(len(c['faults']) for c in calls)} faults")


if __name__ == "__main__":
    main()
