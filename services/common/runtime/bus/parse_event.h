// The first step of every consumer's handler: the event's bytes as the protobuf message the
// topic carries. An event that does not parse can never be processed, so it is counted, logged
// with where it sits, and skipped instead of retried forever.
#pragma once

#include "common/runtime/bus/event_consumer.h"

namespace google::protobuf {
class MessageLite;
}
namespace prometheus {
class Counter;
}

namespace switchyard::bus {

// False when `event` is not a `message`; `malformed` (may be null) is incremented then.
bool parse_event(const Event& event, google::protobuf::MessageLite& message,
                 prometheus::Counter* malformed);

}  // namespace switchyard::bus
