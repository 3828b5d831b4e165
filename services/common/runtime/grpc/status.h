// Translation between switchyard::Error and gRPC status, at the gRPC edge of every service.
#pragma once

#include <grpcpp/support/status.h>

#include <string_view>

#include "common/runtime/core/error.h"

namespace switchyard {

grpc::Status to_grpc_status(const Error& error);
ErrorCode from_grpc_code(grpc::StatusCode code);
// "DEADLINE_EXCEEDED"; "UNKNOWN" for a number gRPC does not define.
std::string_view grpc_code_name(grpc::StatusCode code);

}  // namespace switchyard
