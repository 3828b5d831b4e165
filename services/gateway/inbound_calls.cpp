// Classification of inbound CALLs and the answers of each OCPP version.
#include "gateway/inbound_calls.h"

#include <charconv>
#include <type_traits>

#include "common/ocpp/decoder.h"
#include "common/ocpp/formats.h"

#include "common/ocpp/generated/v16/messages.h"
#include "common/ocpp/generated/v201/messages.h"
#include "common/ocpp/generated/v21/messages.h"
#include "switchyard/v1/events.pb.h"

namespace switchyard::gateway {
namespace {

namespace v16 = ocpp::v16;
namespace v201 = ocpp::v201;
namespace v21 = ocpp::v21;
using Clock = std::chrono::system_clock;

ocpp::DateTime to_datetime(Clock::time_point t) {
  return ocpp::DateTime(std::chrono::time_point_cast<std::chrono::milliseconds>(t));
}

template <typename Enum>
Enum enum_or(std::string_view text, Enum fallback) {
  Enum value{};
  return from_string(text, value) ? value : fallback;
}

void set_timestamp(google::protobuf::Timestamp* ts, Clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  ts->set_seconds(ms / 1000);
  ts->set_nanos(static_cast<int>(ms % 1000) * 1'000'000);
}

// -- 1.6 ------------------------------------------------------------------------------------
v16::IdTagInfo id_tag_info(const TokenDecision& d, ocpp::DateTime& expiry_storage) {
  v16::IdTagInfo info{};
  // A 2.x-only status (NoCredit, ...) is Invalid to a 1.6 charger.
  info.status = enum_or(d.status, v16::AuthorizationStatus::kInvalid);
  if (d.expires_at) {
    expiry_storage = to_datetime(*d.expires_at);
    info.expiry_date = expiry_storage;
  }
  // The token's group: a charger lets another card of the same group stop the transaction. One
  // longer than 1.6's 20 characters cannot be told.
  if (!d.group_id.empty() && d.group_id.size() <= ocpp::CiString<20>::kMaxLength) {
    info.parent_id_tag = ocpp::CiString<20>(d.group_id);
  }
  return info;
}

// -- 2.0.1 and 2.1 share these shapes ------------------------------------------------------------
struct V201 {
  using Boot = v201::BootNotificationResponse;
  using Heartbeat = v201::HeartbeatResponse;
  using Authorize = v201::AuthorizeResponse;
  using TransactionEvent = v201::TransactionEventResponse;
  using IdTokenInfo = v201::IdTokenInfo;
  using Registration = v201::RegistrationStatusEnum;
  using Authorization = v201::AuthorizationStatusEnum;
};
struct V21 {
  using Boot = v21::BootNotificationResponse;
  using Heartbeat = v21::HeartbeatResponse;
  using Authorize = v21::AuthorizeResponse;
  using TransactionEvent = v21::TransactionEventResponse;
  using IdTokenInfo = v21::IdTokenInfo;
  using Registration = v21::RegistrationStatusEnum;
  using Authorization = v21::AuthorizationStatusEnum;
};

template <typename V>
typename V::IdTokenInfo id_token_info(const TokenDecision& d, ocpp::DateTime& expiry_storage) {
  typename V::IdTokenInfo info{};
  info.status = enum_or(d.status, V::Authorization::kInvalid);
  if (d.expires_at) {
    expiry_storage = to_datetime(*d.expires_at);
    info.cache_expiry_date_time = expiry_storage;
  }
  // The token's group (groupIdToken, type Central): another card of the group may stop the
  // transaction.
  using Group = typename decltype(info.group_id_token)::value_type;
  using GroupId = decltype(Group{}.id_token);
  if (!d.group_id.empty() && d.group_id.size() <= GroupId::kMaxLength) {
    Group group{};
    group.id_token = GroupId(d.group_id);
    if constexpr (std::is_enum_v<decltype(group.type)>) {
      group.type = decltype(group.type)::kCentral;  // 2.0.1's IdTokenEnumType
    } else {
      group.type = "Central";  // 2.1: a string
    }
    info.group_id_token = group;
  }
  return info;
}

template <typename V>
std::string boot_2x(ocpp::Encoder& e, const BootDecision& d, Clock::time_point now) {
  typename V::Boot r{};
  r.current_time = to_datetime(now);
  r.interval = d.interval_s;
  r.status = enum_or(d.status, V::Registration::kRejected);
  return std::string(e.payload(V::Boot::schema(), &r));
}

template <typename V>
std::string heartbeat_2x(ocpp::Encoder& e, Clock::time_point now) {
  typename V::Heartbeat r{};
  r.current_time = to_datetime(now);
  return std::string(e.payload(V::Heartbeat::schema(), &r));
}

template <typename V>
std::string authorize_2x(ocpp::Encoder& e, const TokenDecision& d) {
  typename V::Authorize r{};
  ocpp::DateTime expiry;
  r.id_token_info = id_token_info<V>(d, expiry);
  return std::string(e.payload(V::Authorize::schema(), &r));
}

template <typename V>
std::string transaction_event_2x(ocpp::Encoder& e, const TransactionDecision& d) {
  typename V::TransactionEvent r{};
  ocpp::DateTime expiry;
  if (d.token) r.id_token_info = id_token_info<V>(*d.token, expiry);
  return std::string(e.payload(V::TransactionEvent::schema(), &r));
}

}  // namespace

InboundKind classify_inbound(const ocpp::MessageInfo& message) {
  const std::string_view a = message.action;
  if (a == "Heartbeat") return InboundKind::kHeartbeat;
  if (a == "BootNotification") return InboundKind::kBoot;
  if (a == "Authorize") return InboundKind::kAuthorize;
  if (a == "StartTransaction" || a == "StopTransaction" || a == "TransactionEvent") {
    return InboundKind::kTransaction;
  }
  if (a == "DataTransfer") return InboundKind::kAcknowledge;
  if (a == "SignCertificate") return InboundKind::kSignCertificate;
  // Notifications whose answer has no required member: acknowledge once durable.
  if (message.response != nullptr && message.response->required_mask == 0) {
    return InboundKind::kAcknowledge;
  }
  return InboundKind::kNotSupported;
}

std::string heartbeat_answer(ocpp::Encoder& e, ocpp::Version version, Clock::time_point now) {
  switch (version) {
    case ocpp::Version::k16: {
      v16::HeartbeatResponse r{};
      r.current_time = to_datetime(now);
      return std::string(e.payload(v16::HeartbeatResponse::schema(), &r));
    }
    case ocpp::Version::k201:
      return heartbeat_2x<V201>(e, now);
    case ocpp::Version::k21:
      return heartbeat_2x<V21>(e, now);
  }
  return "{}";
}

std::string boot_answer(ocpp::Encoder& e, ocpp::Version version, const BootDecision& d,
                        Clock::time_point now) {
  switch (version) {
    case ocpp::Version::k16: {
      v16::BootNotificationResponse r{};
      r.current_time = to_datetime(now);
      r.interval = d.interval_s;
      r.status = enum_or(d.status, v16::RegistrationStatus::kRejected);
      return std::string(e.payload(v16::BootNotificationResponse::schema(), &r));
    }
    case ocpp::Version::k201:
      return boot_2x<V201>(e, d, now);
    case ocpp::Version::k21:
      return boot_2x<V21>(e, d, now);
  }
  return "{}";
}

std::string authorize_answer(ocpp::Encoder& e, ocpp::Version version, const TokenDecision& d) {
  switch (version) {
    case ocpp::Version::k16: {
      v16::AuthorizeResponse r{};
      ocpp::DateTime expiry;
      r.id_tag_info = id_tag_info(d, expiry);
      return std::string(e.payload(v16::AuthorizeResponse::schema(), &r));
    }
    case ocpp::Version::k201:
      return authorize_2x<V201>(e, d);
    case ocpp::Version::k21:
      return authorize_2x<V21>(e, d);
  }
  return "{}";
}

Result<std::string> transaction_answer(ocpp::Encoder& e, ocpp::Version version,
                                       std::string_view action, const TransactionDecision& d) {
  if (version == ocpp::Version::k201) return transaction_event_2x<V201>(e, d);
  if (version == ocpp::Version::k21) return transaction_event_2x<V21>(e, d);
  ocpp::DateTime expiry;
  const TokenDecision token = d.token.value_or(TokenDecision{});
  if (action == "StartTransaction") {
    v16::StartTransactionResponse r{};
    r.id_tag_info = id_tag_info(token, expiry);
    const auto [end, ec] =
        std::from_chars(d.transaction_id.data(), d.transaction_id.data() + d.transaction_id.size(),
                        r.transaction_id);
    if (ec != std::errc() || d.transaction_id.empty()) {
      return make_error(
          ErrorCode::kInternal,
          "no integer transaction id for a 1.6 StartTransaction: '" + d.transaction_id + "'");
    }
    return std::string(e.payload(v16::StartTransactionResponse::schema(), &r));
  }
  v16::StopTransactionResponse r{};
  if (d.token) r.id_tag_info = id_tag_info(*d.token, expiry);
  return std::string(e.payload(v16::StopTransactionResponse::schema(), &r));
}

std::string acknowledge_answer(ocpp::Encoder& e, const ocpp::MessageInfo& message) {
  if (message.action == "DataTransfer") {
    // The data is durable on the events topic for whichever service understands the vendor.
    return R"({"status":"Accepted"})";
  }
  (void)e;
  return "{}";
}

std::optional<SigningRequest> signing_request(const ocpp::DecodedFrame& frame) {
  if (const auto* r = frame.as<v16::SignCertificateRequest>()) {
    return SigningRequest{
        .csr = r->csr.str(), .certificate_type = {}, .request_id = {}, .root = {}};
  }
  if (const auto* r = frame.as<v201::SignCertificateRequest>()) {
    return SigningRequest{
        .csr = r->csr.str(),
        .certificate_type = r->certificate_type ? std::string(to_string(*r->certificate_type)) : "",
        .request_id = {},
        .root = {}};
  }
  if (const auto* r = frame.as<v21::SignCertificateRequest>()) {
    SigningRequest out{
        .csr = r->csr.str(),
        .certificate_type = r->certificate_type ? std::string(to_string(*r->certificate_type)) : "",
        .request_id = r->request_id,
        .root = std::nullopt};
    if (const auto& h = r->hash_root_certificate) {
      out.root =
          CertificateHash{std::string(to_string(h->hash_algorithm)), h->issuer_name_hash.str(),
                          h->issuer_key_hash.str(), h->serial_number.str()};
    }
    return out;
  }
  return std::nullopt;
}

namespace {

template <typename Response, typename Status, typename StatusInfo>
std::string sign_certificate_2x(ocpp::Encoder& e, const CertificateDecision& d) {
  Response r{};
  r.status = d.accepted ? Status::kAccepted : Status::kRejected;
  if (!d.accepted) {
    StatusInfo info{};
    const std::string_view code =
        d.reason_code.empty() ? std::string_view("Rejected") : std::string_view(d.reason_code);
    info.reason_code = ocpp::utf8_prefix(code, 20);
    info.additional_info = ocpp::utf8_prefix(d.reason, 512);
    r.status_info = info;
  }
  return std::string(e.payload(Response::schema(), &r));
}

template <typename Request, typename Use>
std::string certificate_signed_2x(ocpp::Encoder& e, const SigningRequest& s,
                                  const std::string& chain, std::optional<std::int64_t> id) {
  Request r{};
  r.certificate_chain = chain;
  if (!s.certificate_type.empty()) {
    Use use{};
    if (from_string(s.certificate_type, use)) r.certificate_type = use;
  }
  if constexpr (requires { r.request_id; }) r.request_id = id;
  return std::string(e.payload(Request::schema(), &r));
}

}  // namespace

std::string sign_certificate_answer(ocpp::Encoder& e, ocpp::Version version,
                                    const CertificateDecision& d) {
  switch (version) {
    case ocpp::Version::k16: {
      v16::SignCertificateResponse r{};
      r.status = d.accepted ? v16::CancelReservationResponseStatus::kAccepted
                            : v16::CancelReservationResponseStatus::kRejected;
      return std::string(e.payload(v16::SignCertificateResponse::schema(), &r));
    }
    case ocpp::Version::k201:
      return sign_certificate_2x<v201::SignCertificateResponse, v201::CancelReservationStatusEnum,
                                 v201::StatusInfo>(e, d);
    case ocpp::Version::k21:
      return sign_certificate_2x<v21::SignCertificateResponse, v21::GenericStatusEnum,
                                 v21::StatusInfo>(e, d);
  }
  return "{}";
}

std::string certificate_signed_request(ocpp::Encoder& e, ocpp::Version version,
                                       const SigningRequest& s, const std::string& chain) {
  switch (version) {
    case ocpp::Version::k16: {
      v16::CertificateSignedRequest r{};
      r.certificate_chain = chain;
      return std::string(e.payload(v16::CertificateSignedRequest::schema(), &r));
    }
    case ocpp::Version::k201:
      return certificate_signed_2x<v201::CertificateSignedRequest, v201::CertificateSigningUseEnum>(
          e, s, chain, {});
    case ocpp::Version::k21:
      return certificate_signed_2x<v21::CertificateSignedRequest, v21::CertificateSigningUseEnum>(
          e, s, chain, s.request_id);
  }
  return "{}";
}

void record_decision(v1::ChargerEvent& event, const BootDecision& d) {
  auto* boot = event.mutable_boot_notification();
  boot->set_registration_status(d.status);
  boot->set_interval_s(d.interval_s);
}

namespace {
void fill(v1::AuthorizationDecision* out, const TokenDecision& d) {
  out->set_status(d.status);
  out->set_group_id(d.group_id);
  if (d.expires_at) set_timestamp(out->mutable_expires_at(), *d.expires_at);
}
}  // namespace

void record_decision(v1::ChargerEvent& event, const TokenDecision& d) {
  fill(event.mutable_authorize()->mutable_decision(), d);
}

void record_decision(v1::ChargerEvent& event, const TransactionDecision& d) {
  auto* tx = event.mutable_transaction_event();
  if (!d.transaction_id.empty()) tx->set_transaction_id(d.transaction_id);
  if (d.token) fill(tx->mutable_decision(), *d.token);
}

}  // namespace switchyard::gateway
