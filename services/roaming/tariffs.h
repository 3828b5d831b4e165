// OCPI 2.2.1 tariffs, CPO side (SENDER, and pushed to partners' tariffs RECEIVERs): the
// transactions service's tariffs (switchyard.v1.Tariff:
// energy per MWh, time per hour and a session fee in minor units, VAT) as OCPI Tariffs with one
// element of ENERGY (per kWh), TIME (per hour) and FLAT price components, VAT in percent. OCPI
// wants a last_updated per tariff; the transactions service keeps none, so the catalog records
// when it first saw each version of a tariff (roaming_tariffs). Boost.JSON stays in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/ocpi_module.h"
#include "roaming/pusher.h"
#include "switchyard/v1/transactions.pb.h"

namespace switchyard::sql {
class Database;
}  // namespace switchyard::sql

namespace switchyard::roaming {

// Where the tariffs come from (the transactions service's ListTariffs).
class TariffSource {
 public:
  virtual ~TariffSource() = default;
  virtual Result<std::vector<v1::Tariff>> list() = 0;
};

struct PublishedTariff {
  v1::Tariff tariff;
  std::int64_t last_updated_ms = 0;
};

// The OCPI Tariff JSON (plain decimals: 0.39 per kWh, VAT 19).
std::string tariff_json(const PublishedTariff& t, const Party& party);

class TariffCatalog {
 public:
  // Tariffs are read from `source` at most once per `refresh`.
  TariffCatalog(TariffSource& source, sql::Database& db, const Clock& clock,
                std::chrono::milliseconds refresh = std::chrono::seconds(5))
      : source_(source), db_(db), clock_(clock), refresh_(refresh) {}

  // Partners to tell about a tariff that appeared, changed or went (their push outboxes, module
  // "tariffs", in the transaction that records the change). Before use.
  void on_change(std::function<Result<std::vector<std::string>>()> receivers) {
    receivers_ = std::move(receivers);
  }
  // Every tariff with an OCPI-sized id (<= 36 characters), by (last_updated, id); `fresh`
  // reads the source whatever the cache.
  Result<std::vector<PublishedTariff>> current(bool fresh = false);
  // One tariff; one the cache lacks is looked for in the source (a CDR priced with a tariff put
  // a moment ago).
  Result<std::optional<PublishedTariff>> find(const std::string& tariff_id);
  // Every known tariff into `partner_id`'s outbox (a partner that just registered); how many.
  Result<std::int64_t> enqueue_all(const std::string& partner_id);

 private:
  TariffSource& source_;
  sql::Database& db_;
  const Clock& clock_;
  std::chrono::milliseconds refresh_;
  std::function<Result<std::vector<std::string>>()> receivers_;
  std::mutex mutex_;
  // Each tariff's version as recorded in roaming_tariffs (read once, then kept in step).
  struct Version {
    std::string digest;
    std::int64_t last_updated_ms = 0;
  };
  bool versions_loaded_ = false;
  std::map<std::string, Version> versions_;
  std::vector<PublishedTariff> cached_;
  std::chrono::steady_clock::time_point until_ = std::chrono::steady_clock::time_point::min();
};

// Tariff pushes (pusher.h): PUT <their tariffs url>/{cc}/{party}/{tariff_id} with the Tariff as
// it is now, DELETE when it went. Each pass of the pusher refreshes the catalog (at most every
// `refresh`), which is what notices the transactions service's changes.
class TariffPushSource final : public PushSource {
 public:
  TariffPushSource(TariffCatalog& catalog, Party party)
      : catalog_(catalog), party_(std::move(party)) {}
  std::string_view module() const override { return "tariffs"; }
  void begin_pass() override;
  Result<std::optional<PushRequest>> request(const PendingPush& push,
                                             const std::string& url) override;

 private:
  TariffCatalog& catalog_;
  Party party_;
};

// GET <base>/2.2.1/tariffs?date_from&date_to&offset&limit.
class TariffsSender final : public OcpiModule {
 public:
  TariffsSender(TariffCatalog& catalog, Party party, std::string list_url, const Clock& clock)
      : catalog_(catalog),
        party_(std::move(party)),
        list_url_(std::move(list_url)),
        clock_(clock) {}
  std::string_view identifier() const override { return "tariffs"; }
  std::string_view role() const override { return "SENDER"; }
  http::Response handle(const Partner& partner, const http::Request& request,
                        std::string_view rest) override;

  static constexpr int kDefaultLimit = 50;
  static constexpr int kMaxLimit = 100;

 private:
  TariffCatalog& catalog_;
  Party party_;
  std::string list_url_;
  const Clock& clock_;
};

}  // namespace switchyard::roaming
