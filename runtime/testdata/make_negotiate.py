#!/usr/bin/env python3
"""Writes negotiate.json: wire version negotiation cases for both runtimes.

A side accepts the versions min..=max. Two sides speak the highest version both
accept; when the ranges do not overlap there is none. This script is the reference:
it enumerates every pair of ranges over 1..=5 and decides each by brute force.
"""
import json
import os

cases = []
ranges = [(lo, hi) for lo in range(1, 6) for hi in range(lo, 6)]
for local in ranges:
    for remote in ranges:
        common = set(range(local[0], local[1] + 1)) & set(range(remote[0], remote[1] + 1))
        cases.append({
            "local": list(local),
            "remote": list(remote),
            "want": max(common) if common else None,
        })
# Malformed ranges (min above max) are refused, whatever the other side says.
for bad in [(3, 2), (0, 0)]:
    cases.append({"local": list(bad), "remote": [1, 5], "want": None, "invalid": True})
    cases.append({"local": [1, 5], "remote": list(bad), "want": None, "invalid": True})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "negotiate.json")
with open(out, "w") as f:
    json.dump({"cases": cases}, f, indent=1)
    f.write("\n")
