// The transaction folding rules (see session_fold.h).
#include "transactions/session_fold.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/runtime/core/password.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::transactions {
namespace {

std::int64_t millis(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1'000'000;
}

bool is_energy_register(const v1::MeterSample& s) {
  return s.measurand().empty() || s.measurand() == "Energy.Active.Import.Register";
}

bool is_phase_total(const std::string& phase) { return phase.empty(); }
bool is_line_phase(const std::string& phase) {
  return phase == "L1" || phase == "L2" || phase == "L3" || phase == "L1-N" || phase == "L2-N" ||
         phase == "L3-N";
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

TransactionRow fresh_row(const std::string& transaction_id, const EventContext& context) {
  TransactionRow row;
  row.charger_id = context.charger_id;
  row.transaction_id = transaction_id;
  row.state = "ACTIVE";
  row.ocpp_version = context.ocpp_version;
  row.start_missing = true;  // until a start is seen
  return row;
}

void take_location(TransactionRow& row, const v1::Location& location) {
  if (location.evse_id() != 0) row.evse_id = location.evse_id();
  if (location.connector_id() != 0) row.connector_id = location.connector_id();
}

}  // namespace

const char* change_name(Change change) {
  switch (change) {
    case Change::kStarted:
      return "started";
    case Change::kEnded:
      return "ended";
    case Change::kUpdated:
      break;
  }
  return "updated";
}

std::vector<Reading> register_readings(
    const google::protobuf::RepeatedPtrField<v1::MeterSample>& samples,
    std::int64_t fallback_at_ms) {
  struct AtTime {
    std::optional<double> total;
    double phase_sum = 0;
    bool has_phase = false;
  };
  std::map<std::int64_t, AtTime> by_time;
  for (const auto& s : samples) {
    if (!is_energy_register(s) || s.location() == "EV") continue;
    if (s.normalized_unit() != "Wh" || !std::isfinite(s.normalized_value())) continue;
    const std::int64_t at = s.has_timestamp() ? millis(s.timestamp()) : fallback_at_ms;
    auto& slot = by_time[at];
    if (is_phase_total(s.phase())) {
      slot.total = s.normalized_value();
    } else if (is_line_phase(s.phase())) {
      slot.phase_sum += s.normalized_value();
      slot.has_phase = true;
    }
  }
  std::vector<Reading> out;
  for (const auto& [at, slot] : by_time) {
    if (slot.total) {
      out.push_back({at, std::llround(*slot.total)});
    } else if (slot.has_phase) {
      out.push_back({at, std::llround(slot.phase_sum)});
    }
  }
  return out;
}

Folded fold(std::optional<TransactionRow> current, const v1::TransactionEvent& e,
            const EventContext& context) {
  Folded out;
  out.row = current ? std::move(*current) : fresh_row(e.transaction_id(), context);
  TransactionRow& row = out.row;
  const bool had_cdr = !row.cdr_id.empty();
  const std::int64_t at = e.has_timestamp() ? millis(e.timestamp()) : context.received_at_ms;

  take_location(row, e.location());
  if (!e.id_token().id().empty() &&
      (row.id_token.empty() || e.kind() == v1::TransactionEvent::KIND_STARTED)) {
    row.id_token = e.id_token().id();
    row.id_token_type = e.id_token().type();
  }
  if (!e.decision().group_id().empty()) row.group_id = e.decision().group_id();
  if (row.ocpp_version.empty()) row.ocpp_version = context.ocpp_version;

  switch (e.kind()) {
    case v1::TransactionEvent::KIND_STARTED:
      // A repeated start (or a late one after the end) keeps the earliest start time.
      if (!row.started_at || at < *row.started_at) row.started_at = at;
      row.start_missing = false;
      if (e.has_meter_wh()) row.registers.fold(at, e.meter_wh());
      out.change = Change::kStarted;
      break;
    case v1::TransactionEvent::KIND_ENDED:
      row.state = "ENDED";
      if (!row.ended_at || at > *row.ended_at) row.ended_at = at;
      // OCPP: the reason may only be omitted when it is Local.
      row.stopped_reason = e.stopped_reason().empty() ? "Local" : e.stopped_reason();
      if (e.has_meter_wh()) row.registers.fold(at, e.meter_wh());
      out.change = Change::kEnded;
      break;
    default:
      out.change = Change::kUpdated;
      break;
  }
  for (const auto& r : register_readings(e.samples(), at)) row.registers.fold(r.at_ms, r.wh);
  row.offline = row.offline || e.offline();
  row.seq_no = std::max(row.seq_no, e.seq_no());
  row.updated_at = std::max(row.updated_at, context.received_at_ms);
  out.late_after_cdr = had_cdr;
  return out;
}

Folded fold(std::optional<TransactionRow> current, const v1::MeterValues& values,
            const EventContext& context) {
  Folded out;
  out.row = current ? std::move(*current) : fresh_row(values.transaction_id(), context);
  const bool had_cdr = !out.row.cdr_id.empty();
  take_location(out.row, values.location());
  for (const auto& r : register_readings(values.samples(), context.received_at_ms)) {
    out.row.registers.fold(r.at_ms, r.wh);
  }
  out.row.updated_at = std::max(out.row.updated_at, context.received_at_ms);
  out.change = Change::kUpdated;
  out.late_after_cdr = had_cdr;
  return out;
}

bool cdr_due(const TransactionRow& row) {
  return row.state == "ENDED" && !row.start_missing && row.started_at && row.ended_at &&
         row.cdr_id.empty();
}

std::string cdr_id_for(const std::string& charger_id, const std::string& transaction_id) {
  // 32 hex digits (128 bits): fits OCPI's 39-character CDR id.
  return hex(sha256(charger_id + '\n' + transaction_id)).substr(0, 32);
}

CdrRow make_cdr(const TransactionRow& row, const std::optional<Tariff>& tariff,
                std::int64_t created_at_ms) {
  CdrRow c;
  c.cdr_id = cdr_id_for(row.charger_id, row.transaction_id);
  c.charger_id = row.charger_id;
  c.transaction_id = row.transaction_id;
  c.evse_id = row.evse_id;
  c.connector_id = row.connector_id;
  c.id_token = row.id_token;
  c.id_token_type = row.id_token_type;
  c.started_at = row.started_at.value_or(0);
  c.ended_at = row.ended_at.value_or(c.started_at);
  c.energy_wh = row.registers.energy_wh();
  c.duration_s = std::max<std::int64_t>(0, (c.ended_at - c.started_at) / 1000);
  if (tariff) {
    c.tariff_id = tariff->tariff_id;
    c.product_id = tariff->product_id;
    c.price = price(*tariff, c.energy_wh, c.duration_s);
  }
  c.stopped_reason = row.stopped_reason;
  c.created_at = created_at_ms;
  return c;
}

}  // namespace switchyard::transactions
