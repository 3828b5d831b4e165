// Redis client on hiredis: commands from any thread are queued and sent by one I/O thread,
// which pipelines everything queued since its last round trip; reconnects on failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/runtime/core/error.h"

namespace prometheus {
class Registry;
}

namespace switchyard::redis {

struct Config {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // empty: no AUTH
  int database = 0;
  std::chrono::milliseconds connect_timeout{1000};
  // Read/write timeout of one pipelined round trip.
  std::chrono::milliseconds command_timeout{2000};
  // While the server is unreachable, commands fail at once; a new connection is tried at most
  // this often.
  std::chrono::milliseconds reconnect_interval{200};
};

struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray, kError };
  Type type = Type::kNil;
  std::int64_t integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

using Command = std::vector<std::string>;
// A transport failure is UNAVAILABLE; a server error reply (e.g. WRONGTYPE) is
// FAILED_PRECONDITION carrying the server's text.
using ReplyCallback = std::move_only_function<void(Result<Reply>)>;
// All replies in command order (server errors stay per element), or a transport failure.
using BatchCallback = std::move_only_function<void(Result<std::vector<Reply>>)>;

class Client {
 public:
  static std::unique_ptr<Client> create(const Config& config, prometheus::Registry* metrics);
  virtual ~Client() = default;

  // Callbacks run on the client's I/O thread and must not block.
  virtual void execute(Command command, ReplyCallback callback) = 0;
  virtual void execute_batch(std::vector<Command> commands, BatchCallback callback) = 0;

  // Blocking forms, for start-up, tools and tests.
  Result<Reply> execute_sync(Command command);
  Result<std::vector<Reply>> execute_batch_sync(std::vector<Command> commands);

  virtual bool connected() const = 0;
};

// A Lua script called with EVALSHA, falling back to EVAL once when the server does not know it
// (NOSCRIPT after a restart or failover). Scripts are constants of namespace scope: the SHA-1 is
// taken at first use, never during static initialization (OpenSSL must not allocate before main
// chooses its allocator, see small_objects.h).
class Script {
 public:
  explicit Script(std::string lua) : lua_(std::move(lua)) {}
  const std::string& sha1() const;
  const std::string& source() const { return lua_; }
  void call(Client& client, const std::vector<std::string>& keys,
            const std::vector<std::string>& args, ReplyCallback callback) const;
  Result<Reply> call_sync(Client& client, const std::vector<std::string>& keys,
                          const std::vector<std::string>& args) const;

 private:
  Command build(const char* verb, const std::string& body, const std::vector<std::string>& keys,
                const std::vector<std::string>& args) const;
  std::string lua_;
  mutable std::once_flag sha1_once_;
  mutable std::string sha1_;
};

}  // namespace switchyard::redis
