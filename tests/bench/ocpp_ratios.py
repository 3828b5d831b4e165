#!/usr/bin/env python3
"""Reads `ocpp_bench --benchmark_format=json` on stdin and prints, per case, the time of the typed
decode against the bare Boost.JSON DOM parse of the same bytes (and serialization likewise), and
the gateway's MeterValues event written directly against the same event built as a message.
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
        m = re.match(r"BM_(\w+?)_(BareParse|Typed|BareSerialize|TypedSerialize|EventMessage|EventDirect)$", b["name"])
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
        if t.get("EventMessage") and t.get("EventDirect"):
            row["event_message_ns"] = t["EventMessage"]
            row["event_direct_ns"] = t["EventDirect"]
            row["event_ratio"] = round(t["EventDirect"] / t["EventMessage"], 3)
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
        if "event_ratio" in r:
            print(f"{case:<22} event as a message {r['event_message_ns']:>8.0f} ns, written directly "
                  f"{r['event_direct_ns']:>6.0f} ns, ratio {r['event_ratio']:.2f}")


if __name__ == "__main__":
    main()
