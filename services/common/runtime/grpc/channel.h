// The channel one service uses to call another inside the cluster.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

namespace switchyard {

// An insecure channel to `target` (host:port) that reconnects fast: a restarted pod (a rolling
// update, a crash) is retried every 100 ms to 1 s, not on gRPC's default backoff that grows to
// 2 min. Callers that can wait for it mark a call wait_for_ready, bounded by its deadline, so a
// restart shorter than the deadline is not an error.
std::shared_ptr<grpc::Channel> service_channel(const std::string& target);

}  // namespace switchyard
