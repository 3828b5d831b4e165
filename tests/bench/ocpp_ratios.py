#!/usr/bin/env python3
"""Reads `ocpp_bench --benchmark_format=json` on stdin and prints, per case, the time of the typed
decode against the bare Boost.JSON DOM parse of the same bytes (and serialization likewise).
With --json prints the figures as a JSON object for build/bench/report.json."""
import json
import re
import sys


def main():
    data = json.load(sys.stdin)
    times = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        m = re.match(r"BM_(\w+?)_(BareParse|Typed|BareSerialize|TypedSerialize)$", b["name"])
        if m:
            times.setdefault(m.group(1), {})[m.group(2)] = b["cpu_time"]  # ns
    out = {}
    for case, t in sorted(times.items()):
        row = {"bare_parse_ns": t.get("BareParse"), "typed_ns": t.get("Typed"),
               "bare_serialize_ns": t.get("BareSerialize"), "typed_serialize_ns": t.get("TypedSerialize")}
        if row["bare_parse_ns"] and row["typed_ns"]:
            row["parse_ratio"] = round(row["typed_ns"] / row["bare_parse_ns"], 3)
        if row["bare_serialize_ns"] and row["typed_serialize_ns"]:
            row["serialize_ratio"] = round(row["typed_serialize_ns"] / row["bare_serialize_ns"], 3)
        out[case] = row
    if "--json" in sys.argv:
        json.dump(out, sys.stdout, indent=2)
        print()
        return
    print(f"{'case':<22} {'bare DOM parse':>15} {'typed decode':>13} {'ratio':>6}   "
          f"{'bare serialize':>15} {'typed encode':>13} {'ratio':>6}")
    for case, r in out.items():
        print(f"{case:<22} {r['bare_parse_ns']:>12.0f} ns {r['typed_ns']:>10.0f} ns {r.get('parse_ratio', 0):>6.2f}   "
              f"{r['bare_serialize_ns']:>12.0f} ns {r['typed_serialize_ns']:>10.0f} ns {r.get('serialize_ratio', 0):>6.2f}")


if __name__ == "__main__":
    main()
