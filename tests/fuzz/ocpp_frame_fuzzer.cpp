// libFuzzer target: frame parse + validate + serialize. Byte 0 picks the version, byte 1 the
// role, lenient mode and the action of a pending CALL; the rest is the frame. Properties, beyond
// "no crash, no leak, no sanitizer report":
//  * whatever decodes re-encodes to a payload that decodes again in strict mode;
//  * every error becomes a CALLERROR frame that decodes as a valid CALLERROR.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/ocpp/decoder.h"
#include "common/ocpp/encoder.h"

using namespace switchyard::ocpp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Decoder decoder;
  static Decoder second;
  static Encoder encoder;
  if (size < 2) return 0;
  const Version version = static_cast<Version>(data[0] % 3);
  const Role role = (data[1] & 1) ? Role::kCharger : Role::kCsms;
  DecodeOptions options;
  options.lenient = (data[1] & 2) != 0;
  const auto all = messages(version);
  const PendingCall pending{"p1", &all[(data[1] >> 2) % all.size()]};
  const std::string frame(reinterpret_cast<const char*>(data + 2), size - 2);

  auto decoded = decoder.decode(version, role, frame, &pending, options);
  if (decoded) {
    if (decoded->payload_type != nullptr) {
      const std::string payload(encoder.payload(*decoded->payload_type, decoded->payload));
      auto again = second.decode_payload(version, *decoded->payload_type, payload);
      if (!again) {
        std::fprintf(stderr, "re-encoded payload does not decode: %s\n%s\n",
                     again.error().description.c_str(), payload.c_str());
        std::abort();
      }
    }
    return 0;
  }
  const DecodeError& e = decoded.error();
  const std::string reply(encoder.error(version, e.message_id, e.code, e.description));
  auto back = second.decode(version, Role::kCharger, reply);
  if (!back || back->type != MessageType::kCallError) {
    std::fprintf(stderr, "error reply is not a valid CALLERROR: %s\n", reply.c_str());
    std::abort();
  }
  return 0;
}
