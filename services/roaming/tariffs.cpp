// OCPI tariffs (see tariffs.h).
#include "roaming/tariffs.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "common/runtime/core/log.h"
#include "common/runtime/http/server.h"
#include "common/runtime/sql/database.h"
#include "roaming/ocpi_paging.h"
#include "roaming/push_outbox.h"
#include "roaming/session_objects.h"

namespace switchyard::roaming {
namespace {

namespace json = boost::json;

// A price component with a plain decimal price (the Writer of session_objects is for whole
// objects; a component is small enough to assemble here).
std::string component(std::string_view type, const std::string& price, const std::string& vat) {
  return "{\"type\":" + json::serialize(json::value(json::string(type))) + ",\"price\":" + price +
         ",\"vat\":" + vat + ",\"step_size\":1}";
}

std::int64_t now_ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch())
      .count();
}

}  // namespace

std::string tariff_json(const PublishedTariff& p, const Party& party) {
  const v1::Tariff& t = p.tariff;
  const int exponent = currency_exponent(t.currency());
  const std::string vat = decimal_text(t.vat_basis_points(), 2);
  std::string components = "[";
  // Per kWh: minor units per MWh / 1000 / 10^exponent.
  components += component("ENERGY", decimal_text(t.energy_minor_per_mwh(), exponent + 3), vat);
  if (t.time_minor_per_hour() > 0) {
    components += "," + component("TIME", decimal_text(t.time_minor_per_hour(), exponent), vat);
  }
  if (t.session_fee_minor() > 0) {
    components += "," + component("FLAT", decimal_text(t.session_fee_minor(), exponent), vat);
  }
  components += "]";
  const auto q = [](std::string_view s) { return json::serialize(json::value(json::string(s))); };
  return "{\"country_code\":" + q(party.country_code) + ",\"party_id\":" + q(party.party_id) +
         ",\"id\":" + q(t.tariff_id()) + ",\"currency\":" + q(t.currency()) +
         ",\"type\":\"REGULAR\",\"elements\":[{\"price_components\":" + components +
         "}],\"last_updated\":" +
         q(ocpi_timestamp(
             std::chrono::system_clock::time_point(std::chrono::milliseconds(p.last_updated_ms)))) +
         "}";
}

Result<std::vector<PublishedTariff>> TariffCatalog::current(bool fresh) {
  std::lock_guard lock(mutex_);
  if (!fresh && clock_.steady_now() < until_) return cached_;
  auto tariffs = source_.list();
  if (!tariffs) return std::unexpected(tariffs.error());
  std::vector<std::string> receivers;
  if (receivers_) {
    auto r = receivers_();
    if (!r) return std::unexpected(r.error());
    receivers = std::move(*r);
  }
  std::vector<PublishedTariff> out;
  std::set<std::string> listed;
  const std::int64_t now = now_ms(clock_);
  for (const auto& t : *tariffs) {
    if (t.tariff_id().empty() || t.tariff_id().size() > 36) {
      log::warn("tariff not published: its id is longer than OCPI's 36 characters",
                {{"tariff_id", t.tariff_id().substr(0, 60)}});
      continue;
    }
    std::string bytes;
    t.SerializeToString(&bytes);
    const std::string digest = sha256_hex(bytes);
    // A version seen for the first time is updated now; a known one keeps its time.
    std::int64_t updated = now;
    auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
      auto old = tx.exec("SELECT digest, last_updated_ms FROM roaming_tariffs WHERE tariff_id = $1",
                         {t.tariff_id()});
      if (!old) return std::unexpected(old.error());
      if (!old->empty() && old->text(0, 0) == digest) {
        updated = old->int64(0, 1);
        return {};
      }
      auto w = tx.exec(
          "INSERT INTO roaming_tariffs (tariff_id, digest, last_updated_ms) VALUES ($1, $2, $3) "
          "ON CONFLICT (tariff_id) DO UPDATE SET digest = excluded.digest, "
          "last_updated_ms = excluded.last_updated_ms",
          {t.tariff_id(), digest, std::to_string(now)});
      if (!w) return std::unexpected(w.error());
      return enqueue_push(tx, receivers, "tariffs", t.tariff_id(), "", now);
    });
    if (!r) return std::unexpected(r.error());
    out.push_back({t, updated});
    listed.insert(t.tariff_id());
  }
  // Tariffs that went: forgotten, and the partners told (DELETE).
  auto known = db_.exec("SELECT tariff_id FROM roaming_tariffs");
  if (!known) return std::unexpected(known.error());
  for (int i = 0; i < known->size(); ++i) {
    const std::string id = known->text(i, 0);
    if (listed.contains(id)) continue;
    auto gone = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
      auto d = tx.exec("DELETE FROM roaming_tariffs WHERE tariff_id = $1", {id});
      if (!d) return std::unexpected(d.error());
      return enqueue_push(tx, receivers, "tariffs", id, "", now);
    });
    if (!gone) return std::unexpected(gone.error());
    log::info("tariff withdrawn", {{"tariff_id", id}});
  }
  std::ranges::sort(out, [](const PublishedTariff& a, const PublishedTariff& b) {
    return std::tie(a.last_updated_ms, a.tariff.tariff_id()) <
           std::tie(b.last_updated_ms, b.tariff.tariff_id());
  });
  cached_ = out;
  until_ = clock_.steady_now() + refresh_;
  return out;
}

Result<std::optional<PublishedTariff>> TariffCatalog::find(const std::string& tariff_id) {
  for (const bool fresh : {false, true}) {
    auto all = current(fresh);
    if (!all) return std::unexpected(all.error());
    const auto t = std::ranges::find_if(
        *all, [&](const PublishedTariff& p) { return p.tariff.tariff_id() == tariff_id; });
    if (t != all->end()) return *t;
  }
  return std::nullopt;
}

Result<std::int64_t> TariffCatalog::enqueue_all(const std::string& partner_id) {
  std::int64_t count = 0;
  auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
    auto rows = tx.exec("SELECT tariff_id FROM roaming_tariffs");
    if (!rows) return std::unexpected(rows.error());
    const std::string to[] = {partner_id};
    for (int i = 0; i < rows->size(); ++i) {
      if (auto q = enqueue_push(tx, to, "tariffs", rows->text(i, 0), "", now_ms(clock_)); !q) {
        return q;
      }
    }
    count = rows->size();
    return {};
  });
  if (!r) return std::unexpected(r.error());
  return count;
}

void TariffPushSource::begin_pass() {
  if (auto r = catalog_.current(); !r) {
    log::warn("tariffs not refreshed", {{"error", r.error().message}});
  }
}

Result<std::optional<PushRequest>> TariffPushSource::request(const PendingPush& push,
                                                             const std::string& url) {
  const std::string target = url + "/" + url_segment(party_.country_code) + "/" +
                             url_segment(party_.party_id) + "/" + url_segment(push.object_id);
  auto found = catalog_.find(push.object_id);
  if (!found) {
    // The transactions service cannot be read now: kept and tried later.
    return make_error(ErrorCode::kFailedPrecondition, found.error().message);
  }
  if (!*found) return PushRequest{"DELETE", target, ""};
  return PushRequest{"PUT", target, tariff_json(**found, party_)};
}

http::Response TariffsSender::handle(const Partner& partner, const http::Request& request,
                                     std::string_view rest) {
  (void)partner;  // every registered partner sees every tariff
  const auto now = clock_.now();
  if (auto refused = refuse_all_but_the_list(request, rest, "tariffs", now)) return *refused;
  return list_response(
      request, "tariffs", list_url_, now, kDefaultLimit, kMaxLimit,
      [this](const PageRequest& page) -> Result<ListedPage> {
        auto all = catalog_.current();
        if (!all) {
          // The transactions service (where the tariffs are) cannot be read: 503.
          return make_error(ErrorCode::kUnavailable, all.error().message);
        }
        std::vector<const PublishedTariff*> window;
        for (const auto& t : *all) {
          if (page.from_ms && t.last_updated_ms < *page.from_ms) continue;
          if (page.to_ms && t.last_updated_ms >= *page.to_ms) continue;
          window.push_back(&t);
        }
        ListedPage out;
        out.total = static_cast<std::int64_t>(window.size());
        for (auto i = static_cast<std::size_t>(page.offset);
             i < window.size() && out.covered < static_cast<std::size_t>(page.limit); ++i) {
          out.objects.push_back(tariff_json(*window[i], party_));
          ++out.covered;
        }
        return out;
      });
}

}  // namespace switchyard::roaming
