// The SmartCharging gRPC service (see grpc_api.h).
#include "smart_charging/grpc_api.h"

#include <google/protobuf/util/json_util.h>

#include <cctype>
#include <set>

#include "common/runtime/grpc/status.h"

namespace switchyard::smart_charging {
namespace {

grpc::Status invalid(const std::string& what) { return {grpc::StatusCode::INVALID_ARGUMENT, what}; }
Error bad(const std::string& what) { return Error{ErrorCode::kInvalidArgument, what}; }

PhaseCurrents currents(const v1::PhaseCurrents& p) { return {p.l1_a(), p.l2_a(), p.l3_a()}; }
void set_currents(const PhaseCurrents& c, v1::PhaseCurrents* out) {
  out->set_l1_a(c[0]);
  out->set_l2_a(c[1]);
  out->set_l3_a(c[2]);
}

Time time_of(const google::protobuf::Timestamp& ts) {
  return Time(std::chrono::duration_cast<Duration>(std::chrono::seconds(ts.seconds()) +
                                                   std::chrono::nanoseconds(ts.nanos())));
}
void set_time(Time t, google::protobuf::Timestamp* out) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(static_cast<int>(ns % 1'000'000'000));
}

bool finite_non_negative(double v) { return v >= 0.0 && v < 1e9; }

Result<NodeSpec> node_spec(const v1::SiteNode& n) {
  const std::string where = "node '" + n.id() + "': ";
  if (n.id().empty()) return std::unexpected(bad("a node has no id"));
  NodeSpec spec;
  spec.id = n.id();
  spec.parent = n.parent();
  switch (n.kind()) {
    case v1::NODE_KIND_GRID_CONNECTION:
      spec.kind = NodeKind::kGridConnection;
      break;
    case v1::NODE_KIND_CIRCUIT:
      spec.kind = NodeKind::kCircuit;
      break;
    case v1::NODE_KIND_CHARGER:
      spec.kind = NodeKind::kCharger;
      break;
    default:
      return std::unexpected(bad(where + "kind is required"));
  }
  spec.fuse_a = currents(n.fuse_a());
  for (double a : spec.fuse_a) {
    if (!finite_non_negative(a))
      return std::unexpected(bad(where + "fuse_a must be 0 or more on every phase"));
  }
  if (n.has_power_limit_kw()) {
    if (!(n.power_limit_kw() > 0.0))
      return std::unexpected(bad(where + "power_limit_kw must be above 0"));
    spec.power_limit_kw = n.power_limit_kw();
  }
  if (n.has_imbalance_limit_a()) {
    if (!finite_non_negative(n.imbalance_limit_a()))
      return std::unexpected(bad(where + "imbalance_limit_a must be 0 or more"));
    spec.imbalance_limit_a = n.imbalance_limit_a();
  }
  if (n.has_meter()) {
    const auto& m = n.meter();
    if (m.window_s() < 0 || m.silence_timeout_s() < 0 || !finite_non_negative(m.headroom_a()))
      return std::unexpected(bad(where + "meter settings must not be negative"));
    SiteMeterSpec meter;
    if (m.window_s() > 0) meter.window = std::chrono::seconds(m.window_s());
    meter.headroom_a = m.headroom_a();
    if (m.silence_timeout_s() > 0)
      meter.silence_timeout = std::chrono::seconds(m.silence_timeout_s());
    meter.fallback_a = currents(m.fallback_a());
    spec.meter = meter;
  }
  return spec;
}

Result<EvseSpec> evse_spec(const v1::SiteEvse& e) {
  const std::string where = "EVSE " + e.charger_id() + "/" + std::to_string(e.evse_id()) + ": ";
  if (e.charger_id().empty()) return std::unexpected(bad("an EVSE has no charger_id"));
  if (e.evse_id() < 1) return std::unexpected(bad(where + "evse_id must be 1 or more"));
  EvseSpec spec;
  spec.id = e.charger_id() + "/" + std::to_string(e.evse_id());
  spec.charger = e.charger_id();
  if (e.rotation_size() != 0) {
    if (e.rotation_size() != kPhaseCount)
      return std::unexpected(bad(where + "rotation names the grid phase of L1, L2 and L3"));
    std::set<int> seen;
    for (int c = 0; c < kPhaseCount; ++c) {
      const int phase = e.rotation(c) - 1;
      if (phase < 0 || phase >= kPhaseCount || !seen.insert(phase).second)
        return std::unexpected(bad(where + "rotation must be a permutation of L1, L2, L3"));
      spec.rotation[c] = static_cast<Phase>(phase);
    }
  }
  spec.connector_phases = e.connector_phases() == 0 ? 3 : e.connector_phases();
  if (spec.connector_phases != 1 && spec.connector_phases != 3)
    return std::unexpected(bad(where + "connector_phases is 1 or 3"));
  if (e.min_current_a() != 0.0) spec.min_current_a = e.min_current_a();
  if (e.max_current_a() != 0.0) spec.max_current_a = e.max_current_a();
  if (!finite_non_negative(spec.min_current_a) || !(spec.max_current_a >= spec.min_current_a))
    return std::unexpected(bad(where + "needs 0 <= min_current_a <= max_current_a"));
  spec.can_switch_phases = e.can_switch_phases();
  spec.supports_smart_charging = !e.no_smart_charging();
  if (e.priority() < 0 || e.priority() > 9) return std::unexpected(bad(where + "priority is 0..9"));
  spec.priority = e.priority();
  spec.rate_unit =
      e.rate_unit() == v1::CHARGING_RATE_UNIT_WATTS ? RateUnit::kWatts : RateUnit::kAmperes;
  if (e.has_offline_current_a()) {
    if (!finite_non_negative(e.offline_current_a()))
      return std::unexpected(bad(where + "offline_current_a must be 0 or more"));
    spec.offline_current_a = e.offline_current_a();
  }
  return spec;
}

Result<LimitSlot> limit_slot(const v1::LimitSlot& s) {
  if (!s.has_from() || !s.has_until())
    return std::unexpected(bad("a limit slot needs from and until"));
  LimitSlot slot{time_of(s.from()), time_of(s.until())};
  if (s.has_current_a()) {
    slot.current_a = currents(s.current_a());
    for (double a : *slot.current_a) {
      if (!finite_non_negative(a))
        return std::unexpected(bad("a limit slot's current_a must be 0 or more"));
    }
  }
  if (s.has_power_kw()) {
    if (!finite_non_negative(s.power_kw()))
      return std::unexpected(bad("a limit slot's power_kw must be 0 or more"));
    slot.power_kw = s.power_kw();
  }
  return slot;
}

void set_slot(const LimitSlot& slot, v1::LimitSlot* out) {
  set_time(slot.from, out->mutable_from());
  set_time(slot.until, out->mutable_until());
  if (slot.current_a) set_currents(*slot.current_a, out->mutable_current_a());
  if (slot.power_kw) out->set_power_kw(*slot.power_kw);
}

v1::Phase phase_enum(std::optional<Phase> p) {
  if (!p) return v1::PHASE_UNSPECIFIED;
  return static_cast<v1::Phase>(static_cast<int>(*p) + 1);
}

// "EVSE maximum" -> "evse_maximum", the API's spelling.
std::string token(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

Result<SiteDefinition> site_definition(const v1::Site& site) {
  if (site.id().empty()) return std::unexpected(bad("site id is required"));
  SiteDefinition out;
  out.spec.id = site.id();
  if (site.nominal_voltage_v() != 0.0) out.spec.nominal_voltage_v = site.nominal_voltage_v();
  if (!(out.spec.nominal_voltage_v >= 100.0 && out.spec.nominal_voltage_v <= 1000.0))
    return std::unexpected(bad("nominal_voltage_v must be between 100 and 1000"));
  for (const auto& n : site.nodes()) {
    auto spec = node_spec(n);
    if (!spec) return std::unexpected(spec.error());
    out.spec.nodes.push_back(std::move(*spec));
  }
  for (const auto& e : site.evses()) {
    auto spec = evse_spec(e);
    if (!spec) return std::unexpected(spec.error());
    out.spec.evses.push_back(std::move(*spec));
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(site, &out.json, options).ok())
    return std::unexpected(bad("site cannot be written as JSON"));
  return out;
}

Result<SiteDefinition> site_definition_from_json(const std::string& json) {
  v1::Site site;
  auto status = google::protobuf::util::JsonStringToMessage(json, &site);
  if (!status.ok()) return std::unexpected(bad("site JSON: " + status.ToString()));
  return site_definition(site);
}

SmartChargingApi::Reactor* SmartChargingApi::PutSite(Context* c, const v1::PutSiteRequest* r,
                                                     v1::PutSiteResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto definition = site_definition(r->site());
    if (!definition) return to_grpc_status(definition.error());
    auto created = service_.put_site(std::move(*definition));
    if (!created) return to_grpc_status(created.error());
    out->set_created(*created);
    return grpc::Status::OK;
  });
}

SmartChargingApi::Reactor* SmartChargingApi::GetSite(Context* c, const v1::GetSiteRequest* r,
                                                     v1::GetSiteResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto site = service_.site(r->site_id());
    if (!site) return to_grpc_status(site.error());
    if (!google::protobuf::util::JsonStringToMessage(site->definition_json, out->mutable_site())
             .ok())
      return {grpc::StatusCode::INTERNAL, "stored site does not parse"};
    for (const auto& limits : site->limits) {
      auto* l = out->add_limits();
      l->set_node_id(limits.node_id);
      for (const auto& slot : limits.schedule) set_slot(slot, l->add_schedule());
      if (limits.override_slot) set_slot(*limits.override_slot, l->mutable_override_slot());
      for (const auto& slot : limits.forecast) set_slot(slot, l->add_forecast());
    }
    return grpc::Status::OK;
  });
}

SmartChargingApi::Reactor* SmartChargingApi::ListSites(Context* c, const v1::ListSitesRequest*,
                                                       v1::ListSitesResponse* out) {
  return run_blocking(c, pool_, [this, out]() -> grpc::Status {
    for (const auto& s : service_.sites()) {
      auto* site = out->add_sites();
      site->set_id(s.id);
      site->set_nodes(static_cast<int>(s.nodes));
      site->set_evses(static_cast<int>(s.evses));
      site->set_chargers_online(static_cast<int>(s.chargers_online));
      site->set_sessions(static_cast<int>(s.sessions));
    }
    return grpc::Status::OK;
  });
}

SmartChargingApi::Reactor* SmartChargingApi::DeleteSite(Context* c, const v1::DeleteSiteRequest* r,
                                                        v1::DeleteSiteResponse*) {
  return run_blocking(c, pool_, [this, r]() -> grpc::Status {
    auto done = service_.delete_site(r->site_id());
    return done ? grpc::Status::OK : to_grpc_status(done.error());
  });
}

SmartChargingApi::Reactor* SmartChargingApi::SetNodeLimits(Context* c,
                                                           const v1::SetNodeLimitsRequest* r,
                                                           v1::SetNodeLimitsResponse*) {
  return run_blocking(c, pool_, [this, r]() -> grpc::Status {
    if (!r->set_schedule() && !r->set_override())
      return invalid("nothing to change: set set_schedule and/or set_override");
    if (!r->set_schedule() && r->schedule_size() > 0)
      return invalid("schedule slots given without set_schedule");
    std::optional<std::vector<LimitSlot>> schedule;
    if (r->set_schedule()) {
      schedule.emplace();
      for (const auto& s : r->schedule()) {
        auto slot = limit_slot(s);
        if (!slot) return to_grpc_status(slot.error());
        schedule->push_back(*slot);
      }
    }
    std::optional<std::optional<LimitSlot>> override_slot;
    if (r->set_override()) {
      override_slot.emplace();
      if (r->has_override_slot()) {
        auto slot = limit_slot(r->override_slot());
        if (!slot) return to_grpc_status(slot.error());
        *override_slot = *slot;
      }
    }
    auto done = service_.set_limits(r->site_id(), r->node_id(), std::move(schedule), override_slot);
    return done ? grpc::Status::OK : to_grpc_status(done.error());
  });
}

namespace {

// Applies readings as they arrive; the first bad one ends the stream with its error and index.
class MeterReadings final : public grpc::ServerReadReactor<v1::MeterReading> {
 public:
  MeterReadings(SmartChargingService& service, v1::PushMeterReadingsResponse* response)
      : service_(service), response_(response) {
    StartRead(&reading_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    const Time at =
        reading_.has_taken_at() ? time_of(reading_.taken_at()) : std::chrono::system_clock::now();
    auto done = service_.meter_reading(reading_.site_id(), reading_.node_id(), at,
                                       currents(reading_.load_a()));
    if (!done) {
      Error error = done.error();
      error.message = "reading " + std::to_string(response_->accepted()) + ": " + error.message;
      Finish(to_grpc_status(error));
      return;
    }
    response_->set_accepted(response_->accepted() + 1);
    StartRead(&reading_);
  }
  void OnDone() override { delete this; }  // gRPC's reactor contract

 private:
  SmartChargingService& service_;
  v1::PushMeterReadingsResponse* response_;
  v1::MeterReading reading_;
};

}  // namespace

grpc::ServerReadReactor<v1::MeterReading>* SmartChargingApi::PushMeterReadings(
    Context*, v1::PushMeterReadingsResponse* response) {
  return new MeterReadings(service_, response);  // NOLINT: deleted in OnDone
}

SmartChargingApi::Reactor* SmartChargingApi::GetPlan(Context* c, const v1::GetPlanRequest* r,
                                                     v1::GetPlanResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto plan = service_.plan(r->site_id());
    if (!plan) return to_grpc_status(plan.error());
    out->set_plan_id(plan->plan_id);
    if (plan->plan_id != 0) set_time(plan->planned_at, out->mutable_planned_at());
    out->set_admitted(static_cast<int>(plan->admitted));
    out->set_waiting(static_cast<int>(plan->waiting));
    for (const auto& e : plan->evses) {
      auto* evse = out->add_evses();
      evse->set_charger_id(e.evse.charger_id);
      evse->set_evse_id(e.evse.evse_id);
      evse->set_current_a(e.planned.current_a);
      evse->set_phases(e.planned.phases);
      evse->set_reason(token(to_string(e.reason)));
      evse->set_online(e.status.online);
      evse->set_session(e.status.session);
      evse->set_charging(e.status.charging);
      if (e.status.applied) evse->set_applied_current_a(e.status.applied->current_a);
      evse->set_pending_profiles(static_cast<int>(e.status.pending));
      if (e.status.offline_current_a) evse->set_offline_current_a(*e.status.offline_current_a);
    }
    for (const auto& n : plan->nodes) {
      auto* node = out->add_nodes();
      node->set_node_id(n.node_id);
      set_currents(n.load.limit.current_a, node->mutable_limit_a());
      set_currents(n.load.planned_a, node->mutable_planned_a());
      set_currents(n.load.exposure_a, node->mutable_exposure_a());
    }
    return grpc::Status::OK;
  });
}

SmartChargingApi::Reactor* SmartChargingApi::Explain(Context* c, const v1::ExplainRequest* r,
                                                     v1::ExplainResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->charger_id().empty() || r->evse_id() < 1)
      return invalid("charger_id and evse_id (1 or more) are required");
    auto why = service_.explain(r->site_id(), {r->charger_id(), r->evse_id()});
    if (!why) return to_grpc_status(why.error());
    const Explanation& e = why->explanation;
    out->set_reason(token(to_string(e.reason)));
    out->set_current_a(e.planned.current_a);
    out->set_phases(e.planned.phases);
    out->set_node_id(why->node_id);
    out->set_phase(phase_enum(e.phase));
    out->set_other_phase(phase_enum(e.other_phase));
    out->set_limit_source(token(to_string(e.source)));
    out->set_limit(e.limit);
    out->set_other_load_a(e.other_load_a);
    out->set_minimum_a(e.minimum_a);
    out->set_text(e.text);
    return grpc::Status::OK;
  });
}

namespace {

grpc::Status session_plan_out(const Result<SessionPlanView>& view, v1::SessionPlan* out) {
  if (!view) return to_grpc_status(view.error());
  out->set_site_id(view->site_id);
  out->set_charger_id(view->evse.charger_id);
  out->set_evse_id(view->evse.evse_id);
  out->set_current_a(view->planned.current_a);
  out->set_phases(view->planned.phases);
  out->set_reason(token(to_string(view->reason)));
  out->set_voltage_v(view->voltage_v);
  if (view->limit) {
    const SessionLimit& l = *view->limit;
    v1::SessionLimitSchedule* s = out->mutable_limit();
    s->set_unit(l.unit == RateUnit::kWatts ? v1::CHARGING_RATE_UNIT_WATTS
                                           : v1::CHARGING_RATE_UNIT_AMPERES);
    set_time(l.start, s->mutable_start());
    if (l.end) {
      s->set_duration_s(static_cast<int>(
          std::chrono::duration_cast<std::chrono::seconds>(*l.end - l.start).count()));
    }
    for (const SessionLimit::Period& p : l.periods) {
      auto* period = s->add_periods();
      period->set_start_offset_s(
          static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(p.offset).count()));
      period->set_limit(p.limit);
    }
    s->set_source(l.source);
    s->set_min_rate(l.min_rate);
  }
  return grpc::Status::OK;
}

grpc::Status require_session(const std::string& charger_id, const std::string& transaction_id) {
  if (charger_id.empty() || transaction_id.empty()) {
    return {grpc::StatusCode::INVALID_ARGUMENT, "charger_id and transaction_id are required"};
  }
  return grpc::Status::OK;
}

}  // namespace

SmartChargingApi::Reactor* SmartChargingApi::SetSessionLimit(Context* c,
                                                             const v1::SetSessionLimitRequest* r,
                                                             v1::SetSessionLimitResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (auto s = require_session(r->charger_id(), r->transaction_id()); !s.ok()) return s;
    if (!r->has_limit() || r->limit().periods().empty()) {
      return invalid(
          "limit with at least one period is required (ClearSessionLimit takes one off)");
    }
    const v1::SessionLimitSchedule& in = r->limit();
    if (in.duration_s() < 0) return invalid("limit.duration_s must be 0 or more");
    SessionLimit limit;
    limit.unit = in.unit() == v1::CHARGING_RATE_UNIT_WATTS ? RateUnit::kWatts : RateUnit::kAmperes;
    limit.start = in.has_start() ? Time(std::chrono::seconds(in.start().seconds()) +
                                        std::chrono::nanoseconds(in.start().nanos()))
                                 : service_.now();
    if (in.duration_s() > 0) limit.end = limit.start + std::chrono::seconds(in.duration_s());
    for (const auto& p : in.periods()) {
      if (p.start_offset_s() < 0) return invalid("limit.periods: start_offset_s must be 0 or more");
      limit.periods.push_back({std::chrono::seconds(p.start_offset_s()), p.limit()});
    }
    limit.source = in.source();
    limit.min_rate = in.min_rate();
    return session_plan_out(
        service_.set_session_limit(r->charger_id(), r->transaction_id(), std::move(limit)),
        out->mutable_plan());
  });
}

SmartChargingApi::Reactor* SmartChargingApi::ClearSessionLimit(
    Context* c, const v1::ClearSessionLimitRequest* r, v1::ClearSessionLimitResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (auto s = require_session(r->charger_id(), r->transaction_id()); !s.ok()) return s;
    return session_plan_out(
        service_.set_session_limit(r->charger_id(), r->transaction_id(), std::nullopt),
        out->mutable_plan());
  });
}

SmartChargingApi::Reactor* SmartChargingApi::GetSessionPlan(Context* c,
                                                            const v1::GetSessionPlanRequest* r,
                                                            v1::GetSessionPlanResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (auto s = require_session(r->charger_id(), r->transaction_id()); !s.ok()) return s;
    return session_plan_out(service_.session_plan(r->charger_id(), r->transaction_id()),
                            out->mutable_plan());
  });
}

}  // namespace switchyard::smart_charging
