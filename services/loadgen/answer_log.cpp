#include "loadgen/answer_log.h"

#include <cerrno>
#include <cstring>

#include "common/runtime/core/clock.h"

namespace switchyard::loadgen {

Result<std::unique_ptr<AnswerLog>> AnswerLog::open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--answers-log " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<AnswerLog>(new AnswerLog(file, path));
}

AnswerLog::~AnswerLog() { (void)close(); }

Result<void> AnswerLog::close() {
  if (file_ == nullptr) return {};
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!closed || failed_.load()) {
    return make_error(ErrorCode::kInternal,
                      "--answers-log " + path_ + ": lines could not be written; it is incomplete");
  }
  return {};
}

void AnswerLog::record(std::string_view charger_id, std::string_view message_id,
                       std::string_view action, Answer answer,
                       const std::optional<SessionEnd>& session_end) {
  thread_local std::string line;
  line.clear();
  line += std::to_string(unix_ms(std::chrono::system_clock::now()));
  line += ' ';
  line += charger_id;
  line += ' ';
  line += message_id;
  line += ' ';
  line += action;
  line += ' ';
  line += static_cast<char>(answer);
  if (session_end) {
    line += ' ';
    line += session_end->transaction_id;
    line += ' ';
    line += std::to_string(session_end->energy_wh);
  }
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) failed_.store(true);
}

}  // namespace switchyard::loadgen
