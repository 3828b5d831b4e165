// Every setting of a gateway pod (flags and SWITCHYARD_* variables, listed by --help).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/runtime/core/error.h"
#include "common/runtime/kafka/producer.h"

namespace switchyard {
class Settings;
}

namespace switchyard::gateway {

struct GatewayConfig {
  std::string pod_id;  // default: the host name
  std::string listen_address = "0.0.0.0";
  int ws_port = 9000;   // 0: no plain listener
  int wss_port = 9443;  // 0: no TLS listener (also off without a certificate)
  int grpc_port = 50051;
  int http_port = 8080;
  // The address other pods reach this pod's gRPC at (recorded as owner address in Redis).
  std::string advertise_address;  // default: 127.0.0.1:<grpc_port>
  int threads = 0;                // I/O threads; 0 = one per core
  // After a wake-up, an I/O thread that found little to do waits this long before it serves
  // what came meanwhile and blocks again (io_rounds.h): fewer wake-ups per message at fleet
  // rates; each hop of a CALL (its frame, its acknowledgement) may wait this long. 0: off. At
  // most kMaxIoCoalesce. Only while the thread serves io_coalesce_from_connections or more
  // (0: at any count): measured at 15,000 chargers of `fleet`, 0.56-0.67x of the CPU (back to
  // back with the window off, two runs) for answers 10-20 ms later; a thread with few chargers
  // answers at once.
  std::chrono::milliseconds io_coalesce{10};
  std::int64_t io_coalesce_from_connections = 5000;

  std::string path_prefix = "/ocpp/";
  std::vector<std::string> protocols{"ocpp2.1", "ocpp2.0.1", "ocpp1.6"};

  // Security.
  std::string tls_certificate;  // PEM chain of the server certificate
  std::string tls_private_key;
  // A second chain and key of the other key type (ECDSA or RSA): OCPP asks for both kinds of
  // suite, and each needs a certificate of its kind (tls_context.h).
  std::string tls_second_certificate;
  std::string tls_second_private_key;
  std::string tls_client_ca;  // PEM CA(s) for security profile 3 client certificates
  // How often these files are checked for a change, which reloads them (0 = never).
  std::chrono::milliseconds tls_reload_interval{60000};
  std::string credentials_file;  // charger credentials (see credentials.h); empty = none
  // Security profile of chargers the credential file does not list: 0 (no auth), 1, 2 or 3;
  // -1 = unknown chargers are refused.
  int unknown_charger_profile = -1;
  // Failed authentications (auth_throttle.h): per charger id and per source address within the
  // window before a lockout (0 = no limit), the first lockout (doubling up to the maximum).
  int auth_charger_failures = 5;
  int auth_address_failures = 100;
  std::chrono::milliseconds auth_failure_window{60000};
  std::chrono::milliseconds auth_lockout{60000};
  std::chrono::milliseconds auth_max_lockout{900000};

  // Admission control (admission.h): new connections per second this pod takes (0 = no
  // limit), taken at once after a quiet time (0 = one second's worth), and the longest
  // Retry-After told to the refused.
  double admission_rate = 0;
  double admission_burst = 0;
  std::chrono::milliseconds admission_retry_after_max{30000};
  double admission_address_share = 0;  // of the rate and burst, per source address; 0 = no limit
  // SignCertificate is refused below this security profile: a certificate that opens profile 3
  // must not be had for a password sent over plain ws (or none).
  int certificate_signing_min_profile = 2;

  // OCPP-J session.
  std::chrono::milliseconds call_timeout{30000};
  std::chrono::milliseconds handshake_timeout{10000};
  // TLS sessions kept for resumption in the pod (see tls_context.cpp); 0 = stateless tickets
  // the chargers carry. A session not resumed within the timeout is dropped.
  int tls_session_cache = 65536;
  std::chrono::milliseconds tls_session_timeout{std::chrono::hours(2)};
  // OpenSSL's objects of up to 256 bytes on the headerless heap (small_objects.h): ~1.6 KiB less
  // per idle mTLS connection. Taken at start, before anything uses OpenSSL.
  bool tls_small_objects = true;
  // The listeners' accept queue; the kernel caps it at net.core.somaxconn (the pod warns when
  // that is lower). A storm of more connections at once than the queue holds loses the surplus
  // SYNs, which chargers retry only after 1, 3, 7, 15 s.
  int listen_backlog = 65535;
  std::chrono::milliseconds idle_timeout{120000};  // ping/pong liveness
  int max_frame_bytes = 64 * 1024;
  // Free heap pages go back to the system this long after the last connection opened or
  // closed (heap_trim.h); 0 = never.
  std::chrono::milliseconds heap_trim_quiet{1000};
  double rate_per_second = 20;                // token bucket refill per charger
  int rate_burst = 40;                        // token bucket size
  std::vector<std::string> lenient_chargers;  // charger ids decoded in lenient mode
  std::vector<std::string> lenient_vendors;   // vendors (BootNotification) decoded leniently

  // The auth and transactions services (host:port). When set, they decide boots, tokens,
  // transactions (both needed) and connection admissions (auth); when empty, the built-in
  // policy and the credentials file do.
  std::string auth_address;
  std::string transactions_address;
  std::chrono::milliseconds service_timeout{5000};

  // The built-in policy.
  std::string accepted_tokens_file;  // one id token per line; empty = accept every token
  int heartbeat_interval_s = 300;

  // Kafka.
  std::string kafka_brokers = "127.0.0.1:9092";
  // How long librdkafka may hold events to send them in one request (kafka::kDefaultLinger).
  std::chrono::milliseconds kafka_linger = kafka::kDefaultLinger;
  std::string events_topic = "ocpp.events.v1";
  int events_topic_partitions = 12;
  // The whole budget to make an event durable; past it the charger gets InternalError.
  std::chrono::milliseconds publish_timeout{10000};

  // Redis owner registry.
  std::string redis_address = "127.0.0.1:6379";
  std::string redis_password;
  std::string redis_prefix = "switchyard:";
  std::chrono::milliseconds owner_ttl{30000};
  std::chrono::milliseconds owner_refresh{10000};

  // Shutdown: connections are closed spread over this window.
  std::chrono::milliseconds drain_window{10000};
  // A draining connection sends its close frame once the charger has been quiet this long (no
  // frame read, no answer sent), so a CALL it sends right after an answer (StatusNotification
  // after StartTransaction) is answered instead of crossing the close frame; at most 4x this
  // after its turn in the window. 0: at once (after the CALL in progress).
  std::chrono::milliseconds drain_quiet{500};
  // Self-fencing (fencing.h): after this long without Kafka or Redis, while a peer pod reaches
  // both, the pod closes its connections over the drain window and refuses new ones until it
  // reaches both again. The default is the claim lifetime: by then its claims are gone. 0: never.
  std::chrono::milliseconds fence_after{30000};

  std::string log_level = "info";
};

// kPod: every setting of a gateway pod. kEmbedded: the gateway inside the standalone binary,
// without the Kafka / Redis / service-address / port settings the embedding process owns.
enum class SettingsScope { kPod, kEmbedded };
void add_settings(Settings& settings, GatewayConfig& config,
                  SettingsScope scope = SettingsScope::kPod);

// INVALID_ARGUMENT naming both flags when two of the pod's listeners (ws, wss with a
// certificate, gRPC, HTTP) are given the same port; 0 (a port the system picks) never clashes.
// The OCPP listeners set SO_REUSEPORT, so the system would let another listener bind their
// port too and split the connections between them.
Result<void> check_ports(const GatewayConfig& config);
// --io-coalesce within 0..kMaxIoCoalesce, --io-coalesce-from-connections within
// 0..kMaxIoCoalesceFrom.
Result<void> check_io_coalesce(const GatewayConfig& config);
// Every check above, the first failure's error: what a binary runs before it starts.
Result<void> check_config(const GatewayConfig& config);

// With --tls-small-objects, OpenSSL's small objects go to the headerless heap; logs the outcome
// (a warning when OpenSSL allocated first and keeps malloc). Call right after the settings.
void use_small_objects_for_openssl(const GatewayConfig& config);

}  // namespace switchyard::gateway
