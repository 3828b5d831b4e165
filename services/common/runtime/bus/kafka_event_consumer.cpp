// KafkaEventConsumer is header-only; this unit compiles it as part of the library target.
#include "common/runtime/bus/kafka_event_consumer.h"
