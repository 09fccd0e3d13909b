#!/usr/bin/env python3
"""Writes breaker.json: the shared test vectors of the runtime's circuit breaker (event
sequences and the state after each event), computed from docs/runtime.md's rules
independently of the Rust and Go implementations.

    python3 runtime/testdata/make_breaker.py

Standard library only.
"""

import json
import os
import random
from collections import deque

M = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & M

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & M
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)

    def uniform(self, max_):
        return (self.next() * (max_ + 1)) >> 64


class Breaker:
    def __init__(self, cfg, seed):
        self.cfg = cfg
        self.probe_at = 0
        self.rng = SplitMix64(seed)
        self.state = "closed"
        self.consecutive = 0
        self.window = deque()  # (t, failed)
        self.openings = 0
        self.open_until = 0

    def open_delay(self):
        base = self.cfg["open_for_ms"]
        k = self.openings
        d = self.cfg["max_open_ms"] if k >= 64 or base > (self.cfg["max_open_ms"] >> k) else base << k
        d = min(d, self.cfg["max_open_ms"])
        return d - d // 2 + self.rng.uniform(d // 2)

    def trip(self, now):
        self.open_until = now + self.open_delay()
        self.openings += 1
        self.state = "open"
        self.consecutive = 0
        self.window.clear()

    def prune(self, now):
        while self.window and self.window[0][0] + self.cfg["window_ms"] <= now:
            self.window.popleft()

    def allow(self, now):
        if self.state == "closed":
            return True
        if self.state == "open" and now >= self.open_until:
            self.state = "half_open"
            self.probe_at = now
            return True
        # A probe whose result never came (its caller gave up) is presumed lost after
        # open_for: the next request becomes the probe.
        if self.state == "half_open" and now >= self.probe_at + self.cfg["open_for_ms"]:
            self.probe_at = now
            return True
        return False

    def success(self, now):
        if self.state == "half_open":
            self.state = "closed"
            self.openings = 0
            self.consecutive = 0
            self.window.clear()
        elif self.state == "closed":
            self.consecutive = 0
            self.prune(now)
            self.window.append((now, False))

    def failure(self, now):
        if self.state == "half_open":
            self.trip(now)
        elif self.state == "closed":
            self.consecutive += 1
            self.prune(now)
            self.window.append((now, True))
            failed = sum(1 for _, f in self.window if f)
            if self.consecutive >= self.cfg["failure_threshold"] or (
                len(self.window) >= self.cfg["min_requests"]
                and failed * 100 >= self.cfg["failure_percent"] * len(self.window)
            ):
                self.trip(now)


def run(cfg, seed, events):
    b = Breaker(cfg, seed)
    out = []
    for t, ev in events:
        res = None
        if ev == "allow":
            res = b.allow(t)
        elif ev == "success":
            b.success(t)
        else:
            b.failure(t)
        out.append({"t": t, "event": ev, "allowed": res, "state": b.state,
                    "open_until": b.open_until if b.state == "open" else None})
    return out


def main():
    cfg = {"failure_threshold": 5, "open_for_ms": 5000, "max_open_ms": 80000,
           "window_ms": 10000, "min_requests": 20, "failure_percent": 50}
    cases = []
    # Consecutive failures open it; it stays open, half-opens, a failed probe reopens
    # for longer, a good probe closes it.
    ev = [(i * 10, "failure") for i in range(5)]
    ev += [(100, "allow"), (3000, "allow"), (9000, "allow"), (9001, "allow"),
           (9002, "failure"), (9003, "allow"), (40000, "allow"), (40001, "success"),
           (40002, "allow"), (40003, "failure")]
    cases.append({"name": "consecutive failures, probe fails then succeeds", "seed": 1,
                  "events": ev})
    # Interleaved successes reset the consecutive count; the failure ratio opens it.
    ev = []
    t = 0
    for i in range(30):
        t += 100
        ev.append((t, "failure" if i % 2 == 0 else "success"))
    cases.append({"name": "failure ratio over the window", "seed": 2, "events": ev})
    # Old results leave the window: sparse failures never open it.
    ev = [(i * 6000, "failure" if i % 3 else "success") for i in range(40)]
    cases.append({"name": "sparse failures age out", "seed": 3, "events": ev})
    # Repeated failed probes grow the open delay up to the cap.
    ev = [(i, "failure") for i in range(5)]
    t = 10
    for _ in range(8):
        t += 200_000
        ev += [(t, "allow"), (t + 1, "failure")]
    cases.append({"name": "open delay grows to the cap", "seed": 4, "events": ev})
    # A probe whose result never comes: after open_for the next request probes.
    ev = [(i, "failure") for i in range(5)]
    ev += [(9000, "allow"), (9001, "allow"), (13999, "allow"), (14000, "allow"),
           (14001, "allow"), (14002, "success"), (14003, "allow")]
    cases.append({"name": "a lost probe is replaced after open_for", "seed": 6, "events": ev})
    # A random mix.
    rng = random.Random(5)
    ev = []
    t = 0
    for _ in range(300):
        t += rng.choice([1, 10, 100, 1000, 7000])
        ev.append((t, rng.choice(["allow", "allow", "success", "failure", "failure"])))
    cases.append({"name": "random mix", "seed": 5, "events": ev})
    doc = {"about": "Generated by make_breaker.py; read by runtime/rust and runtime/go tests.",
           "config": cfg,
           "cases": [{"name": c["name"], "seed": c["seed"], "steps": run(cfg, c["seed"], c["events"])}
                     for c in cases]}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "breaker.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write('{"about": ' + json.dumps(doc["about"]) + ',\n "config": ' + json.dumps(cfg)
                + ',\n "cases": [\n')
        parts = []
        for c in doc["cases"]:
            steps = ",\n".join("   " + json.dumps(s, separators=(",", ":")) for s in c["steps"])
            parts.append('  {"name": ' + json.dumps(c["name"]) + ', "seed": ' + str(c["seed"])
                         + ', "steps": [\n' + steps + "\n  ]}")
        f.write(",\n".join(parts))
        f.write("\n ]\n}\n")
    states = {}
    for c in doc["cases"]:
        for s in c["steps"]:
            states[s["state"]] = states.get(s["state"], 0) + 1
    print(len(doc["cases"]), "cases", states)


if __name__ == "__main__":
    main()
