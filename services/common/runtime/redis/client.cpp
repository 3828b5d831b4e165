// The hiredis pipelining client and the Lua script helper.
#include "common/runtime/redis/client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "common/runtime/core/log.h"

namespace switchyard::redis {
namespace {

struct ClientMetrics {
  prometheus::Histogram* round_trip = nullptr;
  prometheus::Counter* commands = nullptr;
  prometheus::Counter* failures = nullptr;

  explicit ClientMetrics(prometheus::Registry* registry) {
    if (registry == nullptr) return;
    round_trip = &prometheus::BuildHistogram()
                      .Name("switchyard_redis_round_trip_seconds")
                      .Help("Time of one pipelined round trip to Redis")
                      .Register(*registry)
                      .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005,
                                                                       0.001, 0.002, 0.005, 0.01,
                                                                       0.025, 0.05, 0.1, 0.25, 1});
    commands = &prometheus::BuildCounter()
                    .Name("switchyard_redis_commands_total")
                    .Help("Commands sent to Redis")
                    .Register(*registry)
                    .Add({});
    failures = &prometheus::BuildCounter()
                    .Name("switchyard_redis_failures_total")
                    .Help("Commands failed because Redis was unreachable or timed out")
                    .Register(*registry)
                    .Add({});
  }
};

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_NIL:
      out.type = Reply::Type::kNil;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

class PipeliningClient final : public Client {
 public:
  PipeliningClient(const Config& config, prometheus::Registry* registry)
      : config_(config), metrics_(registry), thread_([this] { loop(); }) {}

  ~PipeliningClient() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void execute(Command command, ReplyCallback callback) override {
    std::vector<Command> commands;
    commands.push_back(std::move(command));
    execute_batch(std::move(commands),
                  [cb = std::move(callback)](Result<std::vector<Reply>> replies) mutable {
                    if (!replies) return cb(std::unexpected(replies.error()));
                    Reply& reply = replies->front();
                    if (reply.is_error()) {
                      return cb(make_error(ErrorCode::kFailedPrecondition, "redis: " + reply.str));
                    }
                    cb(std::move(reply));
                  });
  }

  void execute_batch(std::vector<Command> commands, BatchCallback callback) override {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back(Item{std::move(commands), std::move(callback)});
        cv_.notify_one();
        return;
      }
    }
    callback(make_error(ErrorCode::kUnavailable, "redis client is shutting down"));
  }

  bool connected() const override { return connected_.load(); }

 private:
  struct Item {
    std::vector<Command> commands;
    BatchCallback callback;
  };

  void loop() {
    std::deque<Item> batch;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) break;
        batch.swap(queue_);
      }
      round_trip(batch);
      batch.clear();
    }
    ctx_.reset();
  }

  void fail(std::deque<Item>& batch, size_t from, const std::string& why) {
    for (size_t i = from; i < batch.size(); ++i) {
      if (metrics_.failures)
        metrics_.failures->Increment(static_cast<double>(batch[i].commands.size()));
      batch[i].callback(make_error(ErrorCode::kUnavailable, why));
    }
  }

  bool ensure_connected(std::string& why) {
    if (ctx_) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_attempt_ < config_.reconnect_interval) {
      why = last_error_;
      return false;
    }
    last_attempt_ = now;
    const timeval tv = to_timeval(config_.connect_timeout);
    Context ctx(redisConnectWithTimeout(config_.host.c_str(), config_.port, tv), &redisFree);
    if (!ctx || ctx->err) {
      last_error_ = "redis at " + config_.host + ":" + std::to_string(config_.port) +
                    " unreachable: " + (ctx ? ctx->errstr : "out of memory");
      why = last_error_;
      if (was_connected_) log::warn("redis connection lost", {{"error", last_error_}});
      was_connected_ = false;
      return false;
    }
    const timeval io = to_timeval(config_.command_timeout);
    redisSetTimeout(ctx.get(), io);
    if (!config_.password.empty() || config_.database != 0) {
      if (!config_.password.empty() && !simple(ctx.get(), {"AUTH", config_.password}, why))
        return false;
      if (config_.database != 0 &&
          !simple(ctx.get(), {"SELECT", std::to_string(config_.database)}, why))
        return false;
    }
    ctx_ = std::move(ctx);
    connected_ = true;
    if (!was_connected_) {
      log::info("redis connected",
                {{"address", config_.host + ":" + std::to_string(config_.port)}});
    }
    was_connected_ = true;
    return true;
  }

  bool simple(redisContext* ctx, const std::vector<std::string>& argv, std::string& why) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      last_error_ = "redis " + argv[0] + " failed: " + (reply ? reply->str : ctx->errstr);
      why = last_error_;
      if (reply) freeReplyObject(reply);
      return false;
    }
    freeReplyObject(reply);
    return true;
  }

  void disconnect(const std::string& why) {
    log::warn("redis connection lost", {{"error", why}});
    ctx_.reset();
    connected_ = false;
    was_connected_ = false;
    last_error_ = why;
  }

  void round_trip(std::deque<Item>& batch) {
    std::string why;
    if (!ensure_connected(why)) {
      connected_ = false;
      fail(batch, 0, why);
      return;
    }
    const auto started = std::chrono::steady_clock::now();
    size_t total = 0;
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const Item& item : batch) {
      for (const Command& cmd : item.commands) {
        ptrs.clear();
        lens.clear();
        for (const auto& arg : cmd) {
          ptrs.push_back(arg.data());
          lens.push_back(arg.size());
        }
        redisAppendCommandArgv(ctx_.get(), static_cast<int>(cmd.size()), ptrs.data(), lens.data());
        ++total;
      }
    }
    if (metrics_.commands) metrics_.commands->Increment(static_cast<double>(total));
    for (size_t i = 0; i < batch.size(); ++i) {
      std::vector<Reply> replies;
      replies.reserve(batch[i].commands.size());
      for (size_t c = 0; c < batch[i].commands.size(); ++c) {
        void* raw = nullptr;
        if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
          const std::string error = std::string("redis I/O error: ") + ctx_->errstr;
          disconnect(error);
          fail(batch, i, error);
          return;
        }
        auto* reply = static_cast<redisReply*>(raw);
        replies.push_back(convert(reply));
        freeReplyObject(reply);
      }
      batch[i].callback(std::move(replies));
    }
    if (metrics_.round_trip) {
      metrics_.round_trip->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }

  using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;

  Config config_;
  ClientMetrics metrics_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::atomic<bool> connected_{false};
  // I/O thread only:
  Context ctx_{nullptr, &redisFree};
  std::chrono::steady_clock::time_point last_attempt_{};
  std::string last_error_;
  bool was_connected_ = false;
  std::jthread thread_;  // last: starts after every member above is constructed
};

}  // namespace

std::unique_ptr<Client> Client::create(const Config& config, prometheus::Registry* metrics) {
  return std::make_unique<PipeliningClient>(config, metrics);
}

Result<Reply> Client::execute_sync(Command command) {
  std::promise<Result<Reply>> promise;
  auto future = promise.get_future();
  execute(std::move(command), [&promise](Result<Reply> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Result<std::vector<Reply>> Client::execute_batch_sync(std::vector<Command> commands) {
  std::promise<Result<std::vector<Reply>>> promise;
  auto future = promise.get_future();
  execute_batch(std::move(commands),
                [&promise](Result<std::vector<Reply>> r) { promise.set_value(std::move(r)); });
  return future.get();
}

const std::string& Script::sha1() const {
  std::call_once(sha1_once_, [this] {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(lua_.data()), lua_.size(), digest);
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char b : digest) {
      sha1_.push_back(kHex[b >> 4]);
      sha1_.push_back(kHex[b & 0xf]);
    }
  });
  return sha1_;
}

Command Script::build(const char* verb, const std::string& body,
                      const std::vector<std::string>& keys,
                      const std::vector<std::string>& args) const {
  Command cmd;
  cmd.reserve(3 + keys.size() + args.size());
  cmd.emplace_back(verb);
  cmd.push_back(body);
  cmd.push_back(std::to_string(keys.size()));
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

void Script::call(Client& client, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args, ReplyCallback callback) const {
  Command eval = build("EVAL", lua_, keys, args);
  client.execute(
      build("EVALSHA", sha1(), keys, args),
      [&client, eval = std::move(eval), cb = std::move(callback)](Result<Reply> reply) mutable {
        if (!reply && reply.error().message.find("NOSCRIPT") != std::string::npos) {
          client.execute(std::move(eval), std::move(cb));
          return;
        }
        cb(std::move(reply));
      });
}

Result<Reply> Script::call_sync(Client& client, const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) const {
  std::promise<Result<Reply>> promise;
  auto future = promise.get_future();
  call(client, keys, args, [&promise](Result<Reply> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace switchyard::redis
