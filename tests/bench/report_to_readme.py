#!/usr/bin/env python3
"""Turns build/bench/report.json (tests/bench/run) into Markdown: one table per scenario (figure,
value, against the floor or baseline of the same run), the goals of issue 8 with whether each is
met, the machine and the command. Rewrites README.md between `<!-- bench:begin -->` and
`<!-- bench:end -->`.

    tests/bench/report_to_readme.py [REPORT] [--readme README.md | --print]

`evaluate(report)` is also what tests/bench/run stores under "goals" in the report.
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
KIB = 1024


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return None
        d = d[p]
    return d


def _num(v, digits=0, unit=""):
    if v is None:
        return "—"
    if isinstance(v, (int, float)):
        s = f"{v:,.{digits}f}"
        return f"{s} {unit}".strip()
    return str(v)


def _kib(v):
    return "—" if v is None else f"{v / KIB:.2f} KiB"


def _coalesce_flags(co):
    """The flags of the fleet's second run (reports before 2026-12-07 had only the window)."""
    return co.get("flags") or f"--io-coalesce {co.get('window_ms')}"


def _x(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}×"


def _pct(v):
    return "—" if v is None else f"{v * 100:.0f} %"


def _tls_keys(report):
    """Key of the server and charger certificates in the TLS figures (tests/bench/run --tls-keys;
    reports from before the option are RSA 2048)."""
    return {"ec": "ECDSA P-256", "rsa": "RSA 2048"}.get(report.get("tls_keys", "rsa"), "?")


# -- goals (issue 8, "Goals (2 cores, generator on the same machine)") ----------------------------

def evaluate(report):
    """A list of goals, each {figure, value, must, aim, must_met, aim_met, note}. *_met is None
    where the figure was not measured."""
    s = report.get("scenarios", {})
    goals = []

    def add(figure, value, must, aim, must_met, aim_met, note=None, measured=True):
        if not measured:
            must_met = aim_met = None
        goals.append({"figure": figure, "value": value, "must": must, "aim": aim,
                      "must_met": must_met, "aim_met": aim_met, "note": note})

    def count_note(sc, key, full):
        n = _get(s, sc, key)
        if n is not None and n < full:
            return f"measured with {n:,} connections; the goal is stated for {full:,}"
        return None

    def reason(sc):
        x = s.get(sc) or {}
        return x.get("skipped") or x.get("error") or "not run"

    v = _get(s, "idle_plain", "bytes_per_conn")
    add("idle plain, user space per connection", _kib(v) if v is not None else reason("idle_plain"),
        "≤ 4 KiB", "≤ 1.5 KiB", v is not None and v <= 4 * KIB, v is not None and v <= 1.5 * KIB,
        count_note("idle_plain", "connections", 15000), v is not None)
    for sc, must_kib, floor_key, label in (("idle_tls", 20, "tls_idle", "TLS"),
                                           ("idle_mtls", 24, "mtls_idle", "mTLS")):
        v = _get(s, sc, "bytes_per_conn")
        floor = _get(s, sc, "floor_bytes_per_conn") or _get(s, "floors", floor_key,
                                                            "user_bytes_per_conn")
        aim_met = None if v is None or floor is None else v <= floor + KIB
        add(f"idle {label}, user space per connection",
            (_kib(v) + (f" (OpenSSL floor {_kib(floor)})" if floor else "")) if v is not None
            else reason(sc),
            f"≤ {must_kib} KiB", "≤ OpenSSL floor + 1 KiB", v is not None and v <= must_kib * KIB,
            aim_met, count_note(sc, "connections", 15000), v is not None)
    t = s.get("throughput", {})
    v = t.get("standalone_vs_echo")
    add("standalone throughput vs Beast echo (100 connections, one CALL in flight)",
        f"{_pct(v)} ({_num(t.get('standalone_msgs_s'))} vs {_num(t.get('echo_msgs_s'))} msgs/s)"
        if v is not None else reason("throughput"),
        "≥ 70 %", "≥ 90 %", v is not None and v >= 0.7, v is not None and v >= 0.9,
        None, v is not None)
    v = t.get("kafka_vs_echo")
    add("with Kafka durability vs Beast echo",
        f"{_pct(v)} ({_num(t.get('kafka_msgs_s'))} msgs/s)" if v is not None else
        (_get(t, "kafka", "skipped") or _get(t, "kafka", "error") or reason("throughput")),
        "≥ 30 %", "≥ 50 %", v is not None and v >= 0.3, v is not None and v >= 0.5,
        None, v is not None)
    for name, pr in (t.get("peers") or {}).items():
        m, c = pr.get("switchyard_msgs_ratio"), pr.get("switchyard_cpu_ratio")
        need = 30 if name == "python_ocpp" else 2
        measured = m is not None and c is not None
        add(f"vs {name} (msgs/s and CPU per message)",
            f"{_x(m, 1)} the msgs/s; the peer uses {_x(c, 1)} the CPU per message" if measured else
            (pr.get("skipped") or pr.get("error") or "not run"),
            f"≥ {need}×", "—" if name == "python_ocpp" else "≥ 5×",
            measured and m >= need and c >= need,
            None if name == "python_ocpp" else (measured and m >= 5 and c >= 5), None, measured)
    lat = s.get("latency", {})
    p50, p99 = lat.get("p50_ratio"), lat.get("p99_ratio")
    add("single-charger latency (Heartbeat every 10 ms vs TCP ping-pong every 10 ms)",
        f"p50 {_x(p50)}, p99 {_x(p99)} of the floor" if p99 is not None else reason("latency"),
        "p99 ≤ 2× floor", "p50 ≤ 1.3× floor", p99 is not None and p99 <= 2,
        p50 is not None and p50 <= 1.3, "percentile against the same percentile of the floor",
        p99 is not None)
    fl = s.get("fleet", {})
    co = fl.get("io_coalesce") or {}

    def fleet_15k(run):
        per_1000 = run.get("cpu_share_per_1000")
        if per_1000 is None:
            return None, None
        share = per_1000 * 15
        return share, (f"{share * 100:.2f} %" + (
            "" if run.get("chargers", 0) >= 15000 else
            f" ({run['cpu_share'] * 100:.2f} % for {run['chargers']:,}, scaled per charger)"))

    share_15k, text = fleet_15k(fl)
    co_share, co_text = fleet_15k(co)
    if co_share is not None:  # met with the setting counts: the value says which run met it
        from_n = fl.get("coalesce_from_connections")
        how = (" (wake-ups coalesced)" if fl.get("coalesced") else
               f" (the defaults coalesce from {from_n:,} connections a thread: not at "
               f"{fl.get('chargers', 0):,})" if from_n else "")
        text = (f"{text} by default{how}; " if text else "") + (
            f"{co_text} with {_coalesce_flags(co)} (answers' worst one-second p99 "
            f"{co.get('p99_ms')} ms against {fl.get('p99_ms')})")
        share_15k = min(share_15k, co_share) if share_15k is not None else co_share
    add("fleet 15k, CPU of one core", reason("fleet") if share_15k is None else text,
        "≤ 5 %", "≤ 2 %", share_15k is not None and share_15k <= 0.05,
        share_15k is not None and share_15k <= 0.02, count_note("fleet", "chargers", 15000),
        share_15k is not None)
    for sc, must, aim in (("authorize", 2, 1), ("command", 3, 1.5)):
        # Authorize: the gRPC decision itself (the OCPP round trip adds Kafka's durability).
        v = _get(s, sc, "decision_p99_ms" if sc == "authorize" else "p99_ms")
        add({"authorize": "Authorize via gRPC (the decision)",
             "command": "command via a non-owner pod"}[sc],
            f"p99 {v} ms" if v is not None else reason(sc), f"p99 ≤ {must} ms", f"p99 ≤ {aim} ms",
            v is not None and v <= must, v is not None and v <= aim, None, v is not None)
    for sc, must, aim in (("storm_plain", 5, 2), ("storm_tls", 15, 6), ("storm_mtls", 20, 10)):
        st = s.get(sc, {})
        sec, fail = st.get("seconds"), st.get("failures")
        measured = sec is not None and st.get("complete") is not None
        ok = lambda lim: measured and st.get("complete") and fail == 0 and sec <= lim
        add(f"storm {dict(plain='plain', tls='TLS', mtls='mTLS')[sc.split('_')[1]]}, 0 failures",
            f"{sec} s, {fail} failures" if measured else reason(sc), f"≤ {must} s", f"≤ {aim} s",
            ok(must), ok(aim), count_note(sc, "chargers", 15000), measured)
    return goals


# -- per-scenario tables --------------------------------------------------------------------------

def _scenario_rows(name, sc, report):
    """[(figure, value, against)] of one scenario."""
    s = report.get("scenarios", {})
    rows = []
    if name == "floors":
        for kind, label in (("epoll", "raw epoll echo"), ("beast", "bare Beast echo")):
            for key, what in (("pipeline1", "100 conns, 1 in flight"),
                              ("pipeline8", "100 conns, 8 in flight"),
                              ("pipeline1_1000", "1,000 conns, 1 in flight")):
                r = _get(sc, kind, key)
                if r:
                    rows.append((f"{label}, {what}",
                                 f"{_num(r['msgs_s'])} msgs/s, {_num(r['cpu_us_per_msg'], 2)} µs CPU/msg",
                                 "floor"))
        tp = sc.get("tcp_pingpong") or {}
        if tp:
            rows.append(("TCP ping-pong back to back, p50 / p99 / p99.9",
                         f"{tp.get('p50_us')} / {tp.get('p99_us')} / {tp.get('p999_us')} µs", "floor"))
        for key, label in (("tcp_idle", "idle bare TCP socket, kernel"),
                           ("tls_idle", "idle TLS (OpenSSL, released buffers), user space"),
                           ("mtls_idle", "idle mTLS, user space")):
            r = sc.get(key) or {}
            if "error" in r:
                rows.append((label, "error: " + r["error"][:80], ""))
            elif key == "tcp_idle" and r:
                rows.append((label + " per socket", _kib(r.get("kernel_slab_bytes_per_socket")),
                             "floor"))
            elif r:
                rows.append((label + " per connection", _kib(r.get("user_bytes_per_conn")),
                             f"handshake {r.get('server_cpu_ms_per_handshake')} ms server CPU "
                             f"(bench-tls-idle, {_tls_keys(report)})"))
        hs = sc.get("openssl_handshake") or {}
        if "skipped" in hs:
            rows.append(("`openssl s_server` CPU per handshake", "skipped: " + hs["skipped"], ""))
        for m in ("tls", "mtls"):
            if m in hs:
                rows.append((f"`openssl s_server` CPU per {m.upper() if m == 'tls' else 'mTLS'} "
                             f"handshake, {_tls_keys(report)}",
                             f"{hs[m]['cpu_ms_per_handshake']} ms",
                             f"{hs[m]['handshakes']:,} handshakes"))
    elif name == "parse":
        for case, r in (sc.get("ocpp") or {}).items():
            rows.append((f"{case} typed decode", _num(r.get("typed_ns"), 0, "ns"),
                         f"{_x(r.get('parse_ratio'))} bare DOM parse ({_num(r.get('bare_parse_ns'), 0, 'ns')})"))
            rows.append((f"{case} typed encode", _num(r.get("typed_serialize_ns"), 0, "ns"),
                         f"{_x(r.get('serialize_ratio'))} bare serialize "
                         f"({_num(r.get('bare_serialize_ns'), 0, 'ns')})"))
            if r.get("event_ratio"):
                rows.append((f"{case} gateway event written directly",
                             _num(r.get("event_direct_ns"), 0, "ns"),
                             f"{_x(r.get('event_ratio'))} the event built as a message "
                             f"({_num(r.get('event_message_ns'), 0, 'ns')})"))
        scb = sc.get("smart_charging") or {}
        if "skipped" in scb or "error" in scb:
            rows.append(("smart charging re-plan", scb.get("skipped") or scb.get("error"), ""))
        else:
            for k, r in scb.items():
                rows.append((k.replace("BM_SmartCharging_", "smart charging "),
                             _num(r.get("ms"), 3, "ms"),
                             f"{r.get('ratio_to_equal_split')}× equal split"
                             if r.get("ratio_to_equal_split") else ""))
        el = sc.get("event_log") or {}
        if "skipped" in el or "error" in el:
            rows.append(("standalone event log", el.get("skipped") or el.get("error"), ""))
        elif el:
            per = el.get("cpu_ns_per_event") or {}
            floor = per.get("AppendAndSyncFloor")
            for k, label in (("EventLog", "event log, CPU per durable event"),
                             ("EventLogAndConsumer",
                              "event log and a consumer keeping up, CPU per event")):
                if k in per:
                    rows.append((f"{label} (batches of {el.get('batch')}, "
                                 f"{el.get('event_bytes')} B)", _num(per[k] / 1e3, 2, "µs"),
                                 f"{_x((el.get('ratio_to_floor') or {}).get(k))} write + "
                                 f"fdatasync of the same bytes ({_num(floor / 1e3 if floor else None, 2, 'µs')})"))
    elif name == "throughput":
        echo, echo_cpu = sc.get("echo_msgs_s"), sc.get("echo_cpu_us_per_msg")
        for n in (100, 1000):
            r = sc.get(f"standalone_{n}")
            if not r:
                continue
            e = echo if n == 100 else sc.get("echo_1000_msgs_s") or echo
            rows.append((f"standalone, {n:,} chargers saturate (MeterValues)",
                         f"{_num(r['msgs_s'])} msgs/s", f"{_pct(r['msgs_s'] / e if e else None)} "
                         f"of Beast echo ({_num(e)})"))
            rows.append((f"standalone, {n:,} chargers, server CPU per message",
                         _num(r["cpu_us_per_msg"], 2, "µs"),
                         f"{_x(r['cpu_us_per_msg'] / echo_cpu if echo_cpu else None)} Beast echo "
                         f"({_num(echo_cpu, 2, 'µs')})"))
            lc = r.get("log_commits") or {}
            if lc.get("commits"):
                rows.append((f"standalone, {n:,} chargers, the event log's group commits",
                             f"{_num(lc['events_per_commit'])} events a sync",
                             f"commit (write + fdatasync) p50 {_num(lc['p50_ms'], 2, 'ms')}, p99 "
                             f"{_num(lc['p99_ms'], 2, 'ms')}; {lc['commits']:,} commits"))
        rh = sc.get("rate_half")
        if rh:
            rows.append(("standalone p50 / p99 / p99.9 at half of saturation (open loop)",
                         f"{rh['p50_ms']:.2f} / {rh['p99_ms']:.2f} / {rh['p999_ms']:.2f} ms",
                         f"at {_num(rh['target_msgs_s'])} msgs/s"))
        k = sc.get("kafka") or {}
        if "skipped" in k or "error" in k:
            rows.append(("gateway + Kafka (acks=all)", "skipped: " + (k.get("skipped") or k.get("error")), ""))
        for n in (100, 1000):
            r = k.get(f"kafka_{n}")
            if r:
                infra = (f"; broker + Redis {_num(r['infra_cpu_us_per_msg'], 2)} µs CPU/msg more"
                         if r.get("infra_cpu_us_per_msg") is not None else "")
                rows.append((f"gateway + Kafka (acks=all) + Redis, {n:,} chargers",
                             f"{_num(r['msgs_s'])} msgs/s, {_num(r['cpu_us_per_msg'], 2)} µs CPU/msg "
                             "(gateway)", f"{_pct(r['msgs_s'] / echo if echo else None)} of Beast "
                             f"echo{infra}"))
        for peer, r in (sc.get("peers") or {}).items():
            if r.get("msgs_s"):
                c = r.get("switchyard_cpu_ratio")
                rows.append((f"peer {peer}, 100 chargers saturate",
                             f"{_num(r['msgs_s'])} msgs/s, {_num(r['cpu_us_per_msg'], 2)} µs CPU/msg",
                             f"standalone: {_x(r.get('switchyard_msgs_ratio'), 1)} its msgs/s, "
                             f"{_x(1 / c if c else None, 2)} its CPU/msg"))
            else:
                rows.append((f"peer {peer}", "skipped: " + str(r.get("skipped") or r.get("error")), ""))
    elif name == "latency":
        for p, label in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9")):
            rows.append((f"one charger, Heartbeat every 10 ms, {label}",
                         _num(sc.get(f"{p}_us"), 1, "µs"),
                         f"{_x(sc.get(f'{p}_ratio'))} TCP ping-pong ({_num(sc.get(f'floor_{p}_us'), 1, 'µs')})"))
    elif name.startswith("idle_"):
        n = sc.get("connections")
        floor_key = {"idle_tls": "tls_idle", "idle_mtls": "mtls_idle"}.get(name)
        floor = sc.get("floor_bytes_per_conn") or (
            _get(s, "floors", floor_key, "user_bytes_per_conn") if floor_key else None)
        settled = (f"at rest, {sc['settled_s']:g} s after the last boot; "
                   f"{_kib(sc.get('bytes_per_conn_2s_after_boot'))} at 2 s"
                   if sc.get("settled_s") else "2 s after the last boot")
        rows.append((f"{n:,} idle chargers, user space per connection", _kib(sc.get("bytes_per_conn")),
                     (f"OpenSSL floor {_kib(floor)}" if floor else
                      ("no floor in this run" if floor_key else "plain: no user-space floor"))
                     + f" ({settled})"))
        kf = sc.get("floor_kernel_bytes_per_conn") or _get(s, "floors", "tcp_idle",
                                                           "kernel_slab_bytes_per_socket")
        rows.append(("kernel memory per connection (Slab)", _kib(sc.get("kernel_bytes_per_conn")),
                     f"bare socket {_kib(kf)}" if kf else ""))
        ramp = sc.get("ramp")
        rows.append(("all connected and booted", _num(sc.get("connect_all_s"), 2, "s"),
                     (f"ramp {ramp}/s, " if isinstance(ramp, (int, float)) else "all at once, ") +
                     f"{sc.get('errors')} errors"))
    elif name == "fleet":
        n = sc.get("chargers") or 0
        rows.append((f"{n:,} chargers of `fleet` traffic, {sc.get('seconds')} s steady, gateway "
                     "CPU", f"{sc.get('cpu_share', 0) * 100:.2f} % of a core",
                     f"{sc.get('cpu_share_per_1000', 0) * 100:.3f} % per 1,000 chargers"
                     + (f"; the defaults coalesce wake-ups at this count "
                        f"({sc.get('coalesce_window_ms')} ms windows from "
                        f"{_num(sc.get('coalesce_from_connections'))} connections a thread)"
                        if sc.get("coalesced") else "")))
        rows.append(("messages, server CPU per message",
                     f"{_num(sc.get('msgs_s'), 1)} msgs/s, {_num(sc.get('cpu_us_per_msg'), 2, 'µs')}",
                     "Kafka acks=all, Redis"))
        rows.append(("p99 of every CALL, worst second of the window / median second",
                     f"{sc.get('p99_ms')} / {sc.get('p99_ms_median_second')} ms",
                     f"{sc.get('errors')} errors"))
        rows.append(("RSS drift over the window",
                     f"{_kib(sc.get('rss_drift_bytes'))} "
                     f"({_kib(sc.get('rss_drift_bytes_per_min'))} per minute)",
                     f"RSS {sc.get('rss_end_bytes', 0) / 1048576:.1f} MiB at the end"))
        co = sc.get("io_coalesce")
        if co and co.get("error"):
            rows.append((f"the same with {_coalesce_flags(co)}", "not measured",
                         co["error"][:200]))
        elif co:
            rows.append((f"the same right after with {_coalesce_flags(co)}, "
                         f"{co.get('seconds')} s steady: gateway CPU, CPU per message",
                         f"{co.get('cpu_share', 0) * 100:.2f} % of a core, "
                         f"{_num(co.get('cpu_us_per_msg'), 2, 'µs')}",
                         f"{_x(co['cpu_share'] / sc['cpu_share']) if sc.get('cpu_share') else '-'}"
                         f" of the defaults' CPU, back to back (single runs vary by a third "
                         f"here; side by side: README, \"Fewer wake-ups\")"))
            rows.append(("p99 of every CALL with it, worst second / median second",
                         f"{co.get('p99_ms')} / {co.get('p99_ms_median_second')} ms",
                         f"{co.get('errors')} errors"))
    elif name == "authorize":
        base = sc.get("metervalues_baseline") or {}
        rows.append((f"Authorize through a gateway pod that asks the auth service over gRPC "
                     f"(PostgreSQL) and makes the decision durable in Kafka, p50 / p99 "
                     f"({_num(sc.get('chargers'))} chargers, {sc.get('rate_per_s')}/s open loop, "
                     f"each of {_num(sc.get('tokens'))} tokens in turn: no cache answers; "
                     f"{sc.get('seconds')} s a run)",
                     f"{sc.get('p50_ms')} / {sc.get('p99_ms')} ms",
                     f"{_x(sc.get('p50_vs_metervalues'))} / {_x(sc.get('p99_vs_metervalues'))} "
                     f"of MeterValues through the same pod, Kafka the same way "
                     f"({base.get('p50_ms')} / {base.get('p99_ms')} ms)"))
        rows.append(("of it the gRPC decision (gateway's switchyard_gateway_decision_seconds), "
                     "p50 / p99", f"{sc.get('decision_p50_ms')} / {sc.get('decision_p99_ms')} ms",
                     "interpolated inside the histogram's buckets"))
        rows.append(("answered", f"{_num(sc.get('answered'))}", f"{sc.get('errors')} errors"))
        rows.append(("CPU per Authorize: gateway / auth service",
                     f"{_num(sc.get('gateway_cpu_us_per_msg'), 1, 'µs')} / "
                     f"{_num(sc.get('auth_cpu_us_per_msg'), 1, 'µs')}",
                     f"gateway per MeterValues {_num(base.get('gateway_cpu_us_per_msg'), 1, 'µs')}"))
    elif name == "command":
        base = sc.get("owner_baseline") or {}
        outcomes = sc.get("outcomes") or {}
        other = ", ".join(f"{k} {v}" for k, v in outcomes.items() if k != "OK") or "no other outcome"
        rows.append((f"TriggerMessage through the pod that does not hold the charger, p50 / p99 "
                     f"({_num(sc.get('chargers'))} chargers, {sc.get('rate_per_s')}/s, "
                     f"{sc.get('seconds')} s a run)",
                     f"{sc.get('p50_ms')} / {sc.get('p99_ms')} ms",
                     f"{_x(sc.get('p50_vs_owner'))} / {_x(sc.get('p99_vs_owner'))} of the owner "
                     f"pod itself ({base.get('p50_ms')} / {base.get('p99_ms')} ms)"))
        rows.append(("answered OK", f"{_num(outcomes.get('OK', 0))} of {_num(sc.get('sent'))}",
                     other))
        if sc.get("separate_run"):
            rows.append(("measured", sc["separate_run"], ""))
    elif name.startswith("storm_"):
        rows.append((f"{_num(sc.get('chargers'))} chargers dropped at once, all booted again",
                     _num(sc.get("seconds"), 2, "s"),
                     f"{sc.get('failures')} failures" + ("" if sc.get("complete") else ", NOT recovered")
                     + (f", {sc['tls_resumed']:,} TLS sessions resumed" if sc.get("tls_resume") else "")))
        if "connected_chargers" in sc:  # reports from before the connected chargers lack them
            before, during = sc.get("connected_p99_ms_before"), sc.get("connected_p99_ms_during")
            ms = lambda v: _num(v, 2 if v is not None and v < 10 else 1)
            kinds = ", ".join(f"{k} {v:,}"
                              for k, v in (sc.get("connected_error_kinds") or {}).items())
            rows.append((
                f"connected chargers' p99 before → during ({_num(sc['connected_chargers'])} more "
                f"on plain ws, {_num(sc.get('connected_rate_per_s'))} "
                f"{sc.get('connected_action')}/s; worst second)",
                f"{ms(before)} → {ms(during)} ms"
                + (f" ({_x(during / before, 1)})" if before and during is not None else ""),
                f"{_num(sc.get('connected_errors'))} errors" + (f" ({kinds})" if kinds else "")
                + f"; {ms(sc.get('connected_p99_ms_first_connect'))} ms while the storm's "
                "chargers first connected"
                + (f"; {sc['connected_note']}" if sc.get("connected_note") else "")))
        rows.append(("peak RSS of the server", f"{sc.get('peak_rss_bytes', 0) / 1048576:.1f} MiB", ""))
        if sc.get("listen_overflows") is not None:
            rows.append(("connections the kernel dropped from the full accept queue",
                         _num(sc["listen_overflows"]), "retried by their chargers after 1, 3, 7 s"))
    return rows


def markdown(report):
    m = report.get("machine", {})
    g = report.get("git", {})
    out = []
    mem = m.get("memory_bytes")
    out.append(f"Measured {m.get('date', '?')[:10]} on {m.get('cores')} cores ({m.get('model')}), "
               f"{mem / 2**30:.1f} GiB, {m.get('distribution')}, Linux {m.get('kernel')}, "
               f"{(m.get('openssl') or '').split(' (')[0]}; commit `{(g.get('commit') or '?')[:10]}`"
               f"{' (with local changes)' if g.get('dirty') else ''}; "
               f"`{report.get('command')}` ({'quick' if report.get('quick') else 'full'} run, "
               f"{report.get('elapsed_s', '?')} s). Server on core 0, generator on core 1; load "
               f"average at the start {' '.join(m.get('loadavg_at_start', []))}."
               + (f" TLS with {_tls_keys(report)} server and charger keys."
                  if any("tls" in k for k in report.get("scenarios", {})) else "")
               + (f" Accept queue capped at net.core.somaxconn = {m['somaxconn']:,}."
                  if m.get("somaxconn") else ""))
    out.append("")
    for name, sc in report.get("scenarios", {}).items():
        if not isinstance(sc, dict):
            continue
        if "skipped" in sc or ("error" in sc and len(sc) <= 2):
            why = sc.get("skipped") or ("error: " + sc.get("error", ""))
            out.append(f"**{name}** — {why}")
            out.append("")
            continue
        rows = _scenario_rows(name, sc, report)
        if not rows:
            continue
        out.append(f"**{name}**" + (f" ({_tls_keys(report)} keys)" if "tls" in name else "")
                   + (f" (error: {sc['error']})" if "error" in sc else ""))
        out.append("")
        out.append("| figure | value | against (same run) |")
        out.append("|---|---|---|")
        for fig, val, ag in rows:
            out.append(f"| {fig} | {val} | {ag} |")
        out.append("")
    out.append("**Goals** (issue 8)")
    out.append("")
    out.append("| figure | value | must | met | aim | met |")
    out.append("|---|---|---|---|---|---|")
    mark = lambda v: "—" if v is None else ("yes" if v else "**no**")
    notes = []
    for goal in report.get("goals") or evaluate(report):
        if not isinstance(goal, dict):
            continue
        fig = goal["figure"]
        if goal.get("note"):
            if goal["note"] not in notes:
                notes.append(goal["note"])
            fig += f" [{notes.index(goal['note']) + 1}]"
        out.append(f"| {fig} | {goal['value']} | {goal['must']} | {mark(goal['must_met'])} | "
                   f"{goal['aim']} | {mark(goal['aim_met'])} |")
    if notes:
        out.append("")
        for i, n in enumerate(notes, 1):
            out.append(f"[{i}] {n}.  ")
    return "\n".join(out).rstrip() + "\n"


def rewrite(readme, text):
    body = readme.read_text()
    if BEGIN not in body or END not in body:
        raise SystemExit(f"{readme}: markers {BEGIN} / {END} not found")
    head, rest = body.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + BEGIN + "\n" + text + END + tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", nargs="?", default=str(REPO / "build/bench/report.json"))
    ap.add_argument("--readme", default=str(REPO / "README.md"))
    ap.add_argument("--print", action="store_true", help="print the Markdown, change nothing")
    args = ap.parse_args()
    report = json.loads(Path(args.report).read_text())
    report["goals"] = evaluate(report)
    text = markdown(report)
    if args.print:
        sys.stdout.write(text)
        return
    rewrite(Path(args.readme), text)
    print(f"{args.readme}: benchmark section rewritten from {args.report}")


if __name__ == "__main__":
    main()
