#!/usr/bin/env python3
"""The PromQL of the alert rules and dashboards, for the deployment checks.

  expressions.py rules OUT.yml    every dashboard query as a recording rule (for promtool's syntax
                                  check; Grafana variables replaced by plain values)
  expressions.py metrics          every metric named in the rules and dashboards is registered in
                                  services/ (prometheus-cpp .Name("...")); prints the ones that are not
  expressions.py list             one JSON line per expression with its metric selectors and, for
                                  an alert, the sides of its comparisons (used by prometheus_check);
                                  `conditional` says why a panel may be empty on deploy/local

Sources: deploy/prometheus/alerts.yml and deploy/grafana/dashboards/*.json.
"""
import json
import pathlib
import re
import sys

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
ALERTS = REPO / "deploy/prometheus/alerts.yml"
DASHBOARDS = sorted((REPO / "deploy/grafana/dashboards").glob("*.json"))
# Grafana's variables, as the check evaluates them: a window of one minute, every value.
VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$site": ".*"}
SELECTOR = re.compile(r"\b(switchyard_[a-z0-9_]+|up)\b\s*(\{[^}]*\})?")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Metrics a service registers only with a feature deploy/local cannot switch on (it would need the
# outside party): a panel whose every metric is one of them is checked by name only (`metrics`),
# not for data by prometheus_check. Alerts never are.
CONDITIONAL = {
    "switchyard_roaming_oicp_": "registered only with --oicp-url (Hubject); deploy/local has none",
}


def substitute(expr):
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def expressions():
    """[(source, kind, name, expr)]: kind is 'alert' or 'panel'."""
    out = []
    for group in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]:
        for rule in group["rules"]:
            out.append((ALERTS.name, "alert", rule.get("alert") or rule.get("record"), rule["expr"]))
    for path in DASHBOARDS:
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                out.append((path.name, "panel", f'{panel["title"]} [{target["refId"]}]',
                            substitute(target["expr"])))
    return out


def selectors(expr):
    """[(metric, [(label, op, value)])] of every switchyard_* / up selector in expr."""
    return [(m.group(1), MATCHER.findall(m.group(2) or "")) for m in SELECTOR.finditer(expr)]


COMPARISON_AND_SET_OPERATORS = ["==", "!=", ">=", "<=", ">", "<", "and", "or", "unless"]
OPERATOR_MODIFIERS = re.compile(
    r"\s*(bool\b)?\s*((on|ignoring)\s*\([^)]*\))?\s*((group_left|group_right)\s*(\([^)]*\))?)?")


def operands(expr):
    """Sides of the top-level comparison and set operators of a PromQL expression; scalars and
    absent(...) left out."""
    parts, depth, start, i, quote = [], 0, 0, 0, None
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == quote:
                quote = None
            i += 1
            continue
        if c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            for op in COMPARISON_AND_SET_OPERATORS:
                if not expr.startswith(op, i):
                    continue
                if op.isalpha() and (expr[i - 1:i].isalnum() or expr[i + len(op):i + len(op) + 1].isalnum()
                                     or expr[i - 1:i] == "_" or expr[i + len(op):i + len(op) + 1] == "_"):
                    continue
                parts.append(expr[start:i])
                m = OPERATOR_MODIFIERS.match(expr, i + len(op))
                i = start = m.end()
                break
            else:
                i += 1
            continue
        i += 1
    parts.append(expr[start:])
    out = []
    for p in (p.strip() for p in parts):
        if not p or p.startswith("absent("):
            continue
        if re.fullmatch(r"[0-9.eE+-]+", p):
            continue
        out.append(p)
    return out


def registered_metrics():
    names = set()
    for path in (REPO / "services").rglob("*.cpp"):
        names.update(re.findall(r'\.Name\("([a-z0-9_]+)"\)', path.read_text(encoding="utf-8")))
    return names


def base_name(metric, registered):
    if metric in registered:
        return metric
    for suffix in HISTOGRAM_SUFFIXES:
        if metric.endswith(suffix) and metric[: -len(suffix)] in registered:
            return metric[: -len(suffix)]
    return None


def conditional(kind, expr):
    """Why a panel's data may be absent on deploy/local, or None."""
    if kind != "panel":
        return None
    reasons = set()
    for metric, _ in selectors(expr):
        reason = next((r for prefix, r in CONDITIONAL.items() if metric.startswith(prefix)), None)
        if reason is None:
            return None
        reasons.add(reason)
    return "; ".join(sorted(reasons)) or None


def cmd_rules(out_path):
    rules = []
    for i, (source, kind, name, expr) in enumerate(expressions()):
        if kind == "panel":
            rules.append({"record": f"check:panel_{i}", "expr": expr})
    with open(out_path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, f)
    print(f"{len(rules)} dashboard queries", file=sys.stderr)


def cmd_metrics():
    registered = registered_metrics()
    missing = []
    used = set()
    for source, kind, name, expr in expressions():
        for metric, _ in selectors(expr):
            if metric == "up":
                continue
            base = base_name(metric, registered)
            if base is None:
                missing.append(f"{source}: {name}: {metric}")
            else:
                used.add(base)
    for m in missing:
        print(f"not registered in services/: {m}", file=sys.stderr)
    print(f"{len(used)} metrics used, all registered" if not missing else
          f"{len(missing)} references to metrics the code does not register", file=sys.stderr)
    return 1 if missing else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "rules":
        return cmd_rules(argv[2])
    if len(argv) == 2 and argv[1] == "metrics":
        return cmd_metrics()
    if len(argv) == 2 and argv[1] == "list":
        for source, kind, name, expr in expressions():
            print(json.dumps({"source": source, "kind": kind, "name": name, "expr": expr,
                              "selectors": selectors(expr),
                              "operands": operands(expr) if kind == "alert" else [expr],
                              "conditional": conditional(kind, expr)}))
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
