#!/usr/bin/env python3
"""Reads `smart_charging_bench --benchmark_format=json` on stdin and prints each case's time and
its ratio to the naive equal split of the same site measured in the same run.
With --json prints the figures as a JSON object."""
import json
import sys


def main():
    data = json.load(sys.stdin)
    times = {}
    for b in data["benchmarks"]:
        # With --benchmark_repetitions the median aggregate stands for the case.
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"]).split("/")[0]
        if b.get("run_type") != "aggregate" and name in times:
            continue
        unit = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b.get("time_unit", "ns")]
        times[name] = b["cpu_time"] * unit  # ms
    base = times.get("BM_SmartCharging_EqualSplit10k")
    out = {}
    for name, ms in times.items():
        row = {"ms": round(ms, 4)}
        if base:
            row["ratio_to_equal_split"] = round(ms / base, 1)
        out[name] = row
    if "--json" in sys.argv:
        json.dump(out, sys.stdout, indent=2)
        print()
        return
    for name, row in out.items():
        ratio = f"  x{row['ratio_to_equal_split']}" if "ratio_to_equal_split" in row else ""
        print(f"{name:40s} {row['ms']:10.3f} ms{ratio}")


if __name__ == "__main__":
    main()
