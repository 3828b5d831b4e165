// The Authorization gRPC service: translates to and from the AuthService's domain types; the
// database work runs on a WorkPool.
#pragma once

#include <atomic>

#include "auth/auth.h"
#include "common/runtime/grpc/work_pool.h"
#include "switchyard/v1/authorization.grpc.pb.h"
#include "switchyard/v1/charger_control.grpc.pb.h"

namespace switchyard::auth {

class AuthorizationApi final : public v1::Authorization::CallbackService {
 public:
  // `charger_control`: where SyncLocalList sends SendLocalList (any gateway pod); may be null.
  AuthorizationApi(AuthService& service, WorkPool& pool,
                   v1::ChargerControl::StubInterface* charger_control)
      : service_(service), pool_(pool), charger_control_(charger_control) {}
  // Where SyncLocalList sends to, when it is known only after construction (standalone).
  void set_charger_control(v1::ChargerControl::StubInterface* stub) {
    charger_control_.store(stub);
  }

  using Context = grpc::CallbackServerContext;
  using Reactor = grpc::ServerUnaryReactor;
  Reactor* Authorize(Context*, const v1::AuthorizeRequest*, v1::AuthorizeResponse*) override;
  Reactor* Boot(Context*, const v1::BootRequest*, v1::BootResponse*) override;
  Reactor* AdmitCharger(Context*, const v1::AdmitChargerRequest*,
                        v1::AdmitChargerResponse*) override;
  Reactor* SignCertificate(Context*, const v1::SignCertificateRequest*,
                           v1::SignCertificateResponse*) override;
  Reactor* PutToken(Context*, const v1::PutTokenRequest*, v1::PutTokenResponse*) override;
  Reactor* GetToken(Context*, const v1::GetTokenRequest*, v1::GetTokenResponse*) override;
  Reactor* ListTokens(Context*, const v1::ListTokensRequest*, v1::ListTokensResponse*) override;
  Reactor* BlockToken(Context*, const v1::BlockTokenRequest*, v1::BlockTokenResponse*) override;
  Reactor* DeleteToken(Context*, const v1::DeleteTokenRequest*, v1::DeleteTokenResponse*) override;
  Reactor* ImportTokens(Context*, const v1::ImportTokensRequest*,
                        v1::ImportTokensResponse*) override;
  Reactor* PutGroup(Context*, const v1::PutGroupRequest*, v1::PutGroupResponse*) override;
  Reactor* ListGroups(Context*, const v1::ListGroupsRequest*, v1::ListGroupsResponse*) override;
  Reactor* PutCharger(Context*, const v1::PutChargerRequest*, v1::PutChargerResponse*) override;
  Reactor* GetCharger(Context*, const v1::GetChargerRegistrationRequest*,
                      v1::GetChargerRegistrationResponse*) override;
  Reactor* ListChargers(Context*, const v1::ListChargerRegistrationsRequest*,
                        v1::ListChargerRegistrationsResponse*) override;
  Reactor* DeleteCharger(Context*, const v1::DeleteChargerRequest*,
                         v1::DeleteChargerResponse*) override;
  Reactor* PutLocalList(Context*, const v1::PutLocalListRequest*,
                        v1::PutLocalListResponse*) override;
  Reactor* GetLocalList(Context*, const v1::GetLocalListRequest*,
                        v1::GetLocalListResponse*) override;
  Reactor* SyncLocalList(Context*, const v1::SyncLocalListRequest*,
                         v1::SyncLocalListResponse*) override;

 private:
  AuthService& service_;
  WorkPool& pool_;
  std::atomic<v1::ChargerControl::StubInterface*> charger_control_;
};

}  // namespace switchyard::auth
