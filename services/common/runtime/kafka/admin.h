// Topic administration (create with partition count), used at start-up and by tests.
#pragma once

#include <chrono>
#include <string>

#include "common/runtime/core/error.h"

namespace switchyard::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 12;
  int replication_factor = 1;
};

// Creates the topic; an existing topic is success. Blocks up to `timeout`.
Result<void> ensure_topic(const std::string& brokers, const TopicSpec& topic,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace switchyard::kafka
