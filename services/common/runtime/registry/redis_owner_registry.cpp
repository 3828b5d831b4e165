// Redis owner registry: claim, refresh, release and lookup scripts.
#include "common/runtime/registry/redis_owner_registry.h"

#include <charconv>

namespace switchyard::registry {
namespace {

// A new epoch above every earlier one: the per-charger counter, lifted to the server clock in
// microseconds so epochs keep growing even if Redis lost the counter (restart without
// persistence). Returns {epoch, previous value or false}.
const redis::Script kClaim(R"lua(
local t = redis.call('TIME')
local floor = tonumber(t[1]) * 1000000 + tonumber(t[2])
local epoch = redis.call('INCR', KEYS[2])
if epoch < floor then
  epoch = floor
  redis.call('SET', KEYS[2], string.format('%d', epoch))
end
local previous = redis.call('GET', KEYS[1])
-- %d: Lua's default number format would write 1.796e+15.
redis.call('SET', KEYS[1], string.format('%d', epoch) .. '|' .. ARGV[1], 'PX', ARGV[2])
return {epoch, previous}
)lua");

// 1 when the claim is still ours (TTL extended) or was gone and is taken back; 0 when another
// epoch holds the charger.
const redis::Script kRefresh(R"lua(
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
)lua");

// Compare-and-delete on the epoch.
const redis::Script kRelease(R"lua(
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua");

}  // namespace

std::optional<Owner> parse_owner(std::string_view value) {
  const std::size_t a = value.find('|');
  const std::size_t b = a == std::string_view::npos ? a : value.find('|', a + 1);
  const std::size_t c = b == std::string_view::npos ? b : value.find('|', b + 1);
  if (c == std::string_view::npos) return std::nullopt;
  Owner o;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + a, o.epoch);
  if (ec != std::errc() || end != value.data() + a) return std::nullopt;
  o.pod = std::string(value.substr(a + 1, b - a - 1));
  o.address = std::string(value.substr(b + 1, c - b - 1));
  o.protocol = std::string(value.substr(c + 1));
  return o;
}

std::string format_owner(const Owner& o) {
  return std::to_string(o.epoch) + "|" + o.pod + "|" + o.address + "|" + o.protocol;
}

RedisOwnerRegistry::RedisOwnerRegistry(redis::Client& client, std::string key_prefix,
                                       std::chrono::milliseconds ttl)
    : client_(client), prefix_(std::move(key_prefix)), ttl_ms_(std::to_string(ttl.count())) {}

// {id} is a hash tag: a charger's two keys share a Redis Cluster slot, as scripts require.
std::string RedisOwnerRegistry::owner_key(const std::string& charger_id) const {
  return prefix_ + "owner:{" + charger_id + "}";
}
std::string RedisOwnerRegistry::epoch_key(const std::string& charger_id) const {
  return prefix_ + "epoch:{" + charger_id + "}";
}

void RedisOwnerRegistry::claim(const std::string& charger_id, const Owner& self,
                               std::move_only_function<void(Result<Claim>)> done) {
  // The script prepends the new epoch to "pod|address|protocol".
  const std::string rest = self.pod + "|" + self.address + "|" + self.protocol;
  kClaim.call(client_, {owner_key(charger_id), epoch_key(charger_id)}, {rest, ttl_ms_},
              [done = std::move(done)](Result<redis::Reply> r) mutable {
                if (!r) return done(std::unexpected(r.error()));
                if (r->type != redis::Reply::Type::kArray || r->elements.size() != 2) {
                  return done(make_error(ErrorCode::kInternal, "owner claim: unexpected reply"));
                }
                Claim c;
                c.epoch = r->elements[0].integer;
                if (r->elements[1].type == redis::Reply::Type::kString) {
                  c.previous = parse_owner(r->elements[1].str);
                }
                done(std::move(c));
              });
}

void RedisOwnerRegistry::refresh(std::vector<ClaimRef> claims,
                                 std::move_only_function<void(Result<std::vector<bool>>)> done) {
  if (claims.empty()) return done(std::vector<bool>{});
  std::vector<redis::Command> commands;
  commands.reserve(claims.size());
  for (const ClaimRef& c : claims) {
    commands.push_back(
        {"EVALSHA", kRefresh.sha1(), "1", owner_key(c.charger_id), format_owner(c.owner), ttl_ms_});
  }
  client_.execute_batch(
      std::move(commands), [this, claims = std::move(claims), done = std::move(done)](
                               Result<std::vector<redis::Reply>> replies) mutable {
        if (!replies) return done(std::unexpected(replies.error()));
        // The server forgot the script (restart): load it once and try again.
        for (const auto& r : *replies) {
          if (r.is_error() && r.str.starts_with("NOSCRIPT")) {
            client_.execute({"SCRIPT", "LOAD", kRefresh.source()},
                            [this, claims = std::move(claims),
                             done = std::move(done)](Result<redis::Reply> loaded) mutable {
                              if (!loaded) return done(std::unexpected(loaded.error()));
                              refresh(std::move(claims), std::move(done));
                            });
            return;
          }
        }
        std::vector<bool> still_ours;
        still_ours.reserve(replies->size());
        for (const auto& r : *replies) {
          if (r.is_error()) {
            return done(make_error(ErrorCode::kUnavailable, "owner refresh: " + r.str));
          }
          still_ours.push_back(r.integer == 1);
        }
        done(std::move(still_ours));
      });
}

void RedisOwnerRegistry::release(const std::string& charger_id, std::int64_t epoch,
                                 std::move_only_function<void(Result<bool>)> done) {
  kRelease.call(client_, {owner_key(charger_id)}, {std::to_string(epoch)},
                [done = std::move(done)](Result<redis::Reply> r) mutable {
                  if (!r) return done(std::unexpected(r.error()));
                  done(r->integer == 1);
                });
}

void RedisOwnerRegistry::lookup(const std::string& charger_id,
                                std::move_only_function<void(Result<std::optional<Owner>>)> done) {
  client_.execute({"GET", owner_key(charger_id)},
                  [done = std::move(done)](Result<redis::Reply> r) mutable {
                    if (!r) return done(std::unexpected(r.error()));
                    if (r->is_nil()) return done(std::optional<Owner>{});
                    done(parse_owner(r->str));
                  });
}

}  // namespace switchyard::registry
