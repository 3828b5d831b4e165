// The record of what the CSMS answered the simulated chargers (--answers-log FILE): one line per
// CALLRESULT or CALLERROR, and per CALL still unanswered when its connection closed, so a fault
// test can compare what every charger saw acknowledged with what reached Kafka and the CDRs.
// Line format (space separated):
//
//   <unix ms> <charger id> <message id> <action> <R|E|U> [<transaction id> <energy Wh>]
//
// R = CALLRESULT, E = CALLERROR, U = unanswered when the connection closed. The last two fields
// only on the CALLRESULT that ends a session whose start was acknowledged too (1.6
// StopTransaction, 2.0.1 TransactionEvent Ended): the transaction id the charger used and the
// energy it metered between start and end. Thread-safe: each line is one fwrite, which stdio locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/runtime/core/error.h"

namespace switchyard::loadgen {

enum class Answer : char { kResult = 'R', kError = 'E', kUnansweredAtClose = 'U' };

struct SessionEnd {
  std::string_view transaction_id;
  std::int64_t energy_wh = 0;
};

class AnswerLog {
 public:
  // Creates (truncates) the file.
  static Result<std::unique_ptr<AnswerLog>> open(const std::string& path);
  ~AnswerLog();
  AnswerLog(const AnswerLog&) = delete;
  AnswerLog& operator=(const AnswerLog&) = delete;

  void record(std::string_view charger_id, std::string_view message_id, std::string_view action,
              Answer answer, const std::optional<SessionEnd>& session_end = std::nullopt);
  // Flushes and closes the file; an error if any line could not be written (a full disk): the
  // log is then incomplete and must not be trusted.
  Result<void> close();

 private:
  explicit AnswerLog(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
  std::atomic<bool> failed_{false};
};

}  // namespace switchyard::loadgen
