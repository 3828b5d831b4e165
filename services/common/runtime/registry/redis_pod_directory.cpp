// Redis pod directory: the announce script.
#include "common/runtime/registry/redis_pod_directory.h"

namespace switchyard::registry {
namespace {

// ARGV: "pod|address", alive_for in ms. Scores are the server's clock, so the pods' clocks
// need not agree. Returns the members announced within alive_for.
const redis::Script kAnnounce(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local alive_for = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 10 * alive_for)
return redis.call('ZRANGEBYSCORE', KEYS[1], now - alive_for, '+inf')
)lua");

}  // namespace

RedisPodDirectory::RedisPodDirectory(redis::Client& client, std::string key_prefix)
    : client_(client), key_(std::move(key_prefix) + "pods") {}

void RedisPodDirectory::announce(const Pod& self, std::chrono::milliseconds alive_for,
                                 std::move_only_function<void(Result<std::vector<Pod>>)> done) {
  kAnnounce.call(
      client_, {key_}, {self.id + "|" + self.address, std::to_string(alive_for.count())},
      [done = std::move(done)](Result<redis::Reply> r) mutable {
        if (!r) return done(std::unexpected(r.error()));
        if (r->type != redis::Reply::Type::kArray) {
          return done(make_error(ErrorCode::kInternal, "pod directory: unexpected reply"));
        }
        std::vector<Pod> pods;
        for (const redis::Reply& member : r->elements) {
          const std::size_t bar = member.str.find('|');
          if (bar == std::string::npos) continue;  // not written by us
          pods.push_back({member.str.substr(0, bar), member.str.substr(bar + 1)});
        }
        done(std::move(pods));
      });
}

}  // namespace switchyard::registry
