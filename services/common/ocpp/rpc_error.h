// OCPP-J RPC error codes and their spelling in each version.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/ocpp/types.h"

namespace switchyard::ocpp {

enum class RpcErrorCode : std::uint8_t {
  kNotImplemented,                 // unknown action
  kNotSupported,                   // known action this receiver does not handle
  kInternalError,                  // the receiver failed
  kProtocolError,                  // payload incomplete / not the PDU structure
  kSecurityError,                  // e.g. a CALL before the boot was accepted
  kFormatViolation,                // 1.6 "FormationViolation"
  kPropertyConstraintViolation,    // a value outside its enum, length or range
  kOccurrenceConstraintViolation,  // 1.6 "OccurenceConstraintViolation": missing / array size
  kTypeConstraintViolation,        // wrong JSON type
  kGenericError,
  kMessageTypeNotSupported,  // 2.x: unknown MessageTypeId
  kRpcFrameworkError,        // 2.x: not a valid RPC frame
};

// The code as the version spells it. 1.6 keeps its historic spellings and has no
// MessageTypeNotSupported or RpcFrameworkError (both become FormationViolation).
std::string_view rpc_error_name(RpcErrorCode code, Version version);

// Reads a received code in any version's spelling (both Occurence/Occurrence, Formation/Format).
std::optional<RpcErrorCode> parse_rpc_error(std::string_view name);

}  // namespace switchyard::ocpp
