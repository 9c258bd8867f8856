#!/usr/bin/env python3
"""Prints, for each benchmark family, the median time of every implementation
and the ratio peer/twisted (above 1 means twisted-cpp is faster).

usage: report.py FILE.json METRIC [FILE.json METRIC ...]   (METRIC: cpu_time or real_time)
"""
import json
import sys


TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def medians(paths, metric):
    """Median time (ms) per family and implementation; `paths` may join
    several JSON files with '+' (e.g. ours and Twisted's)."""
    benchmarks = []
    for path in paths.split("+"):
        with open(path) as f:
            benchmarks += json.load(f)["benchmarks"]
    out = {}
    for b in benchmarks:
        if b.get("aggregate_name", "median") != "median":
            continue
        family, impl = b["run_name"].split("/")[:2]
        out.setdefault(family, {})[impl] = b[metric] * TO_MS[b.get("time_unit", "ns")]
    return out


def main(argv):
    for path, metric in zip(argv[0::2], argv[1::2]):
        for family, impls in medians(path, metric).items():
            ours = impls.get("twisted")
            print(f"\n{family} ({metric.replace('_', ' ')}, median)")
            print(f"| {'impl':<14} | {'time (ms)':>12} | {'peer / twisted':>14} |")
            print(f"|{'-' * 16}|{'-' * 14}|{'-' * 16}|")
            for impl, t in impls.items():
                ratio = "" if impl == "twisted" or not ours else f"{t / ours:.2f}x"
                print(f"| {impl:<14} | {t:>12.6g} | {ratio:>14} |")


if __name__ == "__main__":
    main(sys.argv[1:])
