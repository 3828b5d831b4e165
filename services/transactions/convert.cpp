// Transactions rows <-> switchyard.v1 messages.
#include "transactions/convert.h"

namespace switchyard::transactions {

std::int64_t millis(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1'000'000;
}

void set_millis(google::protobuf::Timestamp* ts, std::int64_t ms) {
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}

namespace {
v1::OcppVersion version_enum(const std::string& v) {
  if (v == "1.6") return v1::OCPP_VERSION_1_6;
  if (v == "2.0.1") return v1::OCPP_VERSION_2_0_1;
  if (v == "2.1") return v1::OCPP_VERSION_2_1;
  return v1::OCPP_VERSION_UNSPECIFIED;
}
}  // namespace

void to_proto(const TransactionRow& row, v1::Transaction* out) {
  out->set_transaction_id(row.transaction_id);
  out->set_charger_id(row.charger_id);
  out->mutable_location()->set_evse_id(row.evse_id);
  out->mutable_location()->set_connector_id(row.connector_id);
  if (!row.id_token.empty()) {
    out->mutable_id_token()->set_id(row.id_token);
    out->mutable_id_token()->set_type(row.id_token_type);
  }
  out->set_state(row.state == "ENDED" ? v1::TRANSACTION_STATE_ENDED : v1::TRANSACTION_STATE_ACTIVE);
  if (row.started_at) set_millis(out->mutable_started_at(), *row.started_at);
  if (row.ended_at) set_millis(out->mutable_ended_at(), *row.ended_at);
  out->set_meter_start_wh(row.registers.first_wh.value_or(0));
  out->set_meter_stop_wh(row.registers.last_wh.value_or(0));
  out->set_energy_wh(row.registers.energy_wh());
  out->set_stopped_reason(row.stopped_reason);
  out->set_offline(row.offline);
  out->set_ocpp_version(version_enum(row.ocpp_version));
  set_millis(out->mutable_updated_at(), row.updated_at);
  out->set_start_missing(row.start_missing);
  out->set_seq_no(row.seq_no);
  out->set_cdr_id(row.cdr_id);
}

void to_proto(const CdrRow& row, v1::Cdr* out) {
  out->set_cdr_id(row.cdr_id);
  out->set_transaction_id(row.transaction_id);
  out->set_charger_id(row.charger_id);
  out->mutable_location()->set_evse_id(row.evse_id);
  out->mutable_location()->set_connector_id(row.connector_id);
  out->mutable_id_token()->set_id(row.id_token);
  out->mutable_id_token()->set_type(row.id_token_type);
  set_millis(out->mutable_started_at(), row.started_at);
  set_millis(out->mutable_ended_at(), row.ended_at);
  out->set_energy_wh(row.energy_wh);
  out->set_duration_s(row.duration_s);
  out->set_tariff_id(row.tariff_id);
  out->set_product_id(row.product_id);
  auto* p = out->mutable_price();
  p->set_currency(row.price.currency);
  p->set_energy_minor(row.price.energy_minor);
  p->set_time_minor(row.price.time_minor);
  p->set_session_fee_minor(row.price.session_fee_minor);
  p->set_total_excl_vat_minor(row.price.total_excl_vat_minor);
  p->set_vat_minor(row.price.vat_minor);
  p->set_total_incl_vat_minor(row.price.total_incl_vat_minor);
  p->set_vat_basis_points(row.price.vat_basis_points);
  set_millis(out->mutable_created_at(), row.created_at);
  out->set_stopped_reason(row.stopped_reason);
}

void to_proto(const Tariff& t, v1::Tariff* out) {
  out->set_tariff_id(t.tariff_id);
  out->set_product_id(t.product_id);
  out->set_currency(t.currency);
  out->set_energy_minor_per_mwh(t.energy_minor_per_mwh);
  out->set_time_minor_per_hour(t.time_minor_per_hour);
  out->set_session_fee_minor(t.session_fee_minor);
  out->set_vat_basis_points(t.vat_basis_points);
  out->set_charger_id(t.charger_id);
}

Tariff from_proto(const v1::Tariff& t) {
  Tariff out;
  out.tariff_id = t.tariff_id();
  out.product_id = t.product_id().empty() ? "Standard Price" : t.product_id();
  out.currency = t.currency();
  out.energy_minor_per_mwh = t.energy_minor_per_mwh();
  out.time_minor_per_hour = t.time_minor_per_hour();
  out.session_fee_minor = t.session_fee_minor();
  out.vat_basis_points = t.vat_basis_points();
  out.charger_id = t.charger_id();
  return out;
}

}  // namespace switchyard::transactions
