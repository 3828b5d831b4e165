// librdkafka producer with a poll thread that runs delivery callbacks, or an event loop's
// descriptor for them (take_deliveries()).
#include "common/runtime/kafka/producer.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <thread>

#include "common/runtime/core/log.h"
#include "common/runtime/core/thread_name.h"
#include "common/runtime/kafka/errors.h"

namespace switchyard::kafka {
namespace {

using detail::to_error;

struct PendingMessage {
  DeliveryCallback callback;
  std::chrono::steady_clock::time_point enqueued;
};

struct ProducerMetrics {
  prometheus::Histogram* latency = nullptr;
  prometheus::Counter* delivered = nullptr;
  prometheus::Counter* failed = nullptr;
  prometheus::Gauge* in_flight = nullptr;

  explicit ProducerMetrics(prometheus::Registry* registry) {
    if (registry == nullptr) return;
    latency = &prometheus::BuildHistogram()
                   .Name("switchyard_kafka_produce_latency_seconds")
                   .Help("Time from produce() to the broker's acknowledgement (acks=all)")
                   .Register(*registry)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005,
                                                                    0.01, 0.025, 0.05, 0.1, 0.25,
                                                                    0.5, 1, 2.5, 5, 10, 30});
    auto& results = prometheus::BuildCounter()
                        .Name("switchyard_kafka_produced_total")
                        .Help("Messages whose delivery finished, by result")
                        .Register(*registry);
    delivered = &results.Add({{"result", "ok"}});
    failed = &results.Add({{"result", "error"}});
    in_flight = &prometheus::BuildGauge()
                     .Name("switchyard_kafka_producer_queue_depth")
                     .Help("Messages queued or in flight, not yet acknowledged")
                     .Register(*registry)
                     .Add({});
  }
};

class RdProducer final : public Producer,
                         public RdKafka::DeliveryReportCb,
                         public RdKafka::EventCb {
 public:
  RdProducer(const ProducerConfig& config, prometheus::Registry* registry)
      : config_(config), metrics_(registry) {}

  Result<void> init() {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    auto set = [&](const std::string& key, const std::string& value) -> Result<void> {
      if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK) {
        return make_error(ErrorCode::kInvalidArgument, "kafka producer " + key + ": " + err);
      }
      return {};
    };
    const std::pair<std::string, std::string> settings[] = {
        {"bootstrap.servers", config_.brokers},
        {"client.id", config_.client_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", std::to_string(config_.linger.count())},
        {"message.timeout.ms", std::to_string(config_.delivery_timeout.count())},
        {"queue.buffering.max.messages", std::to_string(config_.queue_max_messages)},
        {"socket.keepalive.enable", "true"},
    };
    for (const auto& [k, v] : settings) {
      if (auto r = set(k, v); !r) return r;
    }
    for (const auto& [k, v] : config_.properties) {
      if (auto r = set(k, v); !r) return r;
    }
    if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) !=
            RdKafka::Conf::CONF_OK ||
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
      return make_error(ErrorCode::kInternal, "kafka producer callbacks: " + err);
    }
    producer_.reset(RdKafka::Producer::create(conf.get(), err));
    if (!producer_) return make_error(ErrorCode::kInvalidArgument, "kafka producer: " + err);
    poller_ = std::jthread([this](const std::stop_token& stop) {
      name_this_thread("kafka-poll");
      while (!stop.stop_requested()) {
        producer_->poll(50);
        if (metrics_.in_flight) metrics_.in_flight->Set(static_cast<double>(in_flight_.load()));
      }
    });
    return {};
  }

  ~RdProducer() override {
    if (!producer_) return;
    if (!flush(std::chrono::seconds(10))) {
      log::warn("kafka producer closing with undelivered messages; failing them",
                {{"in_flight", static_cast<std::int64_t>(in_flight_.load())}});
    }
    if (poller_.joinable()) {
      poller_.request_stop();
      poller_.join();
    }
    // Whatever is still queued gets its callback with an error: callbacks run exactly once.
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    for (int i = 0; i < 100 && in_flight_.load() > 0; ++i) producer_->poll(10);
    if (main_queue_ != nullptr) {
      rd_kafka_queue_io_event_enable(main_queue_, -1, nullptr, 0);
      rd_kafka_queue_destroy(main_queue_);
    }
    for (int fd : wake_) {
      if (fd >= 0) ::close(fd);
    }
  }

  // librdkafka writes a byte to the pipe when its main queue (delivery reports, errors) goes from
  // empty to not: the pipe is readable while reports wait.
  std::optional<int> take_deliveries() override {
    if (main_queue_ != nullptr) return std::nullopt;
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
      log::warn("kafka producer: no pipe for delivery reports; they stay on their thread",
                {{"errno", errno}});
      return std::nullopt;
    }
    wake_ = {fds[0], fds[1]};
    if (poller_.joinable()) {
      poller_.request_stop();
      poller_.join();
    }
    main_queue_ = rd_kafka_queue_get_main(producer_->c_ptr());
    rd_kafka_queue_io_event_enable(main_queue_, wake_[1], "1", 1);
    // Reports that came before the switch: served at the first call.
    const ssize_t wrote = ::write(wake_[1], "1", 1);
    (void)wrote;
    return wake_[0];
  }

  // Empties the pipe before polling: a report queued after the poll writes it again. A read
  // shorter than the buffer emptied it (one byte per wake-up): no second read to see EAGAIN.
  void serve_deliveries() override {
    char drained[64];
    while (::read(wake_[0], drained, sizeof drained) == static_cast<ssize_t>(sizeof drained)) {
    }
    producer_->poll(0);
    if (metrics_.in_flight) metrics_.in_flight->Set(static_cast<double>(in_flight_.load()));
  }

  Result<void> produce(std::string_view topic, std::string_view key, std::string_view value,
                       DeliveryCallback callback) override {
    auto pending = std::make_unique<PendingMessage>(
        PendingMessage{std::move(callback), std::chrono::steady_clock::now()});
    in_flight_.fetch_add(1);  // before produce(): dr_cb may run on the poller at once
    const RdKafka::ErrorCode code =
        producer_->produce(std::string(topic), RdKafka::Topic::PARTITION_UA,
                           RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                           value.size(), key.data(), key.size(), 0, nullptr, pending.get());
    if (code != RdKafka::ERR_NO_ERROR) {
      in_flight_.fetch_sub(1);
      if (metrics_.failed) metrics_.failed->Increment();
      return std::unexpected(to_error(code, "kafka produce to " + std::string(topic)));
    }
    [[maybe_unused]] PendingMessage* owned_by_librdkafka = pending.release();  // until dr_cb
    return {};
  }

  bool flush(std::chrono::milliseconds timeout) override {
    return producer_->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR &&
           in_flight_.load() == 0;
  }

  std::size_t in_flight() const override { return in_flight_.load(); }

  Result<void> probe(std::chrono::milliseconds timeout) override {
    RdKafka::Metadata* metadata = nullptr;  // brokers only: no topic named
    const RdKafka::ErrorCode code =
        producer_->metadata(false, nullptr, &metadata, static_cast<int>(timeout.count()));
    delete metadata;
    if (code != RdKafka::ERR_NO_ERROR) return std::unexpected(to_error(code, "kafka probe"));
    return {};
  }

  void dr_cb(RdKafka::Message& message) override {
    std::unique_ptr<PendingMessage> pending(static_cast<PendingMessage*>(message.msg_opaque()));
    if (pending) deliver(message, *pending);
    in_flight_.fetch_sub(1);  // after the callback, so flush() returns only once all ran
  }

  void deliver(RdKafka::Message& message, PendingMessage& pending) {
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      if (metrics_.failed) metrics_.failed->Increment();
      pending.callback(
          std::unexpected(to_error(message.err(), "kafka delivery to " + message.topic_name())));
      return;
    }
    if (metrics_.delivered) {
      metrics_.delivered->Increment();
      metrics_.latency->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - pending.enqueued)
              .count());
    }
    pending.callback(Delivery{message.partition(), message.offset()});
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_LOG) {
      log::debug("librdkafka", {{"facility", event.fac()}, {"detail", event.str()}});
      return;
    }
    if (event.type() != RdKafka::Event::EVENT_ERROR) return;
    // Transport errors repeat every retry; log each distinct error once per 10 s.
    const auto now = std::chrono::steady_clock::now();
    if (event.err() == last_error_ && now - last_error_at_ < std::chrono::seconds(10)) return;
    last_error_ = event.err();
    last_error_at_ = now;
    log::warn("kafka producer error", {{"error", RdKafka::err2str(event.err())},
                                       {"detail", event.str()},
                                       {"fatal", event.fatal()}});
  }

 private:
  ProducerConfig config_;
  ProducerMetrics metrics_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<std::size_t> in_flight_{0};
  std::jthread poller_;                     // until take_deliveries()
  rd_kafka_queue_t* main_queue_ = nullptr;  // after take_deliveries()
  std::array<int, 2> wake_{-1, -1};         // its pipe: read end, write end
  RdKafka::ErrorCode last_error_ = RdKafka::ERR_NO_ERROR;
  std::chrono::steady_clock::time_point last_error_at_{};
};

}  // namespace

Result<std::unique_ptr<Producer>> Producer::create(const ProducerConfig& config,
                                                   prometheus::Registry* metrics) {
  auto producer = std::make_unique<RdProducer>(config, metrics);
  if (auto r = producer->init(); !r) return std::unexpected(r.error());
  return std::unique_ptr<Producer>(std::move(producer));
}

}  // namespace switchyard::kafka
