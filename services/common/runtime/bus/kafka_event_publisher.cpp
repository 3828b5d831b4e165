// KafkaEventPublisher is header-only; this unit anchors the library target.
#include "common/runtime/bus/kafka_event_publisher.h"
