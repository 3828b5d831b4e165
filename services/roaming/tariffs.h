// OCPI 2.2.1 tariffs, CPO side (SENDER): the transactions service's tariffs (switchyard.v1.Tariff:
// energy per MWh, time per hour and a session fee in minor units, VAT) as OCPI Tariffs with one
// element of ENERGY (per kWh), TIME (per hour) and FLAT price components, VAT in percent. OCPI
// wants a last_updated per tariff; the transactions service keeps none, so the catalog records
// when it first saw each version of a tariff (roaming_tariffs). Boost.JSON stays in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/runtime/core/clock.h"
#include "common/runtime/core/error.h"
#include "roaming/ocpi_envelope.h"
#include "roaming/ocpi_module.h"
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

  // Every tariff with an OCPI-sized id (<= 36 characters), by (last_updated, id).
  Result<std::vector<PublishedTariff>> current();
  Result<std::optional<PublishedTariff>> find(const std::string& tariff_id);

 private:
  TariffSource& source_;
  sql::Database& db_;
  const Clock& clock_;
  std::chrono::milliseconds refresh_;
  std::mutex mutex_;
  std::vector<PublishedTariff> cached_;
  std::chrono::steady_clock::time_point until_ = std::chrono::steady_clock::time_point::min();
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
