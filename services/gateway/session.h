// A charger's live OCPP connection on this pod, as the rest of the gateway sees it. The session
// lives on one I/O thread; these entry points may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/ocpp/types.h"
#include "common/runtime/core/error.h"

namespace switchyard::gateway {

// The charger's answer to a command: a CALLRESULT payload, or its CALLERROR.
struct CommandReply {
  std::string action;
  ocpp::Version version = ocpp::Version::k16;
  std::string payload_json;       // CALLRESULT
  std::string error_code;         // CALLERROR
  std::string error_description;  // CALLERROR
  std::string status;             // CALLRESULT: its "status" member, when it has one
};

// UNAVAILABLE (offline, connection closed), INVALID_ARGUMENT (payload does not validate),
// UNIMPLEMENTED (no such action in the charger's version), DEADLINE_EXCEEDED (no answer).
using CommandCallback = std::move_only_function<void(Result<CommandReply>)>;

// kFenced: the pod is cut off from Kafka or Redis while a peer is not (fencing.h); like a drain,
// what is in flight is answered first.
enum class SessionCloseReason { kDrain, kTakenOver, kLostOwnership, kFenced };

class Session {
 public:
  virtual ~Session() = default;

  const std::string& charger_id() const { return charger_id_; }
  ocpp::Version version() const { return version_; }
  int security_profile() const { return security_profile_; }
  std::chrono::system_clock::time_point connected_at() const { return connected_at_; }
  // The ownership epoch this connection claimed; 0 until the claim is confirmed.
  std::int64_t epoch() const { return epoch_.load(); }

  // Sends an OCPP CALL and reports the charger's answer. Calls queue behind each other: one
  // outstanding CALL per direction.
  virtual void send_command(std::string action, std::string payload_json, CommandCallback done) = 0;
  // Closes the connection: kDrain and kFenced answer what is in flight first (going away, 1001).
  virtual void close(SessionCloseReason reason) = 0;
  // Claims ownership again (the registry was unreachable when the charger connected).
  virtual void claim_again() = 0;
  // Runs `then` on the session's thread once no ownership claim is in flight, at once when none
  // is: the registry names a claim before the connection has read its answer, so a command
  // routed by it waits for the epoch instead of being refused as stale.
  virtual void after_claim(std::move_only_function<void()> then) = 0;

 protected:
  Session(std::string charger_id, ocpp::Version version, int security_profile)
      : charger_id_(std::move(charger_id)),
        version_(version),
        security_profile_(security_profile),
        connected_at_(std::chrono::system_clock::now()) {}

  std::string charger_id_;
  ocpp::Version version_;
  int security_profile_;
  std::chrono::system_clock::time_point connected_at_;
  std::atomic<std::int64_t> epoch_{0};
};

}  // namespace switchyard::gateway
