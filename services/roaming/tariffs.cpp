// OCPI tariffs (see tariffs.h).
#include "roaming/tariffs.h"

#include <algorithm>
#include <set>

#include "common/runtime/core/log.h"
#include "common/runtime/http/server.h"
#include "common/runtime/sql/database.h"
#include "roaming/ocpi_paging.h"
#include "roaming/push_outbox.h"
#include "roaming/session_objects.h"

namespace switchyard::roaming {
namespace {

std::string component(std::string_view type, const std::string& price, const std::string& vat) {
  return JsonFields()
      .text("type", type)
      .raw("price", price)
      .raw("vat", vat)
      .raw("step_size", "1")
      .done();
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
  return JsonFields()
      .text("country_code", party.country_code)
      .text("party_id", party.party_id)
      .text("id", t.tariff_id())
      .text("currency", t.currency())
      .text("type", "REGULAR")
      .raw("elements", "[" + JsonFields().raw("price_components", components).done() + "]")
      .text("last_updated", ocpi_timestamp(std::chrono::system_clock::time_point(
                                std::chrono::milliseconds(p.last_updated_ms))))
      .done();
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
  if (!versions_loaded_) {  // once: later refreshes compare in memory
    auto rows = db_.exec("SELECT tariff_id, digest, last_updated_ms FROM roaming_tariffs");
    if (!rows) return std::unexpected(rows.error());
    for (int i = 0; i < rows->size(); ++i) {
      versions_[rows->text(i, 0)] = {rows->text(i, 1), rows->int64(i, 2)};
    }
    versions_loaded_ = true;
  }
  std::vector<PublishedTariff> out;
  std::set<std::string> listed;
  const std::int64_t now = unix_ms(clock_.now());
  for (const auto& t : *tariffs) {
    if (t.tariff_id().empty() || t.tariff_id().size() > 36) {
      log::warn("tariff not published: its id is longer than OCPI's 36 characters",
                {{"tariff_id", t.tariff_id().substr(0, 60)}});
      continue;
    }
    listed.insert(t.tariff_id());
    std::string bytes;
    t.SerializeToString(&bytes);
    const std::string digest = sha256_hex(bytes);
    auto known = versions_.find(t.tariff_id());
    if (known == versions_.end() || known->second.digest != digest) {
      // A version seen for the first time is updated now; the partners are told.
      auto r = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
        auto w = tx.exec(
            "INSERT INTO roaming_tariffs (tariff_id, digest, last_updated_ms) VALUES ($1, $2, $3) "
            "ON CONFLICT (tariff_id) DO UPDATE SET digest = excluded.digest, "
            "last_updated_ms = excluded.last_updated_ms",
            {t.tariff_id(), digest, std::to_string(now)});
        if (!w) return std::unexpected(w.error());
        return enqueue_push(tx, receivers, "tariffs", t.tariff_id(), "", now);
      });
      if (!r) return std::unexpected(r.error());
      known = versions_.insert_or_assign(t.tariff_id(), Version{digest, now}).first;
    }
    out.push_back({t, known->second.last_updated_ms});
  }
  // Tariffs that went: forgotten, and the partners told (DELETE).
  for (auto it = versions_.begin(); it != versions_.end();) {
    if (listed.contains(it->first)) {
      ++it;
      continue;
    }
    const std::string id = it->first;
    auto gone = db_.transaction([&](sql::Transaction& tx) -> Result<void> {
      auto d = tx.exec("DELETE FROM roaming_tariffs WHERE tariff_id = $1", {id});
      if (!d) return std::unexpected(d.error());
      return enqueue_push(tx, receivers, "tariffs", id, "", now);
    });
    if (!gone) return std::unexpected(gone.error());
    log::info("tariff withdrawn", {{"tariff_id", id}});
    it = versions_.erase(it);
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
      if (auto q = enqueue_push(tx, to, "tariffs", rows->text(i, 0), "", unix_ms(clock_.now()));
          !q) {
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
