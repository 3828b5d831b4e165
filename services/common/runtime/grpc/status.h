// Translation between switchyard::Error and gRPC status, at the gRPC edge of every service.
#pragma once

#include <grpcpp/support/status.h>

#include "common/runtime/core/error.h"

namespace switchyard {

grpc::Status to_grpc_status(const Error& error);
ErrorCode from_grpc_code(grpc::StatusCode code);

}  // namespace switchyard
