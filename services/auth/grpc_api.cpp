// Authorization gRPC: proto <-> domain types.
#include "auth/grpc_api.h"

#include "common/runtime/grpc/status.h"

namespace switchyard::auth {
namespace {

grpc::Status status_of(const Error& e) { return to_grpc_status(e); }
grpc::Status invalid(const std::string& what) { return {grpc::StatusCode::INVALID_ARGUMENT, what}; }

void set_time(google::protobuf::Timestamp* ts, TimePoint t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}
std::optional<TimePoint> time_of(const google::protobuf::Timestamp& ts, bool present) {
  if (!present) return std::nullopt;
  return TimePoint(std::chrono::seconds(ts.seconds()) + std::chrono::nanoseconds(ts.nanos()));
}

std::string status_name(v1::TokenStatus s) {
  switch (s) {
    case v1::TOKEN_STATUS_BLOCKED:
      return "Blocked";
    case v1::TOKEN_STATUS_EXPIRED:
      return "Expired";
    case v1::TOKEN_STATUS_INVALID:
      return "Invalid";
    default:
      return "Accepted";
  }
}
v1::TokenStatus status_enum(const std::string& s) {
  if (s == "Blocked") return v1::TOKEN_STATUS_BLOCKED;
  if (s == "Expired") return v1::TOKEN_STATUS_EXPIRED;
  if (s == "Invalid") return v1::TOKEN_STATUS_INVALID;
  return v1::TOKEN_STATUS_ACCEPTED;
}

void to_proto(const TokenRecord& t, v1::Token* out) {
  out->set_id_token(t.id_token);
  out->set_type(t.type);
  out->set_status(status_enum(t.status));
  if (t.expires_at) set_time(out->mutable_expires_at(), *t.expires_at);
  out->set_group_id(t.group_id);
  out->set_refuse_concurrent(t.refuse_concurrent);
  set_time(out->mutable_updated_at(), t.updated_at);
}

TokenRecord from_proto(const v1::Token& t) {
  TokenRecord r;
  r.id_token = t.id_token();
  r.type = t.type();
  r.status = status_name(t.status());
  r.expires_at = time_of(t.expires_at(), t.has_expires_at());
  r.group_id = t.group_id();
  r.refuse_concurrent = t.refuse_concurrent();
  return r;
}

std::string policy_name(v1::BootPolicy p) {
  switch (p) {
    case v1::BOOT_POLICY_ACCEPT:
      return "Accept";
    case v1::BOOT_POLICY_PENDING:
      return "Pending";
    case v1::BOOT_POLICY_REJECT:
      return "Reject";
    default:
      return "";
  }
}
v1::BootPolicy policy_enum(const std::string& p) {
  if (p == "Accept") return v1::BOOT_POLICY_ACCEPT;
  if (p == "Pending") return v1::BOOT_POLICY_PENDING;
  if (p == "Reject") return v1::BOOT_POLICY_REJECT;
  return v1::BOOT_POLICY_UNSPECIFIED;
}

void to_proto(const ChargerRecord& c, v1::ChargerRegistration* out) {
  out->set_charger_id(c.charger_id);
  out->set_security_profile(c.security_profile);
  out->set_has_password(!c.password_hash.empty());  // the hash itself never leaves the service
  out->set_boot_policy(policy_enum(c.boot_policy));
  out->set_heartbeat_interval_s(c.heartbeat_interval_s);
  set_time(out->mutable_registered_at(), c.registered_at);
  out->set_auto_registered(c.auto_registered);
}

LocalListEntry from_proto(const v1::LocalListEntry& e) {
  return {e.id_token(), e.type(), status_name(e.status()),
          time_of(e.expires_at(), e.has_expires_at())};
}
void to_proto(const LocalListEntry& e, v1::LocalListEntry* out) {
  out->set_id_token(e.id_token);
  out->set_type(e.type);
  out->set_status(status_enum(e.status));
  if (e.expires_at) set_time(out->mutable_expires_at(), *e.expires_at);
}

}  // namespace

grpc::ServerUnaryReactor* AuthorizationApi::Authorize(Context* c, const v1::AuthorizeRequest* r,
                                                      v1::AuthorizeResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->id_token().id().empty()) return invalid("id_token.id is required");
    auto d = service_.authorize(r->id_token().id(), r->charger_id());
    if (!d) return status_of(d.error());
    out->mutable_decision()->set_status(d->status);
    out->mutable_decision()->set_group_id(d->group_id);
    if (d->expires_at) set_time(out->mutable_decision()->mutable_expires_at(), *d->expires_at);
    out->set_refuse_concurrent(d->refuse_concurrent);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::Boot(Context* c, const v1::BootRequest* r,
                                                 v1::BootResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto d = service_.boot(r->charger_id());
    if (!d) return status_of(d.error());
    out->set_status(d->status);
    out->set_interval_s(d->interval_s);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::SignCertificate(Context* c,
                                                            const v1::SignCertificateRequest* r,
                                                            v1::SignCertificateResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->charger_id().empty()) return invalid("charger_id is required");
    if (r->csr().empty()) return invalid("csr is required (PEM)");
    std::optional<CertificateHash> root;
    if (r->has_root_certificate()) {
      const v1::CertificateHashData& h = r->root_certificate();
      root = CertificateHash{h.hash_algorithm(), h.issuer_name_hash(), h.issuer_key_hash(),
                             h.serial_number()};
    }
    auto signed_certificate =
        service_.sign_certificate(r->charger_id(), r->csr(), r->certificate_type(), root);
    if (!signed_certificate) return status_of(signed_certificate.error());
    out->set_certificate_chain(signed_certificate->chain_pem);
    out->set_serial(signed_certificate->serial);
    set_time(out->mutable_not_after(), signed_certificate->not_after);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::AdmitCharger(Context* c,
                                                         const v1::AdmitChargerRequest* r,
                                                         v1::AdmitChargerResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto a = service_.admit(r->charger_id(), r->offered_profile(), r->password());
    if (!a) return status_of(a.error());
    static constexpr v1::AdmitChargerResponse::Verdict kVerdicts[] = {
        v1::AdmitChargerResponse::VERDICT_ACCEPTED,
        v1::AdmitChargerResponse::VERDICT_WRONG_PASSWORD,
        v1::AdmitChargerResponse::VERDICT_UNKNOWN_CHARGER,
        v1::AdmitChargerResponse::VERDICT_WRONG_SECURITY_PROFILE};
    out->set_verdict(kVerdicts[static_cast<int>(a->verdict)]);
    out->set_required_profile(a->required_profile);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::PutToken(Context* c, const v1::PutTokenRequest* r,
                                                     v1::PutTokenResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto t = service_.put_token(from_proto(r->token()));
    if (!t) return status_of(t.error());
    to_proto(*t, out->mutable_token());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::GetToken(Context* c, const v1::GetTokenRequest* r,
                                                     v1::GetTokenResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto t = service_.store().token(r->id_token());
    if (!t) return status_of(t.error());
    if (!*t) return {grpc::StatusCode::NOT_FOUND, "no token " + r->id_token()};
    to_proto(**t, out->mutable_token());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::ListTokens(Context* c, const v1::ListTokensRequest* r,
                                                       v1::ListTokensResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto tokens = service_.store().tokens(r->group_id(), Page{r->page_size(), r->page_token()});
    if (!tokens) return status_of(tokens.error());
    for (const auto& t : *tokens) to_proto(t, out->add_tokens());
    const int size = r->page_size() <= 0 ? 100 : std::min(r->page_size(), 1000);
    if (static_cast<int>(tokens->size()) == size) out->set_next_page_token(tokens->back().id_token);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::BlockToken(Context* c, const v1::BlockTokenRequest* r,
                                                       v1::BlockTokenResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto t = service_.block_token(r->id_token());
    if (!t) return status_of(t.error());
    to_proto(*t, out->mutable_token());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::DeleteToken(Context* c, const v1::DeleteTokenRequest* r,
                                                        v1::DeleteTokenResponse*) {
  return run_blocking(c, pool_, [this, r]() -> grpc::Status {
    auto deleted = service_.store().delete_token(r->id_token());
    if (!deleted) return status_of(deleted.error());
    if (!*deleted) return {grpc::StatusCode::NOT_FOUND, "no token " + r->id_token()};
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::ImportTokens(Context* c,
                                                         const v1::ImportTokensRequest* r,
                                                         v1::ImportTokensResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    const ImportResult result = service_.import_tokens(r->csv());
    out->set_imported(result.imported);
    for (const auto& e : result.errors) out->add_errors(e);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::PutGroup(Context* c, const v1::PutGroupRequest* r,
                                                     v1::PutGroupResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    if (r->group().group_id().empty()) return invalid("group.group_id is required");
    GroupRecord g{r->group().group_id(), r->group().name(), r->group().refuse_concurrent()};
    if (auto s = service_.store().put_group(g); !s) return status_of(s.error());
    *out->mutable_group() = r->group();
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::ListGroups(Context* c, const v1::ListGroupsRequest*,
                                                       v1::ListGroupsResponse* out) {
  return run_blocking(c, pool_, [this, out]() -> grpc::Status {
    auto groups = service_.store().groups();
    if (!groups) return status_of(groups.error());
    for (const auto& g : *groups) {
      auto* p = out->add_groups();
      p->set_group_id(g.group_id);
      p->set_name(g.name);
      p->set_refuse_concurrent(g.refuse_concurrent);
    }
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::PutCharger(Context* c, const v1::PutChargerRequest* r,
                                                       v1::PutChargerResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    ChargerRecord record;
    record.charger_id = r->charger().charger_id();
    record.security_profile = r->charger().security_profile();
    record.boot_policy = policy_name(r->charger().boot_policy());
    record.heartbeat_interval_s = r->charger().heartbeat_interval_s();
    auto saved = service_.put_charger(std::move(record), r->charger().password());
    if (!saved) return status_of(saved.error());
    to_proto(*saved, out->mutable_charger());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::GetCharger(Context* c,
                                                       const v1::GetChargerRegistrationRequest* r,
                                                       v1::GetChargerRegistrationResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto charger = service_.store().charger(r->charger_id());
    if (!charger) return status_of(charger.error());
    if (!*charger) return {grpc::StatusCode::NOT_FOUND, "no charger " + r->charger_id()};
    to_proto(**charger, out->mutable_charger());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::ListChargers(
    Context* c, const v1::ListChargerRegistrationsRequest* r,
    v1::ListChargerRegistrationsResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto chargers = service_.store().chargers(Page{r->page_size(), r->page_token()});
    if (!chargers) return status_of(chargers.error());
    for (const auto& ch : *chargers) to_proto(ch, out->add_chargers());
    const int size = r->page_size() <= 0 ? 100 : std::min(r->page_size(), 1000);
    if (static_cast<int>(chargers->size()) == size)
      out->set_next_page_token(chargers->back().charger_id);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::DeleteCharger(Context* c,
                                                          const v1::DeleteChargerRequest* r,
                                                          v1::DeleteChargerResponse*) {
  return run_blocking(c, pool_, [this, r]() -> grpc::Status {
    auto deleted = service_.store().delete_charger(r->charger_id());
    if (!deleted) return status_of(deleted.error());
    if (!*deleted) return {grpc::StatusCode::NOT_FOUND, "no charger " + r->charger_id()};
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::PutLocalList(Context* c,
                                                         const v1::PutLocalListRequest* r,
                                                         v1::PutLocalListResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    std::vector<LocalListEntry> entries;
    for (const auto& e : r->entries()) entries.push_back(from_proto(e));
    auto version = service_.put_local_list(r->charger_id(), entries);
    if (!version) return status_of(version.error());
    out->set_version(*version);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::GetLocalList(Context* c,
                                                         const v1::GetLocalListRequest* r,
                                                         v1::GetLocalListResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto list = service_.store().local_list(r->charger_id());
    if (!list) return status_of(list.error());
    out->set_version(list->version);
    out->set_charger_version(list->charger_version);
    for (const auto& e : list->entries) to_proto(e, out->add_entries());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AuthorizationApi::SyncLocalList(Context* c,
                                                          const v1::SyncLocalListRequest* r,
                                                          v1::SyncLocalListResponse* out) {
  return run_blocking(c, pool_, [this, r, out]() -> grpc::Status {
    auto* charger_control = charger_control_.load();
    if (charger_control == nullptr) {
      return {grpc::StatusCode::FAILED_PRECONDITION, "no gateway configured (--gateway-address)"};
    }
    auto send = [charger_control](const LocalListUpdate& u) -> Result<std::string> {
      v1::SendLocalListRequest request;
      request.set_charger_id(u.charger_id);
      request.set_version(u.version);
      request.set_full(u.full);
      for (const auto& e : u.entries) {
        auto* entry = request.add_entries();
        entry->mutable_id_token()->set_id(e.id_token);
        entry->mutable_id_token()->set_type(e.type);
        entry->mutable_info()->set_status(e.status);
        if (e.expires_at) set_time(entry->mutable_info()->mutable_expires_at(), *e.expires_at);
      }
      for (const auto& id : u.removed) request.add_entries()->mutable_id_token()->set_id(id);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(40));
      v1::SendLocalListResponse response;
      const grpc::Status s = charger_control->SendLocalList(&context, request, &response);
      if (!s.ok()) return make_error(from_grpc_code(s.error_code()), s.error_message());
      return response.outcome().status();
    };
    auto result = service_.sync_local_list(r->charger_id(), r->full(), send);
    if (!result) return status_of(result.error());
    out->set_status(result->status);
    out->set_version(result->version);
    out->set_sent_full(result->sent_full);
    out->set_entries_sent(result->entries_sent);
    return grpc::Status::OK;
  });
}

}  // namespace switchyard::auth
