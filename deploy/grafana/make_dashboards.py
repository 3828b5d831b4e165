#!/usr/bin/env python3
"""Writes the Grafana dashboards of deploy/grafana/dashboards/ from the panel lists below.

  deploy/grafana/make_dashboards.py           rewrite the JSON files
  deploy/grafana/make_dashboards.py --check   fail if a committed file differs (tests/deploy/check)

One generator instead of hand-edited JSON: every panel has the same shape, the queries are easy to
review here, and tests/deploy/prometheus_check reads the JSON files to run every query against a
Prometheus scraping the local stack. Only metrics the code registers are used; where a metric the
issue asks for does not exist, a text panel says so (and which one would be needed).
"""
import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
R = "$__rate_interval"


def ts(title, exprs, unit="short", legend=None, width=12, stack=False, description=""):
    """A time series panel; exprs: list of (expr, legend)."""
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "custom": {"stacking": {"mode": "normal" if stack else "none"}, "fillOpacity": 10},
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]},
                    "tooltip": {"mode": "multi"}},
        "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": e,
                     "legendFormat": lg} for i, (e, lg) in enumerate(exprs)],
        "_w": width,
    }


def stat(title, expr, unit="short", legend="", description=""):
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"},
        "targets": [{"refId": "A", "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}],
        "_w": 6,
    }


def text(title, markdown, width=24):
    return {"type": "text", "title": title, "options": {"mode": "markdown", "content": markdown},
            "_w": width, "_h": 4}


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_w": 24, "_h": 1}


def q99(metric, by, selector=""):
    return (f"histogram_quantile(0.99, sum by (le, {by}) "
            f"(rate({metric}_bucket{selector}[{R}])))")


def q50(metric, by, selector=""):
    return (f"histogram_quantile(0.5, sum by (le, {by}) "
            f"(rate({metric}_bucket{selector}[{R}])))")


def layout(panels):
    x = y = 0
    row_h = 0
    out = []
    for i, p in enumerate(panels, start=1):
        w, h = p.pop("_w"), p.pop("_h", 8 if p["type"] != "stat" else 4)
        if x + w > 24:
            x, y = 0, y + row_h
            row_h = 0
        p["id"] = i
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        out.append(p)
        x += w
        row_h = max(row_h, h)
    return out


def dashboard(uid, title, description, panels, variables=()):
    templating = [{
        "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
        "current": {}, "hide": 0,
    }]
    for name, query in variables:
        templating.append({
            "name": name, "label": name, "type": "query", "datasource": DATASOURCE,
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2,
            "includeAll": True, "multi": True, "allValue": ".*", "current": {}, "hide": 0,
            "sort": 1,
        })
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["switchyard"],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": templating},
        "annotations": {"list": []},
        "links": [],
        "panels": layout(panels),
    }


GW = '{job="switchyard-gateway"}'

gateway_fleet = dashboard(
    "switchyard-gateway-fleet", "Switchyard / Gateway fleet",
    "Charger connections, messages, answers and the gateway pods' Kafka and Redis clients.",
    [
        row("Connections"),
        stat("Connected chargers", "sum(switchyard_gateway_connections)"),
        stat("Gateway pods up", f'sum(up{GW})'),
        stat("Connects / s", f"sum(rate(switchyard_gateway_connects_total[{R}]))", "ops"),
        stat("Upgrades refused / s",
             f"sum(rate(switchyard_gateway_handshakes_refused_total[{R}]))", "ops"),
        ts("Connections by protocol", [("sum by (protocol) (switchyard_gateway_connections)",
                                        "{{protocol}}")], stack=True),
        ts("Connections by security profile",
           [("sum by (security_profile) (switchyard_gateway_connections)",
             "profile {{security_profile}}")], stack=True),
        ts("Connections by pod", [("sum by (pod) (switchyard_gateway_connections)", "{{pod}}")],
           stack=True),
        ts("Connects by protocol", [(f"sum by (protocol) (rate(switchyard_gateway_connects_total[{R}]))",
                                     "{{protocol}}")], "ops"),
        ts("Disconnects by reason",
           [(f"sum by (reason) (rate(switchyard_gateway_disconnects_total[{R}]))", "{{reason}}")],
           "ops"),
        ts("Upgrades refused by reason (storm admission: draining, credentials_unavailable)",
           [(f"sum by (reason) (rate(switchyard_gateway_handshakes_refused_total[{R}]))",
             "{{reason}}")], "ops",
           description="The gateway has no admission limiter of its own yet (no metric for it); "
                       "during a storm, refusals while draining or while auth cannot answer show "
                       "here; auth_throttled: upgrades of a locked-out charger id or address."),
        ts("Authentication lockouts (brute force)",
           [(f"sum by (key) (increase(switchyard_gateway_auth_lockouts_total[{R}]))", "{{key}}")],
           description="Charger ids / source addresses locked out after repeated failed "
                       "authentications (the gateway log names them)."),
        ts("Ownership events", [(f"sum by (event) (rate(switchyard_gateway_ownership_total[{R}]))",
                                 "{{event}}")], "ops"),
        ts("Dependencies reached and self-fencing",
           [("min by (dependency) (switchyard_gateway_dependency_up)", "{{dependency}} up (all pods)"),
            ("sum(switchyard_gateway_fenced)", "pods fenced")],
           description="1 when every pod's last probe of Kafka / Redis answered. A pod cut off "
                       "from them for --fence-after while another pod is not fences itself "
                       "(readiness 503, its chargers handed over); a shared outage fences no pod."),
        ts("Drain closes and throttled frames",
           [(f"sum(rate(switchyard_gateway_drain_closed_total[{R}]))", "closed by drain"),
            (f"sum(rate(switchyard_gateway_throttled_total[{R}]))", "frames throttled")], "ops"),
        ts("Events published, by encoding",
           [(f"sum by (encoding) (rate(switchyard_gateway_events_encoded_total[{R}]))",
             "{{encoding}}")], "ops",
           description="Events of the CALLs answered once their event is durable: direct, "
                       "MeterValues written straight in protobuf's wire format (no message "
                       "built); message, the rest."),
        ts("I/O work per wake-up",
           [(f"sum by (pod) (rate(switchyard_gateway_io_handlers_total[{R}])) / sum by (pod) "
             f"(rate(switchyard_gateway_io_rounds_total[{R}]))", "{{pod}} handlers per round"),
            (f"sum by (pod) (rate(switchyard_gateway_io_rounds_total{{waited=\"true\"}}[{R}]))",
             "{{pod}} rounds that waited")], "short",
           description="Handlers (frames, writes, Kafka acknowledgements, timers) an I/O thread "
                       "runs per wake-up, and the rounds that waited out --io-coalesce. At fleet "
                       "rates without it a wake-up serves one or two handlers; with it, the "
                       "messages and acknowledgements of the whole window."),
        ts("Heap given back after connection waves",
           [(f"sum by (pod) (increase(switchyard_gateway_heap_returned_bytes_total[{R}]))",
             "{{pod}} bytes"),
            (f"sum by (pod) (increase(switchyard_gateway_heap_trims_total[{R}]))", "{{pod}} trims")],
           "bytes",
           description="After --heap-trim-quiet without a connection opening or closing, a pod "
                       "gives the heap's free pages (what a storm of upgrades and boots freed) "
                       "back to the system: RSS falls back to what the connections hold."),
        ts("OpenSSL small-object heap (--tls-small-objects)",
           [('sum by (pod) (switchyard_gateway_tls_small_object_bytes{kind="objects"})',
             "{{pod}} in use"),
            ('sum by (pod) (switchyard_gateway_tls_small_object_bytes{kind="chunks"})',
             "{{pod}} chunks")],
           "bytes",
           description="OpenSSL's objects of up to 256 bytes (TLS connections' sessions, parsed "
                       "client certificates) on a heap without malloc's per-object header. "
                       "Chunks hold those in use and freed ones kept for reuse; heap trims give "
                       "back the chunks with none in use."),
        row("Messages"),
        ts("Inbound messages by action",
           [(f'sum by (action) (rate(switchyard_gateway_messages_total{{direction="in"}}[{R}]))',
             "{{action}}")], "ops", stack=True),
        ts("Messages by direction and outcome",
           [(f"sum by (direction, outcome) (rate(switchyard_gateway_messages_total[{R}]))",
             "{{direction}} {{outcome}}")], "ops"),
        ts("Ack latency p99 by action (CALL to answer, Kafka included)",
           [(q99("switchyard_gateway_ack_latency_seconds", "action"), "{{action}}")], "s"),
        ts("Ack latency p50 by action",
           [(q50("switchyard_gateway_ack_latency_seconds", "action"), "{{action}}")], "s"),
        ts("Decision latency p99 (auth / transactions service asked)",
           [(q99("switchyard_gateway_decision_seconds", "decision"), "{{decision}}")], "s"),
        ts("Failed decisions by decision (answered CALLERROR)",
           [(f'sum by (decision) (rate(switchyard_gateway_decision_seconds_count{{outcome="failed"}}'
             f'[{R}]))', "{{decision}}")], "ops"),
        ts("CALLERRORs by code", [(f"sum by (code) (rate(switchyard_gateway_rpc_errors_total[{R}]))",
                                   "{{code}}")], "ops"),
        ts("Commands by action and outcome",
           [(f"sum by (action, outcome) (rate(switchyard_gateway_commands_total[{R}]))",
             "{{action}} {{outcome}}")], "ops"),
        ts("Command latency p99 by action",
           [(q99("switchyard_gateway_command_latency_seconds", "action"), "{{action}}")], "s"),
        ts("ChargerControl RPCs by route and code",
           [(f"sum by (route, code) (rate(switchyard_gateway_control_calls_total[{R}]))",
             "{{route}} {{code}}")], "ops"),
        ts("ChargerControl RPC latency p99 by route (forwarded: via the owner pod)",
           [(q99("switchyard_gateway_control_call_seconds", "route"), "{{route}}")], "s"),
        row("Kafka and Redis (gateway pods)"),
        ts("Kafka produce latency p99 (acks=all)",
           [(q99("switchyard_kafka_produce_latency_seconds", "pod", GW), "{{pod}}")], "s"),
        ts("Kafka deliveries by result",
           [(f"sum by (pod, result) (rate(switchyard_kafka_produced_total{GW}[{R}]))",
             "{{pod}} {{result}}")], "ops"),
        ts("Kafka producer queue depth", [(f"sum by (pod) (switchyard_kafka_producer_queue_depth{GW})",
                                           "{{pod}}")]),
        ts("Redis round trip p99", [(q99("switchyard_redis_round_trip_seconds", "pod", GW), "{{pod}}")],
           "s"),
        ts("Redis commands and failures",
           [(f"sum by (pod) (rate(switchyard_redis_commands_total{GW}[{R}]))", "{{pod}} commands"),
            (f"sum by (pod) (rate(switchyard_redis_failures_total{GW}[{R}]))", "{{pod}} failures")],
           "ops"),
    ])

TX = '{job="switchyard-transactions"}'
sessions_energy = dashboard(
    "switchyard-sessions-energy", "Switchyard / Sessions and energy",
    "Transactions, CDRs, decisions, the outbox to Kafka, connector errors and the consumers.",
    [
        row("Sessions"),
        stat("Sessions started (1 h)",
             'sum(increase(switchyard_transactions_events_total{kind="started"}[1h]))'),
        stat("Sessions ended (1 h)",
             'sum(increase(switchyard_transactions_events_total{kind="ended"}[1h]))'),
        stat("CDRs (1 h)", "sum(increase(switchyard_cdrs_created_total[1h]))"),
        # The gauges read from the shared database: every replica reports the same value, so max.
        stat("Sessions in progress", "max(switchyard_transactions_active_sessions)"),
        stat("Energy delivered (1 h)",
             "sum(increase(switchyard_transactions_energy_wh_total[1h])) / 1000", "kwatth",
             description="Energy of the CDRs created in the last hour (counted when a session "
                         "ends)."),
        stat("Outbox oldest entry", "max(switchyard_transactions_outbox_oldest_age_seconds)", "s"),
        ts("Sessions in progress", [("max(switchyard_transactions_active_sessions)", "active")]),
        ts("Energy delivered (kW, averaged over ended sessions)",
           [(f"sum(rate(switchyard_transactions_energy_wh_total[{R}])) * 3600 / 1000", "kW")],
           "kwatt"),
        ts("Transaction events by kind",
           [(f"sum by (kind) (rate(switchyard_transactions_events_total[{R}]))", "{{kind}}")], "ops"),
        ts("CDRs created and unpriced",
           [(f"sum(rate(switchyard_cdrs_created_total[{R}]))", "created"),
            (f"sum(rate(switchyard_cdrs_unpriced_total[{R}]))", "unpriced (no tariff)")], "ops"),
        ts("Start/stop decisions by status",
           [(f"sum by (status) (rate(switchyard_transaction_decisions_total[{R}]))", "{{status}}")],
           "ops"),
        ts("Auth decisions by kind and result",
           [(f"sum by (kind, result) (rate(switchyard_auth_decisions_total[{R}]))",
             "{{kind}} {{result}}")], "ops"),
        ts("Duplicates, malformed, missing starts, late events",
           [(f"sum(rate(switchyard_transactions_duplicate_events_total[{R}]))", "duplicate"),
            (f"sum(rate(switchyard_transactions_malformed_events_total[{R}]))", "malformed"),
            (f"sum(rate(switchyard_transactions_start_missing_total[{R}]))", "start missing"),
            (f"sum(rate(switchyard_transactions_late_after_cdr_total[{R}]))", "late after CDR")],
           "ops"),
        row("Outbox (csms.transactions.v1, csms.cdrs.v1)"),
        ts("Outbox pending and oldest entry",
           [("max(switchyard_transactions_outbox_pending)", "pending"),
            ("max(switchyard_transactions_outbox_oldest_age_seconds)", "oldest (s)")]),
        ts("Outbox published and failed",
           [(f"sum(rate(switchyard_transactions_outbox_published_total[{R}]))", "published"),
            (f"sum(rate(switchyard_transactions_outbox_failures_total[{R}]))", "failed")], "ops"),
        row("Connector status"),
        ts("Connector errors by error code",
           [(f"sum by (error_code) (increase(switchyard_connector_errors_total[{R}]))",
             "{{error_code}}")]),
        ts("Status events by kind",
           [(f"sum by (kind) (rate(switchyard_status_events_total[{R}]))", "{{kind}}"),
            (f"sum(rate(switchyard_status_last_seen_events_total[{R}]))", "last seen only"),
            (f"sum(rate(switchyard_status_last_seen_writes_total[{R}]))",
             "last seen rows written")], "ops"),
        row("Consumers and database"),
        ts("Consumer lag by group",
           [("sum by (group) (switchyard_kafka_consumer_lag_messages)", "{{group}}")]),
        ts("Events consumed by group",
           [(f"sum by (group) (rate(switchyard_kafka_consumed_total[{R}]))", "{{group}}")], "ops"),
        ts("PostgreSQL statement p99 by service",
           [(q99("switchyard_postgres_query_seconds", "job"), "{{job}}")], "s"),
        ts("PostgreSQL errors by service",
           [(f"sum by (job) (rate(switchyard_postgres_errors_total[{R}]))", "{{job}}")], "ops"),
    ])

SITE = 'site=~"$site"'
smart_charging = dashboard(
    "switchyard-smart-charging", "Switchyard / Smart charging",
    "Per site, grid connection / circuit and phase: the binding limit, the planned current, the "
    "chargers' measured current and the worst case (exposure); plans, profiles and their answers.",
    [
        ts("Planned vs measured vs limit per node and phase",
           [(f'max by (site, node, phase) (switchyard_smart_charging_node_current_amperes'
             f'{{kind="planned", {SITE}}})', "{{site}}/{{node}} {{phase}} planned"),
            (f'max by (site, node, phase) (switchyard_smart_charging_node_current_amperes'
             f'{{kind="measured", {SITE}}})', "{{site}}/{{node}} {{phase}} measured"),
            (f'max by (site, node, phase) (switchyard_smart_charging_node_current_amperes'
             f'{{kind="limit", {SITE}}})', "{{site}}/{{node}} {{phase}} limit")], "amp", width=24),
        ts("Exposure (worst case) per node and phase",
           [(f'max by (site, node, phase) (switchyard_smart_charging_node_current_amperes'
             f'{{kind="exposure", {SITE}}})', "{{site}}/{{node}} {{phase}}")], "amp"),
        ts("Headroom per node and phase (limit - planned)",
           [(f'max by (site, node, phase) (switchyard_smart_charging_node_current_amperes'
             f'{{kind="limit", {SITE}}}) - max by (site, node, phase) '
             f'(switchyard_smart_charging_node_current_amperes{{kind="planned", {SITE}}})',
             "{{site}}/{{node}} {{phase}}")], "amp"),
        ts("Nodes at their limit", [(f"sum by (site) (switchyard_smart_charging_nodes_at_limit{{{SITE}}})",
                                     "{{site}}")]),
        ts("Sessions on planned sites",
           [("sum by (state) (switchyard_smart_charging_sessions)", "{{state}}")], stack=True),
        ts("Plans made and plan time p99",
           [(f"sum(rate(switchyard_smart_charging_replans_total[{R}]))", "plans / s"),
            (q99("switchyard_smart_charging_replan_seconds", "job"), "p99 s")]),
        ts("Profiles sent by step and purpose",
           [(f"sum by (step, purpose) (rate(switchyard_smart_charging_profiles_sent_total[{R}]))",
             "{{step}} {{purpose}}")], "ops"),
        ts("Session start to its first TxProfile sent, p95, by step and whether it waited",
           [(f"histogram_quantile(0.95, sum by (le, step, waited) "
             f"(rate(switchyard_smart_charging_session_to_profile_seconds_bucket[{R}])))",
             "{{step}} waited={{waited}}")], "s",
           description="raise_now: its minimum at once, on the start reserve (--start-reserve); "
                       "raise: after the lowers that make its room were accepted and settled "
                       "(5 s); waited=true: the site was full and it waited for its turn first"),
        ts("Profile answers by outcome",
           [(f"sum by (outcome) (rate(switchyard_smart_charging_profile_answers_total[{R}]))",
             "{{outcome}}")], "ops"),
        ts("Online chargers without a fail-safe (counted at their maximum if they go offline)",
           [("sum(switchyard_smart_charging_chargers_without_fail_safe)", "chargers")]),
        ts("Consumer lag (smart charging)",
           [('sum by (group) (switchyard_kafka_consumer_lag_messages{job="switchyard-smart-charging"})',
             "{{group}}")]),
    ],
    variables=[("site", "label_values(switchyard_smart_charging_node_current_amperes, site)")])

RQ = "switchyard_roaming_requests_total"
NON_2XX = 'status!~"2.."'
roaming = dashboard(
    "switchyard-roaming", "Switchyard / Roaming",
    "OCPI 2.2.1 (CPO): partners by state, OCPI requests in (partners calling us) and out (our "
    "calls to partners) by module and status, and the share that fails.",
    [
        stat("Registered partners", 'sum(switchyard_roaming_partners{state="registered"})'),
        stat("Invited partners", 'sum(switchyard_roaming_partners{state="invited"})'),
        stat("OCPI requests in / s", f'sum(rate({RQ}{{direction="in"}}[{R}]))', "reqps"),
        stat("Calls to partners failing (non-2xx)",
             f'(sum(rate({RQ}{{direction="out", {NON_2XX}}}[{R}])) or vector(0))'
             f' / sum(rate({RQ}{{direction="out"}}[{R}]))', "percentunit",
             description="Share of our OCPI calls to partners answered non-2xx or not at all."),
        ts("Partners by state",
           [("sum by (state) (switchyard_roaming_partners)", "{{state}}")], stack=True),
        ts("Non-2xx ratio by direction",
           [(f'(sum by (direction) (rate({RQ}{{{NON_2XX}}}[{R}])) or sum by (direction) '
             f'(rate({RQ}[{R}])) * 0) / sum by (direction) (rate({RQ}[{R}]))', "{{direction}}")],
           "percentunit",
           description="in: partners' requests we refused (401 unknown token, 404/405, 5xx); "
                       "out: our calls to partners answered non-2xx, or `error` (no answer)."),
        ts("OCPI requests by direction, module and status",
           [(f"sum by (direction, module, status) (rate({RQ}[{R}]))",
             "{{direction}} {{module}} {{status}}")], "reqps", width=24),
        ts("Partners calling us: by module and method",
           [(f'sum by (module, method) (rate({RQ}{{direction="in"}}[{R}]))',
             "{{module}} {{method}}")], "reqps"),
        ts("Our calls to partners failing: by module and status",
           [(f'sum by (module, status) (rate({RQ}{{direction="out", {NON_2XX}}}[{R}]))',
             "{{module}} {{status}}")], "reqps"),
        row("Pushes to partners (outbox: one entry per changed object)"),
        stat("Objects waiting for partners", "sum(switchyard_roaming_outbox_pending)"),
        stat("Oldest undelivered change", "max(switchyard_roaming_outbox_oldest_age_seconds)",
             "s"),
        ts("Outbox pending by partner and module",
           [("sum by (partner, module) (switchyard_roaming_outbox_pending)",
             "{{partner}} {{module}}")]),
        ts("Oldest undelivered change by partner and module",
           [("max by (partner, module) (switchyard_roaming_outbox_oldest_age_seconds)",
             "{{partner}} {{module}}")], "s"),
        ts("Pushes by module and result",
           [(f"sum by (module, result) (rate(switchyard_roaming_pushes_total[{R}]))",
             "{{module}} {{result}}")], "ops"),
        ts("EVSE status changes by status",
           [(f"sum by (status) (rate(switchyard_roaming_evse_status_changes_total[{R}]))",
             "{{status}}")], "ops",
           description="OCPI EVSE statuses changed by the charger events (each goes to every "
                       "partner that receives locations)."),
        row("Other networks' drivers at our chargers"),
        stat("CDRs not accepted yet", 'sum(switchyard_roaming_outbox_pending{module="cdrs"})',
             description="CDRs of roaming drivers their eMSP has not accepted yet (retried until "
                         "it does)."),
        stat("Oldest CDR not accepted",
             'max(switchyard_roaming_outbox_oldest_age_seconds{module="cdrs"})', "s"),
        ts("Roaming sessions and CDRs recorded",
           [(f"sum by (module) (rate(switchyard_roaming_recorded_total[{R}]))", "{{module}}")],
           "ops",
           description="New sessions and CDRs of drivers whose token an eMSP pushed to us."),
        ts("eMSPs' commands by command and result",
           [(f"sum by (command, result) (rate(switchyard_roaming_commands_total[{R}]))",
             "{{command}} {{result}}")], "ops",
           description="START_SESSION, STOP_SESSION, RESERVE_NOW, CANCEL_RESERVATION, "
                       "UNLOCK_CONNECTOR: the CommandResult sent to the eMSP (or the refusal)."),
        row("Hubject (OICP 2.3; empty unless roaming runs with --oicp-url)"),
        stat("EVSEs at Hubject", "sum(switchyard_roaming_oicp_evses)"),
        stat("Since Hubject's last fullLoad",
             "time() - max(switchyard_roaming_oicp_last_full_load_timestamp_seconds > 0)", "s",
             description="Data and statuses are loaded in full daily (--oicp-full-load-interval)."),
        ts("Pushes to Hubject by operation and result",
           [(f"sum by (operation, result) (rate(switchyard_roaming_oicp_pushes_total[{R}]))",
             "{{operation}} {{result}}")], "ops",
           description="evse-data, evse-status, charge-detail-record, pricing-products, "
                       "evse-pricing; refused: Hubject answered Result false (the log says "
                       "which StatusCode); unreachable: no answer. Both are kept and retried. "
                       "Its outbox is partner `@hubject` above."),
        ts("Hubject's remote starts and stops by answer",
           [(f"sum by (operation, code) (rate(switchyard_roaming_oicp_remote_total[{R}]))",
             "{{operation}} {{code}}")], "ops",
           description="The StatusCode we answered: 000 accepted, 501 charger offline, 602 in "
                       "use, 603 unknown EVSE, 022 malformed, 400 unknown session."),
        ts("Cards only Hubject knows: real-time authorizations",
           [(f"sum by (operation, result) "
             f"(rate(switchyard_roaming_oicp_authorizations_total[{R}]))",
             "{{operation}} {{result}}")], "ops",
           description="start: eRoamingAuthorizeStart; stop: eRoamingAuthorizeStop of the Hubject "
                       "session running where another card was presented."),
    ])

DASHBOARDS = {
    "gateway-fleet.json": gateway_fleet,
    "sessions-energy.json": sessions_energy,
    "smart-charging.json": smart_charging,
    "roaming.json": roaming,
}


def main(argv):
    check = "--check" in argv
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, board in DASHBOARDS.items():
        text_ = json.dumps(board, indent=2, sort_keys=False) + "\n"
        path = OUT / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text_:
                stale.append(str(path))
        else:
            path.write_text(text_, encoding="utf-8")
    if stale:
        sys.exit("out of date (run deploy/grafana/make_dashboards.py): " + ", ".join(stale))


if __name__ == "__main__":
    main(sys.argv[1:])
