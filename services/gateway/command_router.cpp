// Command routing by owner and epoch.
#include "gateway/command_router.h"

#include "common/runtime/core/log.h"
#include "switchyard/v1/gateway_internal.pb.h"

namespace switchyard::gateway {

CommandRouter::CommandRouter(std::string pod_id, SessionRegistry& sessions,
                             registry::OwnerRegistry& owners, PeerGateway& peers,
                             std::chrono::milliseconds call_timeout, OutsideCalls& calls)
    : pod_id_(std::move(pod_id)),
      sessions_(sessions),
      owners_(owners),
      peers_(peers),
      call_timeout_(call_timeout),
      calls_(calls) {}

void CommandRouter::locate(const std::string& charger_id,
                           std::move_only_function<void(Result<registry::Owner>)> done) {
  // `done` may go on to deliver_local() on the registry's thread, holding a session meanwhile.
  owners_.lookup(charger_id, [call = calls_.enter(), charger_id, done = std::move(done)](
                                 Result<std::optional<registry::Owner>> owner) mutable {
    if (!owner) {
      return done(
          make_error(ErrorCode::kUnavailable, "owner registry unreachable, cannot route to " +
                                                  charger_id + ": " + owner.error().message));
    }
    if (!owner->has_value()) {
      return done(make_error(ErrorCode::kUnavailable, "charger " + charger_id + " is offline"));
    }
    done(std::move(**owner));
  });
}

void CommandRouter::send(const std::string& charger_id, const registry::Owner& owner,
                         std::string action, std::string payload_json, CommandCallback done) {
  if (holds(owner)) {
    return deliver_local(charger_id, owner.epoch, std::move(action), std::move(payload_json),
                         std::move(done));
  }
  v1::DeliverRequest request;
  request.set_charger_id(charger_id);
  request.set_epoch(owner.epoch);
  request.set_action(action);
  request.set_payload_json(std::move(payload_json));
  request.set_origin_pod(pod_id_);
  // The owner answers within its call timeout; allow for the hop.
  peers_.deliver(owner.address, request, call_timeout_ + std::chrono::seconds(2),
                 [action, done = std::move(done)](Result<v1::DeliverResponse> r) mutable {
                   if (!r) return done(std::unexpected(r.error()));
                   CommandReply reply;
                   reply.action = action;
                   reply.version = static_cast<ocpp::Version>(r->ocpp_version());
                   reply.payload_json = r->payload_json();
                   reply.error_code = r->error_code();
                   reply.error_description = r->error_description();
                   done(std::move(reply));
                 });
}

void CommandRouter::deliver_local(const std::string& charger_id, std::int64_t epoch,
                                  std::string action, std::string payload_json,
                                  CommandCallback done) {
  auto session = sessions_.find(charger_id);
  if (!session) {
    return done(make_error(ErrorCode::kUnavailable,
                           "charger " + charger_id + " is not connected to pod " + pod_id_));
  }
  if (session->epoch() == epoch) {
    return session->send_command(std::move(action), std::move(payload_json), std::move(done));
  }
  std::weak_ptr<Session> weak = session;
  session->after_claim([weak, id = charger_id, epoch, pod = pod_id_, action = std::move(action),
                        payload = std::move(payload_json), done = std::move(done)]() mutable {
    auto connection = weak.lock();
    const auto held = connection ? connection->epoch() : 0;
    if (held == epoch) {
      return connection->send_command(std::move(action), std::move(payload), std::move(done));
    }
    if (held == 0) {
      return done(make_error(ErrorCode::kUnavailable,
                             "charger " + id + " is connected to pod " + pod +
                                 " without an ownership claim (its claim failed or the "
                                 "connection closed); the command was routed with epoch " +
                                 std::to_string(epoch)));
    }
    log::warn("command refused: stale epoch",
              {{"charger_id", id}, {"routed_epoch", epoch}, {"connection_epoch", held}});
    done(make_error(ErrorCode::kFailedPrecondition,
                    "stale routing: the command was routed with epoch " + std::to_string(epoch) +
                        ", the connection on " + pod + " holds epoch " + std::to_string(held)));
  });
}

bool CommandRouter::evict(const std::string& charger_id, std::int64_t epoch) {
  auto session = sessions_.find(charger_id);
  if (!session || session->epoch() >= epoch) return false;
  log::info("charger taken over by another pod",
            {{"charger_id", charger_id}, {"new_epoch", epoch}});
  session->close(SessionCloseReason::kTakenOver);
  return true;
}

}  // namespace switchyard::gateway
