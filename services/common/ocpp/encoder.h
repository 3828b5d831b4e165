// Encodes typed messages and OCPP-J frames into a reused buffer: no allocation once the buffer
// has grown to the largest frame.
#pragma once

#include <string>
#include <string_view>

#include "common/ocpp/rpc_error.h"
#include "common/ocpp/schema.h"
#include "common/ocpp/types.h"

namespace switchyard::ocpp {

class Encoder {
 public:
  // Each returned view is valid until the next call on this encoder.
  std::string_view call(std::string_view message_id, std::string_view action, const TypeInfo& type,
                        const void* payload);
  std::string_view result(std::string_view message_id, const TypeInfo& type, const void* payload);
  // CALLERROR; the description is cut to 255 characters, details must be a JSON object.
  std::string_view error(Version version, std::string_view message_id, RpcErrorCode code,
                         std::string_view description, std::string_view details_json = "{}");
  // 2.1 CALLRESULTERROR, for a CALLRESULT that could not be processed.
  std::string_view result_error(std::string_view message_id, RpcErrorCode code,
                                std::string_view description, std::string_view details_json = "{}");
  // 2.1 SEND.
  std::string_view send(std::string_view message_id, std::string_view action, const TypeInfo& type,
                        const void* payload);
  // A payload object alone.
  std::string_view payload(const TypeInfo& type, const void* payload);
  // A CALLRESULT whose payload is already JSON text.
  std::string_view result_json(std::string_view message_id, std::string_view payload_json);
  // A CALL whose payload is already JSON text (the raw Call escape hatch).
  std::string_view call_json(std::string_view message_id, std::string_view action,
                             std::string_view payload_json);

  template <typename T>
  std::string_view call(std::string_view message_id, const T& payload) {
    return call(message_id, T::kAction, T::schema(), &payload);
  }
  template <typename T>
  std::string_view result(std::string_view message_id, const T& payload) {
    return result(message_id, T::schema(), &payload);
  }

  // Appends a payload object to `out`.
  static void write_payload(std::string& out, const TypeInfo& type, const void* payload);

 private:
  std::string buffer_;
};

}  // namespace switchyard::ocpp
