// The error value every fallible runtime and service call returns (std::expected<T, Error>).
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace switchyard {

// Mirrors the gRPC status codes so each edge translates once (gRPC Status, HTTP status,
// OCPP CALLERROR) without guessing.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kPermissionDenied,
  kUnauthenticated,
  kResourceExhausted,
  kDeadlineExceeded,
  kUnavailable,
  kAborted,
  kUnimplemented,
  kInternal,
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> make_error(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace switchyard
