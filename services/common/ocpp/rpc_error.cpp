// RPC error code names per version.
#include "common/ocpp/rpc_error.h"

namespace switchyard::ocpp {

std::string_view rpc_error_name(RpcErrorCode code, Version version) {
  const bool v16 = version == Version::k16;
  switch (code) {
    case RpcErrorCode::kNotImplemented:
      return "NotImplemented";
    case RpcErrorCode::kNotSupported:
      return "NotSupported";
    case RpcErrorCode::kInternalError:
      return "InternalError";
    case RpcErrorCode::kProtocolError:
      return "ProtocolError";
    case RpcErrorCode::kSecurityError:
      return "SecurityError";
    case RpcErrorCode::kFormatViolation:
      return v16 ? "FormationViolation" : "FormatViolation";
    case RpcErrorCode::kPropertyConstraintViolation:
      return "PropertyConstraintViolation";
    case RpcErrorCode::kOccurrenceConstraintViolation:
      return v16 ? "OccurenceConstraintViolation" : "OccurrenceConstraintViolation";
    case RpcErrorCode::kTypeConstraintViolation:
      return "TypeConstraintViolation";
    case RpcErrorCode::kGenericError:
      return "GenericError";
    case RpcErrorCode::kMessageTypeNotSupported:
      return v16 ? "FormationViolation" : "MessageTypeNotSupported";
    case RpcErrorCode::kRpcFrameworkError:
      return v16 ? "FormationViolation" : "RpcFrameworkError";
  }
  return "GenericError";
}

std::optional<RpcErrorCode> parse_rpc_error(std::string_view name) {
  struct Entry {
    std::string_view name;
    RpcErrorCode code;
  };
  static constexpr Entry kNames[] = {
      {"NotImplemented", RpcErrorCode::kNotImplemented},
      {"NotSupported", RpcErrorCode::kNotSupported},
      {"InternalError", RpcErrorCode::kInternalError},
      {"ProtocolError", RpcErrorCode::kProtocolError},
      {"SecurityError", RpcErrorCode::kSecurityError},
      {"FormationViolation", RpcErrorCode::kFormatViolation},
      {"FormatViolation", RpcErrorCode::kFormatViolation},
      {"PropertyConstraintViolation", RpcErrorCode::kPropertyConstraintViolation},
      {"OccurenceConstraintViolation", RpcErrorCode::kOccurrenceConstraintViolation},
      {"OccurrenceConstraintViolation", RpcErrorCode::kOccurrenceConstraintViolation},
      {"TypeConstraintViolation", RpcErrorCode::kTypeConstraintViolation},
      {"GenericError", RpcErrorCode::kGenericError},
      {"MessageTypeNotSupported", RpcErrorCode::kMessageTypeNotSupported},
      {"RpcFrameworkError", RpcErrorCode::kRpcFrameworkError},
  };
  for (const Entry& e : kNames) {
    if (e.name == name) return e.code;
  }
  return std::nullopt;
}

}  // namespace switchyard::ocpp
