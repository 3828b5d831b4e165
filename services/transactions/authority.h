// TokenAuthority over the Authorization gRPC service (a remote pod, or in-process in standalone).
#pragma once

#include <chrono>
#include <memory>

#include "switchyard/v1/authorization.grpc.pb.h"
#include "transactions/decider.h"

namespace switchyard::transactions {

// UNAVAILABLE / DEADLINE_EXCEEDED from the service come back as errors with its message.
TokenAuthority grpc_token_authority(std::shared_ptr<v1::Authorization::StubInterface> stub,
                                    std::chrono::milliseconds deadline = std::chrono::seconds(3));

}  // namespace switchyard::transactions
