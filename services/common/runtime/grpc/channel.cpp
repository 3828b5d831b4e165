// Channels between services (see channel.h).
#include "common/runtime/grpc/channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

namespace switchyard {

std::shared_ptr<grpc::Channel> service_channel(const std::string& target) {
  grpc::ChannelArguments args;
  // Only the back-off between attempts: GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is the time an
  // attempt may take (20 s by default) and stays, so a slow peer is not given up on.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace switchyard
