// JSON log lines on spdlog: spdlog adds the timestamp and level, we add the structured body.
#include "common/runtime/core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <cmath>

namespace switchyard::log {
namespace {

struct LoggerState {
  LoggerState()
      : logger(std::make_shared<spdlog::logger>(
            "switchyard", std::make_shared<spdlog::sinks::stderr_sink_mt>())) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::debug);
    logger->flush_on(spdlog::level::debug);
  }
  std::shared_ptr<spdlog::logger> logger;
  std::string prefix;  // "\"service\":\"x\",\"pod\":\"y\","
  std::atomic<int> level{static_cast<int>(Level::kInfo)};
};

LoggerState& state() {
  static LoggerState s;
  return s;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

void append_value(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kString:
      out.push_back('"');
      append_json_escaped(out, v.str());
      out.push_back('"');
      return;
    case Value::Kind::kBool:
      out += v.integer() ? "true" : "false";
      return;
    case Value::Kind::kInt: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.integer());
      out.append(buf, end);
      return;
    }
    case Value::Kind::kDouble: {
      if (!std::isfinite(v.dbl())) {
        out += "null";
        return;
      }
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.dbl());
      out.append(buf, end);
      return;
    }
  }
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
}

void init(std::string_view service, std::string_view pod, Level level) {
  auto& s = state();
  std::string prefix = "\"service\":\"";
  append_json_escaped(prefix, service);
  prefix += "\"";
  if (!pod.empty()) {
    prefix += ",\"pod\":\"";
    append_json_escaped(prefix, pod);
    prefix += "\"";
  }
  prefix += ",";
  s.prefix = std::move(prefix);
  s.level.store(static_cast<int>(level));
}

Level parse_level(std::string_view text) {
  if (text == "debug") return Level::kDebug;
  if (text == "warn" || text == "warning") return Level::kWarn;
  if (text == "error") return Level::kError;
  return Level::kInfo;
}

bool enabled(Level level) { return static_cast<int>(level) >= state().level.load(); }

void write(Level level, std::string_view msg, Fields fields) {
  if (!enabled(level)) return;
  auto& s = state();
  thread_local std::string line;
  line.clear();
  line += s.prefix;
  line += "\"msg\":\"";
  append_json_escaped(line, msg);
  line.push_back('"');
  for (const Field& f : fields) {
    line += ",\"";
    append_json_escaped(line, f.key);
    line += "\":";
    append_value(line, f.value);
  }
  s.logger->log(to_spdlog(level), std::string_view(line));
}

std::string redact(std::string_view secret) {
  std::string out(secret.substr(0, 4));
  out += "…(";
  out += std::to_string(secret.size());
  out += ")";
  return out;
}

}  // namespace switchyard::log
