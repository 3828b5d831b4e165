// The gateway's settings table.
#include "gateway/config.h"

#include <iterator>
#include <string>
#include <utility>

#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "common/runtime/core/small_objects.h"
#include "gateway/io_rounds.h"

namespace switchyard::gateway {

void add_settings(Settings& s, GatewayConfig& c, SettingsScope scope) {
  const bool pod = scope == SettingsScope::kPod;
  if (pod) {
    s.add("pod-id", c.pod_id,
          "This pod's name in logs, events and the owner registry (default: host name)")
        .add("listen-address", c.listen_address, "Address the OCPP, gRPC and HTTP listeners bind")
        .add("grpc-port", c.grpc_port, "gRPC: ChargerControl and the pod-to-pod service")
        .add("http-port", c.http_port, "HTTP side port: /metrics, /healthz, /readyz")
        .add("advertise-address", c.advertise_address,
             "host:port other pods use to reach this pod's gRPC (default 127.0.0.1:<grpc-port>)");
  }
  s.add("ws-port", c.ws_port, "OCPP over plain WebSocket (security profiles 0-1); 0 = off")
      .add("wss-port", c.wss_port, "OCPP over TLS (security profiles 2-3); 0 = off")
      .add("threads", c.threads, "I/O threads (one io_context each); 0 = one per core")
      .add("io-coalesce", c.io_coalesce,
           "After a wake-up with little to do, an I/O thread waits this long and serves what "
           "came meanwhile in the same round: fewer wake-ups per message at fleet rates; each "
           "hop of a CALL (frame, acknowledgement) may wait this long, so answers come 1-2x "
           "this later (0 = off, at most 100 ms); only while the thread serves "
           "--io-coalesce-from-connections or more")
      .add("io-coalesce-from-connections", c.io_coalesce_from_connections,
           "Connections an I/O thread serves from which --io-coalesce applies: a thread with "
           "fewer answers each frame at once (0 = at any count)")
      .add("path-prefix", c.path_prefix, "URL prefix before the charger id")
      .add("protocols", c.protocols, "OCPP subprotocols this pod speaks")
      .add("tls-certificate", c.tls_certificate, "PEM file: server certificate chain")
      .add("tls-private-key", c.tls_private_key, "PEM file: server private key")
      .add("tls-second-certificate", c.tls_second_certificate,
           "PEM file: a second server certificate chain with the other key type (ECDSA or "
           "RSA), so that both the ECDHE-ECDSA and the RSA suites OCPP asks for are offered")
      .add("tls-second-private-key", c.tls_second_private_key,
           "PEM file: the second certificate's private key")
      .add("tls-client-ca", c.tls_client_ca,
           "PEM file: CA(s) that sign charger certificates (profile 3)")
      .add("tls-reload-interval", c.tls_reload_interval,
           "How often the TLS files are checked; a change loads them for new connections "
           "(open ones keep theirs), a bad one keeps the current; 0 = never")
      .add("tls-session-cache", c.tls_session_cache,
           "TLS sessions the pod keeps so reconnecting chargers resume them (stateful TLS 1.3 "
           "tickets, TLS 1.2 session ids); 0 = stateless tickets, which cost a decode of the "
           "client certificate at every resumption")
      .add("tls-session-timeout", c.tls_session_timeout,
           "How long a kept TLS session may be resumed")
      .add("tls-small-objects", c.tls_small_objects,
           "OpenSSL's small objects (up to 256 bytes) on a heap without malloc's per-object "
           "header: about 1.6 KiB less per idle mTLS connection")
      .add("call-timeout", c.call_timeout, "How long a command waits for the charger's answer")
      .add("handshake-timeout", c.handshake_timeout, "TLS + HTTP upgrade must finish within this")
      .add("listen-backlog", c.listen_backlog,
           "Accept queue of the OCPP listeners (capped by net.core.somaxconn): a reconnect storm "
           "of more chargers at once loses the surplus SYNs, retried after 1, 3, 7 s")
      .add("idle-timeout", c.idle_timeout, "Close a connection silent this long (pings at half)")
      .add("max-frame-bytes", c.max_frame_bytes, "Larger frames close the connection with 1009")
      .add("heap-trim-quiet", c.heap_trim_quiet,
           "Free heap pages go back to the system this long after the last connection opened "
           "or closed; 0 = never")
      .add("rate-per-second", c.rate_per_second,
           "Frames per second a charger may send (token refill)")
      .add("rate-burst", c.rate_burst, "Frames a charger may send at once (token bucket size)")
      .add("lenient-chargers", c.lenient_chargers, "Charger ids decoded in lenient mode")
      .add("lenient-vendors", c.lenient_vendors,
           "Vendors (BootNotification) decoded in lenient mode")
      .add("drain-window", c.drain_window, "On SIGTERM, connections close spread over this window")
      .add("drain-quiet", c.drain_quiet,
           "A draining connection closes once the charger has been quiet this long (a CALL sent "
           "right after an answer is answered first), at most 4x this after its turn; 0: at once")
      .add("auth-charger-failures", c.auth_charger_failures,
           "Failed authentications of one charger id within --auth-failure-window before it is "
           "locked out (429); 0 = no limit")
      .add("auth-address-failures", c.auth_address_failures,
           "Failed authentications from one source address within the window before it is "
           "locked out; 0 = no limit (keep it high: chargers share carrier NAT addresses)")
      .add("auth-failure-window", c.auth_failure_window, "Window of the failure counts")
      .add("auth-lockout", c.auth_lockout,
           "First lockout; each further lockout of the same key doubles it")
      .add("auth-max-lockout", c.auth_max_lockout, "Longest lockout")
      .add("admission-rate", c.admission_rate,
           "New connections per second this pod takes (a storm beyond it is refused with 503 / "
           "Retry-After, over TLS closed before the handshake); 0 = no limit")
      .add("admission-burst", c.admission_burst,
           "New connections taken at once after a quiet time; 0 = one second's worth")
      .add("admission-retry-after-max", c.admission_retry_after_max,
           "Longest Retry-After told to a refused charger (spread by the size of the storm)")
      .add("admission-address-share", c.admission_address_share,
           "Share (0..1] of --admission-rate and --admission-burst one source address may take, "
           "so a flood from one address cannot starve the others; 0 = no per-address limit "
           "(chargers behind a carrier NAT share addresses: keep it generous, e.g. 0.2)")
      .add("certificate-signing-min-profile", c.certificate_signing_min_profile,
           "Lowest security profile on which a charger's SignCertificate is passed to the CA "
           "(below it: Rejected, reasonCode SecurityProfile); 2 = over TLS only");
  if (!pod) return;
  s.add("credentials-file", c.credentials_file,
        "Charger credentials: lines 'charger_id,security_profile,password_hash' (without "
        "--auth-address)")
      .add("unknown-charger-profile", c.unknown_charger_profile,
           "Security profile required of chargers not in the credentials file; -1 = refuse them")
      .add("auth-address", c.auth_address,
           "Authorization service host:port: boots, tokens, charger admission; empty = built-in")
      .add("transactions-address", c.transactions_address,
           "Transactions service host:port: transaction decisions, 1.6 ids; empty = built-in")
      .add("service-timeout", c.service_timeout,
           "Deadline of a call to the auth / transactions service")
      .add("accepted-tokens-file", c.accepted_tokens_file,
           "Built-in policy: id tokens accepted, one per line; empty = accept all")
      .add("heartbeat-interval", c.heartbeat_interval_s,
           "Built-in policy: heartbeat interval given at boot (s)")
      .add("kafka-brokers", c.kafka_brokers, "Kafka bootstrap servers")
      .add("kafka-linger", c.kafka_linger,
           "How long the producer may hold events to batch them (librdkafka linger.ms): fewer "
           "requests per event, acknowledgements that much later")
      .add("events-topic", c.events_topic, "Topic of charger events")
      .add("events-topic-partitions", c.events_topic_partitions,
           "Partitions when the topic is created")
      .add("publish-timeout", c.publish_timeout,
           "Budget to make an event durable; past it the charger gets InternalError")
      .add("redis-address", c.redis_address, "Redis host:port (owner registry)")
      .add_secret("redis-password", c.redis_password, "Redis password")
      .add("redis-prefix", c.redis_prefix, "Prefix of this deployment's Redis keys")
      .add("owner-ttl", c.owner_ttl, "Lifetime of an ownership claim without refresh")
      .add("owner-refresh", c.owner_refresh, "How often a pod refreshes its claims")
      .add("fence-after", c.fence_after,
           "Without Kafka or Redis this long while a peer pod reaches both: close the "
           "connections over the drain window and refuse new ones until both are back (0: never)")
      .add("log-level", c.log_level, "debug, info, warn or error");
}

void use_small_objects_for_openssl(const GatewayConfig& c) {
  if (!c.tls_small_objects) return;
  if (small_objects::use_for_openssl()) {
    log::debug("OpenSSL's small objects on the headerless heap (--tls-small-objects)");
  } else {
    log::warn(
        "--tls-small-objects: OpenSSL allocated before the pod could give it its heap; "
        "it keeps malloc");
  }
}

Result<void> check_io_coalesce(const GatewayConfig& c) {
  if (c.io_coalesce.count() < 0 || c.io_coalesce > kMaxIoCoalesce) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--io-coalesce " + std::to_string(c.io_coalesce.count()) +
                          " ms: must be 0 (off) to " + std::to_string(kMaxIoCoalesce.count()) +
                          " ms (each hop of a CALL may wait that long)");
  }
  if (c.io_coalesce_from_connections < 0 || c.io_coalesce_from_connections > kMaxIoCoalesceFrom) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--io-coalesce-from-connections " +
                          std::to_string(c.io_coalesce_from_connections) +
                          ": must be 0 (at any count) to " + std::to_string(kMaxIoCoalesceFrom));
  }
  return {};
}

Result<void> check_config(const GatewayConfig& c) {
  if (auto ports = check_ports(c); !ports) return ports;
  return check_io_coalesce(c);
}

Result<void> check_ports(const GatewayConfig& c) {
  const std::pair<const char*, int> ports[] = {
      {"--ws-port", c.ws_port},
      {"--wss-port",
       c.tls_certificate.empty() && c.tls_second_certificate.empty() ? 0 : c.wss_port},
      {"--grpc-port", c.grpc_port},
      {"--http-port", c.http_port}};
  for (std::size_t i = 0; i < std::size(ports); ++i) {
    for (std::size_t j = i + 1; j < std::size(ports); ++j) {
      if (ports[i].second > 0 && ports[i].second == ports[j].second) {
        return make_error(ErrorCode::kInvalidArgument,
                          std::string(ports[i].first) + " and " + ports[j].first + " are both " +
                              std::to_string(ports[i].second) +
                              ": each listener needs a port of its own");
      }
    }
  }
  return {};
}

}  // namespace switchyard::gateway
