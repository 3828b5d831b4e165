// Maps librdkafka error codes to switchyard error codes (private to the kafka adapter).
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <string>

#include "common/runtime/core/error.h"

namespace switchyard::kafka::detail {

inline ErrorCode map_error(RdKafka::ErrorCode code) {
  switch (code) {
    case RdKafka::ERR__MSG_TIMED_OUT:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
      return ErrorCode::kDeadlineExceeded;
    case RdKafka::ERR__QUEUE_FULL:
      return ErrorCode::kResourceExhausted;
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS:
    case RdKafka::ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_LEADER_FOR_PARTITION:
      return ErrorCode::kUnavailable;
    case RdKafka::ERR__UNKNOWN_TOPIC:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
    case RdKafka::ERR__UNKNOWN_PARTITION:
      return ErrorCode::kNotFound;
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
    case RdKafka::ERR__INVALID_ARG:
      return ErrorCode::kInvalidArgument;
    case RdKafka::ERR__PURGE_QUEUE:
    case RdKafka::ERR__PURGE_INFLIGHT:
      return ErrorCode::kAborted;
    default:
      return ErrorCode::kInternal;
  }
}

inline Error to_error(RdKafka::ErrorCode code, const std::string& context) {
  return Error{map_error(code), context + ": " + RdKafka::err2str(code)};
}

}  // namespace switchyard::kafka::detail
