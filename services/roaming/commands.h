// OCPI 2.2.1 commands, CPO side (RECEIVER): an eMSP asks us to START_SESSION, STOP_SESSION,
// RESERVE_NOW, CANCEL_RESERVATION or UNLOCK_CONNECTOR at one of our published EVSEs. The request
// is checked and answered at once with a CommandResponse (ACCEPTED with the seconds we give the
// charger; REJECTED, UNKNOWN_SESSION or NOT_SUPPORTED with a message; a body that is no valid
// command 2001, an unknown location or EVSE 2003). The charger is then asked through
// ChargerControl on a worker thread, and its answer POSTed to the eMSP's response_url as a
// CommandResult (ACCEPTED, REJECTED, EVSE_OCCUPIED, EVSE_INOPERATIVE, FAILED, TIMEOUT,
// NOT_SUPPORTED), retried while the eMSP cannot be reached (3 attempts). A START_SESSION's token
// is stored as the eMSP's (tokens.h) and its session says auth_method COMMAND with the
// command's authorization_reference. Boost.JSON stays in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/location_store.h"
#include "roaming/ocpi_client.h"
#include "roaming/ocpi_module.h"
#include "roaming/session_store.h"
#include "roaming/tokens.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchyard {
class WorkPool;
namespace sql {
class Database;
}  // namespace sql
}  // namespace switchyard

namespace switchyard::roaming {

// What roaming asks chargers to do. Each returns the status of the charger's OCPP answer
// ("Accepted", "Rejected", "Occupied", "Unlocked", ...); errors: kUnavailable (the gateway or
// the charger cannot be reached, e.g. not connected), kDeadlineExceeded (no answer in time),
// kFailedPrecondition (no gateway configured).
class ChargerCommands {
 public:
  virtual ~ChargerCommands() = default;
  virtual Result<std::string> remote_start(const std::string& charger_id, int evse_id,
                                           const std::string& id_token,
                                           const std::string& token_type) = 0;
  virtual Result<std::string> remote_stop(const std::string& charger_id,
                                          const std::string& transaction_id) = 0;
  virtual Result<std::string> unlock(const std::string& charger_id, int evse_id,
                                     int connector_id) = 0;
  virtual Result<std::string> reserve(const std::string& charger_id, int evse_id,
                                      int reservation_id, const std::string& id_token,
                                      std::int64_t expires_ms) = 0;
  virtual Result<std::string> cancel_reservation(const std::string& charger_id,
                                                 int reservation_id) = 0;
};

// The OCPI CommandResult of a charger's answer to `command` (or of the error asking it).
std::string command_result(std::string_view command, const Result<std::string>& answer);

class CommandsReceiver final : public OcpiModule {
 public:
  struct Stores {
    LocationStore& locations;
    SessionStore& sessions;
    TokenStore& tokens;
    sql::Database& db;  // reservations
  };
  // `timeout`: what the CommandResponse promises (the charger's answer is awaited that long).
  CommandsReceiver(Stores stores, OcpiClient& client, ChargerCommands& chargers, const Clock& clock,
                   prometheus::Registry* metrics, std::chrono::seconds timeout);
  ~CommandsReceiver() override;
  CommandsReceiver(const CommandsReceiver&) = delete;
  CommandsReceiver& operator=(const CommandsReceiver&) = delete;

  std::string_view identifier() const override { return "commands"; }
  std::string_view role() const override { return "RECEIVER"; }
  http::Response handle(const Partner& partner, const http::Request& request,
                        std::string_view rest) override;
  // Waits for the commands in flight (their results are posted) and takes no more.
  void stop();

  struct Job;  // one accepted command (commands.cpp)

 private:
  void run(const std::shared_ptr<Job>& job);
  void count(std::string_view command, std::string_view result);

  Stores stores_;
  OcpiClient& client_;
  ChargerCommands& chargers_;
  const Clock& clock_;
  std::chrono::seconds timeout_;
  prometheus::Family<prometheus::Counter>* commands_ = nullptr;
  std::unique_ptr<WorkPool> workers_;
};

}  // namespace switchyard::roaming
