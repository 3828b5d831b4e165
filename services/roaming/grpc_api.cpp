// The Roaming gRPC service (see grpc_api.h).
#include "roaming/grpc_api.h"

#include "common/runtime/core/log.h"
#include "common/runtime/grpc/status.h"

#include <algorithm>
#include "common/runtime/http/client.h"
#include "roaming/ocpi_envelope.h"

namespace switchyard::roaming {

namespace {

grpc::Status invalid(const std::string& what) { return {grpc::StatusCode::INVALID_ARGUMENT, what}; }

void set_time(Time t, google::protobuf::Timestamp* out) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  out->set_seconds(ns / 1'000'000'000);
  out->set_nanos(static_cast<int>(ns % 1'000'000'000));
}

v1::PartnerState state_enum(PartnerState s) {
  switch (s) {
    case PartnerState::kInvited:
      return v1::PARTNER_STATE_INVITED;
    case PartnerState::kRegistered:
      return v1::PARTNER_STATE_REGISTERED;
    case PartnerState::kUnregistered:
      return v1::PARTNER_STATE_UNREGISTERED;
  }
  return v1::PARTNER_STATE_UNSPECIFIED;
}

// Ids are "ptr-" + 12 hex digits; any other printable text is an unknown id (NOT_FOUND from the
// store), so only what cannot be an id at all is refused here.
grpc::Status check_partner_id(const std::string& id) {
  if (id.empty()) return invalid("partner_id: required");
  if (id.size() > 64) return invalid("partner_id: longer than 64 characters");
  for (char c : id) {
    if (c < 0x21 || c > 0x7E) return invalid("partner_id: not printable ASCII");
  }
  return grpc::Status::OK;
}

grpc::Status check_name(const std::string& name, bool required) {
  if (required && name.empty()) return invalid("name: required");
  if (name.size() > 100) return invalid("name: longer than 100 characters");
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20) return invalid("name: control characters");
  }
  return grpc::Status::OK;
}

}  // namespace

void to_proto(const Partner& p, v1::Partner* out, const PushStats* outbox) {
  if (outbox != nullptr) {
    auto* o = out->mutable_outbox();
    o->set_pending(outbox->pending);
    if (outbox->pending > 0) {
      o->mutable_oldest_change()->set_seconds(outbox->oldest_ms / 1000);
      o->mutable_oldest_change()->set_nanos(static_cast<int>(outbox->oldest_ms % 1000) * 1'000'000);
    }
    o->set_last_error(outbox->last_error);
  }
  out->set_id(p.id);
  out->set_name(p.name);
  out->set_state(state_enum(p.state));
  for (const auto& r : p.roles) {
    auto* role = out->add_roles();
    role->set_role(r.role);
    role->set_country_code(r.country_code);
    role->set_party_id(r.party_id);
    role->set_business_name(r.business_name);
  }
  out->set_version(p.version);
  out->set_versions_url(p.versions_url);
  for (const auto& e : p.endpoints) {
    auto* endpoint = out->add_endpoints();
    endpoint->set_identifier(e.identifier);
    endpoint->set_role(e.role);
    endpoint->set_url(e.url);
  }
  set_time(p.created_at, out->mutable_created_at());
  set_time(p.updated_at, out->mutable_updated_at());
  out->set_last_error(p.last_error);
  out->set_initiated_by_us(p.initiated_by_us);
}

RoamingApi::Reactor* RoamingApi::CreateInvite(Context* c, const v1::CreateInviteRequest* r,
                                              v1::CreateInviteResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (auto s = check_name(r->name(), true); !s.ok()) return s;
    auto invite = registration_.create_invite(r->name());
    if (!invite) return to_grpc_status(invite.error());
    to_proto(invite->partner, out->mutable_partner());
    out->set_token_a(invite->token_a);
    out->set_versions_url(invite->versions_url);
    return grpc::Status::OK;
  });
}

RoamingApi::Reactor* RoamingApi::ConnectPartner(Context* c, const v1::ConnectPartnerRequest* r,
                                                v1::ConnectPartnerResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->versions_url().empty()) return invalid("versions_url: required");
    if (r->versions_url().size() > 255 || !http::parse_url(r->versions_url())) {
      return invalid("versions_url: '" + r->versions_url() + "' is not an http(s) URL");
    }
    if (r->token_a().empty()) return invalid("token_a: required");
    if (!valid_token(r->token_a())) {
      return invalid("token_a: must be 1 to 64 printable ASCII characters without spaces");
    }
    if (auto s = check_name(r->name(), false); !s.ok()) return s;
    auto partner = registration_.connect(r->versions_url(), r->token_a(), r->name());
    if (!partner) return to_grpc_status(partner.error());
    to_proto(*partner, out->mutable_partner());
    return grpc::Status::OK;
  });
}

RoamingApi::Reactor* RoamingApi::ListPartners(Context* c, const v1::ListPartnersRequest*,
                                              v1::ListPartnersResponse* out) {
  return run_blocking(c, pool_, [this, out]() -> grpc::Status {
    auto partners = registration_.list();
    if (!partners) return to_grpc_status(partners.error());
    auto outboxes = outbox_.stats();
    if (!outboxes) return to_grpc_status(outboxes.error());
    if (built_ins_) {
      for (auto& p : built_ins_()) partners->push_back(std::move(p));  // listed last
    }
    for (const auto& p : *partners) {
      const PushStats total = partner_total(*outboxes, p.id);
      to_proto(p, out->add_partners(), &total);
    }
    return grpc::Status::OK;
  });
}

grpc::Status RoamingApi::with_outbox(const Partner& partner, v1::Partner* out) {
  auto outboxes = outbox_.stats();
  if (!outboxes) return to_grpc_status(outboxes.error());
  const PushStats total = partner_total(*outboxes, partner.id);
  to_proto(partner, out, &total);
  return grpc::Status::OK;
}

Result<Partner> RoamingApi::find_partner(const std::string& id) {
  if (built_ins_) {
    for (auto& p : built_ins_()) {
      if (p.id == id) return p;
    }
  }
  return registration_.get(id);
}

RoamingApi::Reactor* RoamingApi::ResendToPartner(Context* c, const v1::ResendToPartnerRequest* r,
                                                 v1::ResendToPartnerResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (auto s = check_partner_id(r->partner_id()); !s.ok()) return s;
    auto partner = find_partner(r->partner_id());
    if (!partner) return to_grpc_status(partner.error());
    if (partner->state != PartnerState::kRegistered) {
      return {grpc::StatusCode::FAILED_PRECONDITION,
              "partner " + partner->id + " is not registered: nothing is sent to it"};
    }
    if (!resend_) return {grpc::StatusCode::UNIMPLEMENTED, "resend is not wired here"};
    auto queued = resend_(partner->id);
    if (!queued) return to_grpc_status(queued.error());
    out->set_queued(*queued);
    log::info("partner resend", {{"partner_id", partner->id}, {"queued", *queued}});
    return with_outbox(*partner, out->mutable_partner());
  });
}

RoamingApi::Reactor* RoamingApi::GetPartner(Context* c, const v1::GetPartnerRequest* r,
                                            v1::GetPartnerResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (auto s = check_partner_id(r->partner_id()); !s.ok()) return s;
    auto partner = find_partner(r->partner_id());
    if (!partner) return to_grpc_status(partner.error());
    return with_outbox(*partner, out->mutable_partner());
  });
}

RoamingApi::Reactor* RoamingApi::UpdatePartner(Context* c, const v1::UpdatePartnerRequest* r,
                                               v1::UpdatePartnerResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (auto s = check_partner_id(r->partner_id()); !s.ok()) return s;
    auto partner = registration_.update(r->partner_id());
    if (!partner) return to_grpc_status(partner.error());
    to_proto(*partner, out->mutable_partner());
    return grpc::Status::OK;
  });
}

RoamingApi::Reactor* RoamingApi::UnregisterPartner(Context* c,
                                                   const v1::UnregisterPartnerRequest* r,
                                                   v1::UnregisterPartnerResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (auto s = check_partner_id(r->partner_id()); !s.ok()) return s;
    auto partner = registration_.unregister(r->partner_id());
    if (!partner) return to_grpc_status(partner.error());
    to_proto(*partner, out->mutable_partner());
    return grpc::Status::OK;
  });
}

RoamingApi::Reactor* RoamingApi::PutLocation(Context* c, const v1::PutLocationRequest* r,
                                             v1::PutLocationResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (!r->has_location()) return invalid("location: required");
    if (auto checked = check_location(r->location(), party_); !checked) {
      return invalid("location." + checked.error().message);
    }
    auto receivers = pusher_.receivers("locations");
    if (!receivers) return to_grpc_status(receivers.error());
    auto stored = locations_.put(r->location(), *receivers);
    if (!stored) return to_grpc_status(stored.error());
    if (!receivers->empty()) pusher_.wake();
    log::info("location put", {{"location_id", stored->id()},
                               {"evses", stored->evses_size()},
                               {"publish", stored->publish()}});
    *out->mutable_location() = std::move(*stored);
    return grpc::Status::OK;
  });
}

RoamingApi::Reactor* RoamingApi::GetLocation(Context* c, const v1::GetLocationRequest* r,
                                             v1::GetLocationResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->location_id().empty()) return invalid("location_id: required");
    auto found = locations_.get(r->location_id());
    if (!found) return to_grpc_status(found.error());
    if (!*found)
      return {grpc::StatusCode::NOT_FOUND, "location " + r->location_id() + " not found"};
    *out->mutable_location() = std::move(**found);
    return grpc::Status::OK;
  });
}

RoamingApi::Reactor* RoamingApi::ListLocations(Context* c, const v1::ListLocationsRequest* r,
                                               v1::ListLocationsResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->page_size() < 0) return invalid("page_size: negative");
    const int size = r->page_size() == 0 ? 100 : std::min(r->page_size(), 1000);
    auto found = locations_.list(r->page_token(), size);
    if (!found) return to_grpc_status(found.error());
    if (static_cast<int>(found->size()) == size) out->set_next_page_token(found->back().id());
    for (auto& l : *found) *out->add_locations() = std::move(l);
    return grpc::Status::OK;
  });
}

RoamingApi::Reactor* RoamingApi::AuthorizeToken(Context* c, const v1::AuthorizeTokenRequest* r,
                                                v1::AuthorizeTokenResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->id_token().empty()) return invalid("id_token: required");
    if (r->id_token().size() > 36) return invalid("id_token: longer than 36 characters");
    auto d = tokens_(r->id_token(), r->charger_id());
    if (!d) return to_grpc_status(d.error());
    out->set_known(d->known);
    out->set_status(d->status);
    out->set_partner_id(d->partner_id);
    out->set_contract_id(d->contract_id);
    out->set_group_id(d->group_id);
    out->set_authorization_reference(d->authorization_reference);
    out->set_real_time(d->real_time);
    log::info("roaming authorization", {{"charger_id", r->charger_id()},
                                        {"token", log::redact(r->id_token())},
                                        {"status", d->status},
                                        {"partner_id", d->partner_id},
                                        {"real_time", d->real_time}});
    return grpc::Status::OK;
  });
}

}  // namespace switchyard::roaming
