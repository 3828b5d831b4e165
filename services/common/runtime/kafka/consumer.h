// Kafka consumer in a consumer group with manual commit: an offset is committed only after the
// handler processed the record (at-least-once; handlers are idempotent on the event id).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/runtime/core/error.h"

namespace prometheus {
class Registry;
}

namespace switchyard::kafka {

struct ConsumerConfig {
  std::string brokers = "127.0.0.1:9092";
  std::string group_id;
  std::vector<std::string> topics;
  std::string client_id = "switchyard";
  // Where a group without a committed offset starts: "earliest" or "latest".
  std::string auto_offset_reset = "earliest";
  // Longest wait for records in one poll.
  std::chrono::milliseconds poll_timeout{200};
  // Most records handled between two commits.
  int max_batch = 500;
  // Pause after a handler error before the record is retried.
  std::chrono::milliseconds retry_backoff{500};
  // A member that stops heartbeating (kill -9, a lost node) holds its partitions this long
  // before the group hands them to another member or to its own restart. librdkafka's 45 s
  // default stalls those partitions that long after every crash.
  std::chrono::milliseconds session_timeout{10'000};
  std::map<std::string, std::string> properties;
};

struct Record {
  std::string_view topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string_view key;
  std::string_view value;
  std::chrono::system_clock::time_point timestamp;
};

// Returns success when the record is processed (its offset may be committed) or an error to
// have it delivered again after retry_backoff.
using RecordHandler = std::function<Result<void>(const Record&)>;
// Runs after a batch was handled and before its offsets are committed; an error commits nothing
// of the batch (every partition goes back to the batch's first record).
using BatchFlush = std::function<Result<void>()>;

class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> create(const ConsumerConfig& config,
                                                  prometheus::Registry* metrics);
  virtual ~Consumer() = default;

  // One poll: handles up to max_batch records, flushes (`flush` may be empty), commits what was
  // handled, returns how many. A handler error seeks the partition back to the failed record
  // and is returned.
  virtual Result<std::size_t> poll_once(const RecordHandler& handler, const BatchFlush& flush) = 0;
  Result<std::size_t> poll_once(const RecordHandler& handler) { return poll_once(handler, {}); }

  // Polls until `stop` is requested; handler and flush errors are logged and retried.
  virtual void run(const RecordHandler& handler, const BatchFlush& flush, std::stop_token stop) = 0;
  void run(const RecordHandler& handler, std::stop_token stop) {
    run(handler, {}, std::move(stop));
  }

  // Leaves the group cleanly (commits, revokes). Called by the destructor too.
  virtual void close() = 0;
};

}  // namespace switchyard::kafka
