// switchyard-loadgen settings table and its checks.
#include "loadgen/config.h"

#include "common/runtime/core/settings.h"
#include "loadgen/assignment.h"
#include "loadgen/frames.h"

namespace switchyard::loadgen {

void add_settings(Settings& s, LoadgenConfig& c) {
  s.add("profile", c.profile, "idle | fleet | storm | saturate | rate | commands");
  s.add("chargers", c.chargers, "Simulated chargers in this process");
  s.add("ramp", c.ramp, "Connection attempts per second (all threads); 0 = all at once");
  s.add("duration", c.duration,
        "Length of the measured phase; saturate/rate start it once every charger booted. "
        "SIGINT / SIGTERM end it early, with the report");
  s.add("threads", c.threads, "I/O threads, one io_context each");
  s.add("progress", c.progress, "Print a progress line every second on stderr");
  s.add("report", c.report, "Write the JSON report to this file");
  s.add("answers-log", c.answers_log,
        "Write every CALLRESULT / CALLERROR the chargers got, and every CALL unanswered when "
        "its connection closed, to this file, a line each (fault tests compare it with Kafka "
        "and the CDRs)");
  s.add("log-level", c.log_level, "debug | info | warn | error");
  s.add("url", c.urls,
        "Target URL(s), ws:// or wss://, the charger id is appended; charger i "
        "goes to url i % n (repeat the flag or separate with commas)");
  s.add("source-addresses", c.source_addresses,
        "Local addresses to connect from, charger i uses address i % n (e.g. 127.0.0.2,127.0.0.3)");
  s.add("id-prefix", c.id_prefix, "Charger id prefix; the id is prefix + zero-padded index");
  s.add("id-width", c.id_width, "Digits of the zero-padded index");
  s.add("first-index", c.first_index,
        "Index of the first charger (split one fleet over processes)");
  s.add("ocpp16-share", c.ocpp16_share, "Share of chargers on OCPP 1.6 (0..1), the rest on 2.0.1");
  s.add_secret("password", c.password,
               "HTTP Basic password (username = charger id); {id} and {i} expand per charger");
  s.add("ca", c.ca, "CA certificate file to verify a wss server");
  s.add("insecure", c.insecure, "Do not verify the wss server certificate");
  s.add("cert", c.cert, "Client certificate chain file (mTLS); {id} and {i} expand per charger");
  s.add("key", c.key, "Client private key file (mTLS); {id} and {i} expand per charger");
  s.add("tls-resume", c.tls_resume, "Resume TLS sessions when a charger reconnects");
  s.add("tls-server-name", c.tls_server_name, "SNI / verified server name (default: URL host)");
  s.add("echo", c.echo, "The server echoes frames: count an echoed CALL as its answer");
  s.add("heartbeat-interval", c.heartbeat_interval,
        "Heartbeat interval; 0 = the interval from the BootNotification answer");
  s.add("connectors", c.connectors, "Connectors (1.6) / EVSEs (2.0.1) per charger");
  s.add("connect-timeout", c.connect_timeout, "TCP + TLS + WebSocket upgrade timeout");
  s.add("call-timeout", c.call_timeout, "A CALL unanswered this long counts as a timeout");
  s.add("reconnect-delay", c.reconnect_delay,
        "Wait after a failed or lost connection (plus up to as much again at random)");
  s.add("url-failover", c.url_failover,
        "A 503 upgrade answer or a failed connect moves the charger to the next --url (as a "
        "load balancer moves it to a ready pod)");
  s.add("honor-retry-after", c.honor_retry_after,
        "After an upgrade refused with 503 or 429 and a Retry-After, wait that long (plus up to "
        "one second at random) instead of --reconnect-delay; false: a charger that ignores it");
  s.add("boot-wait", c.boot_wait,
        "saturate/rate/storm: longest wait for every charger to boot before going on");
  s.add("session-interval", c.session_interval, "fleet: a charging session starts every ...");
  s.add("session-duration", c.session_duration, "fleet: length of a session");
  s.add("meter-interval", c.meter_interval, "fleet: sampled meter values while charging");
  s.add("idle-meter-interval", c.idle_meter_interval,
        "fleet: main meter values while idle; 0 = none");
  s.add("aligned-interval", c.aligned_interval,
        "fleet: clock-aligned meter values (aligned to the wall clock); 0 = none");
  s.add("action", c.action,
        "saturate/rate: the CALL sent, Heartbeat | MeterValues | StatusNotification | Authorize");
  s.add("rate", c.rate, "rate: CALLs per second over all chargers (open loop)");
  s.add("id-tags", c.id_tags,
        "saturate/rate with --action Authorize: each CALL carries the next of this many tokens, "
        "LG000000, LG000001, ... (register them; a decision cache cannot answer); 0 = LG0001");
  s.add("max-outstanding", c.max_outstanding,
        "rate: unanswered CALLs per charger before it holds further sends back");
  s.add("pipeline", c.pipeline,
        "saturate: CALLs in flight per charger; OCPP allows 1, more only to find a transport's "
        "ceiling (echo floors)");
  s.add("storm-fraction", c.storm_fraction, "storm: share of the chargers that drop (0..1)");
  s.add("backoff-minimum", c.backoff_minimum,
        "storm: wait before reconnecting (2.0.1 RetryBackOffWaitMinimum)");
  s.add("backoff-random-range", c.backoff_random_range,
        "storm: plus a uniform random wait up to this (2.0.1 RetryBackOffRandomRange)");
  s.add("storm-timeout", c.storm_timeout, "storm: give up waiting for recovery after ...");
  s.add("grpc-target", c.grpc_target, "commands: ChargerControl server host:port");
  s.add("command-rate", c.command_rate, "commands: RPCs per second");
  s.add("command", c.command,
        "commands: TriggerMessage | DataTransfer | ChangeAvailability | Reset | GetConnection");
}

Result<Profile> validate(const LoadgenConfig& c) {
  Profile profile;
  if (c.profile == "idle") {
    profile = Profile::kIdle;
  } else if (c.profile == "fleet") {
    profile = Profile::kFleet;
  } else if (c.profile == "storm") {
    profile = Profile::kStorm;
  } else if (c.profile == "saturate") {
    profile = Profile::kSaturate;
  } else if (c.profile == "rate") {
    profile = Profile::kRate;
  } else if (c.profile == "commands") {
    profile = Profile::kCommands;
  } else {
    return make_error(ErrorCode::kInvalidArgument, "unknown --profile " + c.profile);
  }
  auto bad = [](std::string what) {
    return make_error(ErrorCode::kInvalidArgument, std::move(what));
  };
  if (c.chargers <= 0) return bad("--chargers must be > 0");
  if (c.threads <= 0 || c.threads > 256) return bad("--threads must be 1..256");
  if (c.ramp < 0) return bad("--ramp must be >= 0");
  if (c.urls.empty()) return bad("--url is required");
  for (const auto& url : c.urls) {
    if (auto parsed = parse_url(url); !parsed) return bad(parsed.error());
  }
  if (c.ocpp16_share < 0 || c.ocpp16_share > 1) return bad("--ocpp16-share must be 0..1");
  if (c.connectors < 1 || c.connectors > 100) return bad("--connectors must be 1..100");
  if (c.id_width < 0 || c.id_width > 20) return bad("--id-width must be 0..20");
  if (c.storm_fraction < 0 || c.storm_fraction > 1) return bad("--storm-fraction must be 0..1");
  if (c.cert.empty() != c.key.empty()) return bad("--cert and --key go together");
  if (profile == Profile::kSaturate || profile == Profile::kRate) {
    auto action = parse_action(c.action);
    if (!action || (*action != Action::kHeartbeat && *action != Action::kMeterValues &&
                    *action != Action::kStatusNotification && *action != Action::kAuthorize)) {
      return bad("--action must be Heartbeat, MeterValues, StatusNotification or Authorize");
    }
  }
  if (c.id_tags < 0 || c.id_tags > 1'000'000) return bad("--id-tags must be 0..1000000");
  if (c.pipeline < 1 || c.pipeline > 1024) return bad("--pipeline must be 1..1024");
  if (profile == Profile::kRate) {
    if (!(c.rate > 0)) return bad("--rate must be > 0");
    if (c.max_outstanding < 1) return bad("--max-outstanding must be >= 1");
  }
  if (profile == Profile::kFleet || profile == Profile::kCommands) {
    if (c.meter_interval.count() <= 0 || c.session_interval.count() <= 0) {
      return bad("--meter-interval and --session-interval must be > 0");
    }
  }
  if (profile == Profile::kCommands) {
    if (!(c.command_rate > 0)) return bad("--command-rate must be > 0");
    static constexpr std::string_view kCommands[] = {
        "TriggerMessage", "DataTransfer", "ChangeAvailability", "Reset", "GetConnection"};
    bool known = false;
    for (auto name : kCommands) known = known || name == c.command;
    if (!known) return bad("unknown --command " + c.command);
  }
  return profile;
}

}  // namespace switchyard::loadgen
