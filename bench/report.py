#!/usr/bin/env python3
"""Prints, for each benchmark family, the median time of every implementation
and the ratio peer/twisted (above 1 means twisted-cpp is faster).

usage: report.py FILE.json METRIC [FILE.json METRIC ...]   (METRIC: cpu_time or real_time)
"""
import json
import sys


def medians(path, metric):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        family, impl = b["run_name"].split("/")[:2]
        out.setdefault(family, {})[impl] = b[metric]
    return out


def main(argv):
    for path, metric in zip(argv[0::2], argv[1::2]):
        for family, impls in medians(path, metric).items():
            ours = impls.get("twisted")
            print(f"\n{family} ({metric.replace('_', ' ')}, median, ms)")
            print(f"| {'impl':<9} | {'time':>9} | {'peer / twisted':>14} |")
            print(f"|{'-' * 11}|{'-' * 11}|{'-' * 16}|")
            for impl, t in impls.items():
                ratio = "" if impl == "twisted" or not ours else f"{t / ours:.2f}x"
                print(f"| {impl:<9} | {t:>9.1f} | {ratio:>14} |")


if __name__ == "__main__":
    main(sys.argv[1:])
