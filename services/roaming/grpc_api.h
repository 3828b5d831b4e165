// The Roaming gRPC service: partners (invite, connect, list, get, update, unregister) in
// protobuf terms, translated to and from the registration's domain types here and nowhere else;
// locations (put, get, list), checked here and stored by the location store.
#pragma once

#include <functional>
#include <vector>

#include "common/runtime/grpc/work_pool.h"
#include "roaming/credentials.h"
#include "roaming/location_store.h"
#include "roaming/locations.h"
#include "roaming/push_outbox.h"
#include "roaming/pusher.h"
#include "roaming/tokens.h"
#include "switchyard/v1/roaming.grpc.pb.h"

namespace switchyard::roaming {

// A partner as the API shows it (never a token), with its push outbox when known.
void to_proto(const Partner& partner, v1::Partner* out, const PushStats* outbox = nullptr);

class RoamingApi final : public v1::Roaming::CallbackService {
 public:
  // `authorize`: Roaming.AuthorizeToken's decision (the eMSPs' tokens, Hubject's sessions).
  using Authorize = std::function<Result<RoamingTokenDecision>(const std::string& id_token,
                                                               const std::string& charger_id)>;
  RoamingApi(Registration& registration, LocationStore& locations, PushOutbox& outbox,
             Pusher& pusher, Authorize authorize, Party party, WorkPool& pool)
      : registration_(registration),
        locations_(locations),
        outbox_(outbox),
        pusher_(pusher),
        tokens_(std::move(authorize)),
        party_(std::move(party)),
        pool_(pool) {}

  // Roaming.ResendToPartner (the service's, roaming.cpp): how many objects were queued.
  using Resend = std::function<Result<std::int64_t>(const std::string& partner_id)>;
  // Built-in partners the API shows beside the registered ones (Hubject with OICP on).
  using BuiltIns = std::function<std::vector<Partner>()>;
  // Before the service is served.
  void set_operations(Resend resend, BuiltIns built_ins) {
    resend_ = std::move(resend);
    built_ins_ = std::move(built_ins);
  }

  using Context = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;
  Reactor* CreateInvite(Context*, const v1::CreateInviteRequest*,
                        v1::CreateInviteResponse*) override;
  Reactor* ConnectPartner(Context*, const v1::ConnectPartnerRequest*,
                          v1::ConnectPartnerResponse*) override;
  Reactor* ListPartners(Context*, const v1::ListPartnersRequest*,
                        v1::ListPartnersResponse*) override;
  Reactor* GetPartner(Context*, const v1::GetPartnerRequest*, v1::GetPartnerResponse*) override;
  Reactor* UpdatePartner(Context*, const v1::UpdatePartnerRequest*,
                         v1::UpdatePartnerResponse*) override;
  Reactor* UnregisterPartner(Context*, const v1::UnregisterPartnerRequest*,
                             v1::UnregisterPartnerResponse*) override;
  Reactor* ResendToPartner(Context*, const v1::ResendToPartnerRequest*,
                           v1::ResendToPartnerResponse*) override;
  Reactor* PutLocation(Context*, const v1::PutLocationRequest*, v1::PutLocationResponse*) override;
  Reactor* GetLocation(Context*, const v1::GetLocationRequest*, v1::GetLocationResponse*) override;
  Reactor* ListLocations(Context*, const v1::ListLocationsRequest*,
                         v1::ListLocationsResponse*) override;
  Reactor* AuthorizeToken(Context*, const v1::AuthorizeTokenRequest*,
                          v1::AuthorizeTokenResponse*) override;

 private:
  Registration& registration_;
  LocationStore& locations_;
  PushOutbox& outbox_;
  Pusher& pusher_;
  Authorize tokens_;
  Party party_;
  WorkPool& pool_;
  Resend resend_;
  BuiltIns built_ins_;

  // A registered partner or a built-in one; NOT_FOUND otherwise.
  Result<Partner> find_partner(const std::string& id);
  // `partner` into `out`, with its push outbox.
  grpc::Status with_outbox(const Partner& partner, v1::Partner* out);
};

}  // namespace switchyard::roaming
