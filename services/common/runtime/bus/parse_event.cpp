// Events that do not parse are counted and skipped (see parse_event.h).
#include "common/runtime/bus/parse_event.h"

#include <google/protobuf/message_lite.h>
#include <prometheus/counter.h>

#include "common/runtime/core/log.h"

namespace switchyard::bus {

bool parse_event(const Event& event, google::protobuf::MessageLite& message,
                 prometheus::Counter* malformed) {
  if (message.ParseFromArray(event.value.data(), static_cast<int>(event.value.size()))) return true;
  if (malformed != nullptr) malformed->Increment();
  log::error("skipping an event that does not parse", {{"type", message.GetTypeName()},
                                                       {"topic", event.topic},
                                                       {"partition", event.partition},
                                                       {"offset", event.offset}});
  return false;
}

}  // namespace switchyard::bus
