// Topic creation through librdkafka's admin API (C API: the C++ API has none).
#include "common/runtime/kafka/admin.h"

#include <librdkafka/rdkafka.h>

#include <memory>

#include "common/runtime/core/log.h"

namespace switchyard::kafka {
namespace {
// librdkafka's own log lines go through the JSON log, not straight to stderr.
void log_line(const rd_kafka_t*, int level, const char* facility, const char* message) {
  if (level <= 4) {
    log::warn("librdkafka", {{"facility", facility}, {"detail", message}});
  } else {
    log::debug("librdkafka", {{"facility", facility}, {"detail", message}});
  }
}
}  // namespace

Result<void> ensure_topic(const std::string& brokers, const TopicSpec& topic,
                          std::chrono::milliseconds timeout) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return make_error(ErrorCode::kInvalidArgument, std::string("kafka admin: ") + errstr);
  }
  rd_kafka_conf_set_log_cb(conf, &log_line);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr), &rd_kafka_destroy);
  if (!rk) return make_error(ErrorCode::kInvalidArgument, std::string("kafka admin: ") + errstr);

  std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)> new_topic(
      rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions, topic.replication_factor, errstr,
                            sizeof errstr),
      &rd_kafka_NewTopic_destroy);
  if (!new_topic)
    return make_error(ErrorCode::kInvalidArgument, std::string("kafka topic: ") + errstr);

  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(
      rd_kafka_queue_new(rk.get()), &rd_kafka_queue_destroy);
  std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)> options(
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS),
      &rd_kafka_AdminOptions_destroy);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()),
                                              errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()),
                                            errstr, sizeof errstr);
  rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
  rd_kafka_CreateTopics(rk.get(), topics, 1, options.get(), queue.get());

  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> event(
      rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000),
      &rd_kafka_event_destroy);
  if (!event) {
    return make_error(ErrorCode::kDeadlineExceeded,
                      "kafka create topic " + topic.name + ": no answer from " + brokers);
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return make_error(ErrorCode::kUnavailable, "kafka create topic " + topic.name + ": " +
                                                   rd_kafka_event_error_string(event.get()));
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return make_error(ErrorCode::kUnavailable, "kafka create topic " + topic.name + ": " +
                                                     (msg ? msg : rd_kafka_err2str(err)));
    }
  }
  return {};
}

}  // namespace switchyard::kafka
