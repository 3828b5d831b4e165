// librdkafka KafkaConsumer with commit-after-processing and seek-back on handler errors.
#include "common/runtime/kafka/consumer.h"

#include <librdkafka/rdkafkacpp.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <thread>
#include <unordered_map>

#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"
#include "common/runtime/kafka/errors.h"

namespace switchyard::kafka {
namespace {

using detail::to_error;

struct ConsumerMetrics {
  prometheus::Family<prometheus::Gauge>* lag = nullptr;
  prometheus::Family<prometheus::Counter>* consumed = nullptr;
  prometheus::Counter* handler_errors = nullptr;

  explicit ConsumerMetrics(prometheus::Registry* registry, const std::string& group) {
    if (registry == nullptr) return;
    lag = &prometheus::BuildGauge()
               .Name("switchyard_kafka_consumer_lag_messages")
               .Help("Records between the consumer's position and the partition end")
               .Register(*registry);
    consumed = &prometheus::BuildCounter()
                    .Name("switchyard_kafka_consumed_total")
                    .Help("Records handled successfully")
                    .Register(*registry);
    handler_errors = &prometheus::BuildCounter()
                          .Name("switchyard_kafka_consumer_handler_errors_total")
                          .Help("Records whose handler failed and that will be retried")
                          .Register(*registry)
                          .Add({{"group", group}});
  }
};

class RdConsumer final : public Consumer, public RdKafka::EventCb {
 public:
  RdConsumer(const ConsumerConfig& config, prometheus::Registry* registry)
      : config_(config), metrics_(registry, config.group_id) {}

  ~RdConsumer() override { close(); }

  Result<void> init() {
    if (config_.group_id.empty()) {
      return make_error(ErrorCode::kInvalidArgument, "kafka consumer: group_id is required");
    }
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    const std::string session_timeout_ms = std::to_string(config_.session_timeout.count());
    const std::pair<std::string, std::string> settings[] = {
        {"bootstrap.servers", config_.brokers},
        {"group.id", config_.group_id},
        {"client.id", config_.client_id},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", config_.auto_offset_reset},
        {"enable.partition.eof", "false"},
        {"session.timeout.ms", session_timeout_ms},
        // A subscribed topic that does not exist yet (its producer starts later, or its creation
        // has not reached this broker's metadata) is found within 10 s, not librdkafka's 5 min.
        {"topic.metadata.refresh.interval.ms", "10000"},
    };
    for (const auto& [k, v] : settings) {
      if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
        return make_error(ErrorCode::kInvalidArgument, "kafka consumer " + k + ": " + err);
      }
    }
    for (const auto& [k, v] : config_.properties) {
      if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
        return make_error(ErrorCode::kInvalidArgument, "kafka consumer " + k + ": " + err);
      }
    }
    conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err);
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) return make_error(ErrorCode::kInvalidArgument, "kafka consumer: " + err);
    if (auto code = consumer_->subscribe(config_.topics); code != RdKafka::ERR_NO_ERROR) {
      return std::unexpected(to_error(code, "kafka subscribe"));
    }
    return {};
  }

  Result<std::size_t> poll_once(const RecordHandler& handler, const BatchFlush& flush) override {
    return poll_batch(handler, flush, std::stop_token{});
  }

  // A stop request ends the batch after the record in hand (what was handled is committed, the
  // rest comes again to the partition's next owner): a SIGTERM does not wait for up to
  // max_batch more records.
  Result<std::size_t> poll_batch(const RecordHandler& handler, const BatchFlush& flush,
                                 const std::stop_token& stop) {
    std::size_t handled = 0;
    Offsets next_offsets;
    Offsets first_offsets;  // where each partition goes back to when the flush fails
    Result<std::size_t> outcome = 0;
    auto timeout = static_cast<int>(config_.poll_timeout.count());
    for (int i = 0; i < config_.max_batch && !stop.stop_requested(); ++i) {
      std::unique_ptr<RdKafka::Message> msg(consumer_->consume(timeout));
      timeout = 0;  // after the first record, take only what is already fetched
      if (!msg || msg->err() == RdKafka::ERR__TIMED_OUT) break;
      if (msg->err() != RdKafka::ERR_NO_ERROR) {
        if (msg->err() == RdKafka::ERR__PARTITION_EOF) continue;
        log::warn("kafka consume error", {{"error", msg->errstr()}});
        break;
      }
      Record record;
      // One copy per record (librdkafka's C++ API returns it by value): the record's view and
      // the offsets to commit use it.
      const std::string topic = msg->topic_name();
      record.topic = topic;
      record.partition = msg->partition();
      record.offset = msg->offset();
      if (msg->key_pointer()) {
        record.key = std::string_view(static_cast<const char*>(msg->key_pointer()), msg->key_len());
      }
      if (msg->payload()) {
        record.value = std::string_view(static_cast<const char*>(msg->payload()), msg->len());
      }
      record.timestamp = std::chrono::system_clock::time_point(
          std::chrono::milliseconds(msg->timestamp().timestamp));
      auto result = handler(record);
      if (!result) {
        if (metrics_.handler_errors) metrics_.handler_errors->Increment();
        // Go back to the failed record so it is delivered again; later records of the same
        // partition that were already fetched are discarded by the seek.
        seek(Offsets{{topic, {{msg->partition(), msg->offset()}}}});
        outcome = std::unexpected(
            Error{result.error().code,
                  "handler failed at " + topic + "/" + std::to_string(msg->partition()) + "@" +
                      std::to_string(msg->offset()) + ": " + result.error().message});
        break;
      }
      ++handled;
      next_offsets[topic][msg->partition()] = msg->offset() + 1;
      first_offsets[topic].try_emplace(msg->partition(), msg->offset());
      update_lag(*msg);
    }
    if (!next_offsets.empty() && flush) {
      if (auto flushed = flush(); !flushed) {
        if (metrics_.handler_errors) metrics_.handler_errors->Increment();
        seek(first_offsets);
        return std::unexpected(
            Error{flushed.error().code, "flushing a batch of " + std::to_string(handled) +
                                            " records failed: " + flushed.error().message});
      }
    }
    if (!next_offsets.empty()) commit(next_offsets);
    if (!outcome) return outcome;
    if (metrics_.consumed && handled > 0) {
      metrics_.consumed->Add({{"group", config_.group_id}}).Increment(static_cast<double>(handled));
    }
    return handled;
  }

  void run(const RecordHandler& handler, const BatchFlush& flush, std::stop_token stop) override {
    name_this_thread(consumer_thread_name(config_.group_id));
    while (!stop.stop_requested()) {
      auto r = poll_batch(handler, flush, stop);
      if (!r) {
        log::warn("kafka consumer handler failed; retrying",
                  {{"group", config_.group_id}, {"error", r.error().message}});
        std::this_thread::sleep_for(config_.retry_backoff);
      }
    }
  }

  void close() override {
    if (!consumer_ || closed_) return;
    closed_ = true;
    consumer_->close();
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_LOG) {
      log::debug("librdkafka", {{"facility", event.fac()}, {"detail", event.str()}});
      return;
    }
    if (event.type() != RdKafka::Event::EVENT_ERROR) return;
    const auto now = std::chrono::steady_clock::now();
    if (event.err() == last_error_ && now - last_error_at_ < std::chrono::seconds(10)) return;
    last_error_ = event.err();
    last_error_at_ = now;
    log::warn("kafka consumer error", {{"group", config_.group_id},
                                       {"error", RdKafka::err2str(event.err())},
                                       {"detail", event.str()}});
  }

 private:
  using Offsets = std::unordered_map<std::string, std::unordered_map<int32_t, int64_t>>;

  // Sends each partition back to the given offset: those records are delivered again.
  void seek(const Offsets& offsets) {
    for (const auto& [topic, by_partition] : offsets) {
      for (const auto& [partition, offset] : by_partition) {
        std::unique_ptr<RdKafka::TopicPartition> tp(
            RdKafka::TopicPartition::create(topic, partition, offset));
        consumer_->seek(*tp, 1000);
      }
    }
  }

  void commit(const Offsets& offsets) {
    std::vector<RdKafka::TopicPartition*> partitions;
    for (const auto& [topic, by_partition] : offsets) {
      for (const auto& [partition, offset] : by_partition) {
        partitions.push_back(RdKafka::TopicPartition::create(topic, partition, offset));
      }
    }
    if (auto code = consumer_->commitSync(partitions); code != RdKafka::ERR_NO_ERROR) {
      // Not fatal: the records come again and handlers are idempotent.
      log::warn("kafka commit failed",
                {{"group", config_.group_id}, {"error", RdKafka::err2str(code)}});
    }
    RdKafka::TopicPartition::destroy(partitions);
  }

  void update_lag(RdKafka::Message& msg) {
    if (!metrics_.lag) return;
    int64_t low = 0, high = 0;
    if (consumer_->get_watermark_offsets(msg.topic_name(), msg.partition(), &low, &high) !=
        RdKafka::ERR_NO_ERROR) {
      return;
    }
    metrics_.lag
        ->Add({{"group", config_.group_id},
               {"topic", msg.topic_name()},
               {"partition", std::to_string(msg.partition())}})
        .Set(static_cast<double>(std::max<int64_t>(0, high - msg.offset() - 1)));
  }

  ConsumerConfig config_;
  ConsumerMetrics metrics_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  bool closed_ = false;
  RdKafka::ErrorCode last_error_ = RdKafka::ERR_NO_ERROR;
  std::chrono::steady_clock::time_point last_error_at_{};
};

}  // namespace

Result<std::unique_ptr<Consumer>> Consumer::create(const ConsumerConfig& config,
                                                   prometheus::Registry* metrics) {
  auto consumer = std::make_unique<RdConsumer>(config, metrics);
  if (auto r = consumer->init(); !r) return std::unexpected(r.error());
  return std::unique_ptr<Consumer>(std::move(consumer));
}

}  // namespace switchyard::kafka
