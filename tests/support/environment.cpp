// Environment helpers for integration tests.
#include "support/environment.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace switchyard::testing {
namespace {
std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}
}  // namespace

std::optional<std::string> kafka_brokers() { return env("SWITCHYARD_KAFKA_BROKERS"); }
std::optional<std::string> redis_address() { return env("SWITCHYARD_REDIS_ADDRESS"); }
std::optional<std::string> postgres_url() { return env("SWITCHYARD_POSTGRES_URL"); }
std::optional<std::string> local_dir() { return env("SWITCHYARD_LOCAL_DIR"); }

bool in_ci() {
  auto ci = env("CI");
  return ci && (*ci == "true" || *ci == "1");
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  auto clean = [](std::string_view raw) {
    std::string out;
    for (char c : raw) {
      const auto u = static_cast<unsigned char>(c);
      out.push_back(std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_');
    }
    return out;
  };
  // The unique suffix always survives; the test name is shortened to fit PostgreSQL's 63-byte
  // identifier limit.
  const std::string suffix = "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  std::string middle;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    middle = "_" + clean(info->test_suite_name()).substr(0, 16) + "_" + clean(info->name());
  }
  std::string head = clean(prefix) + middle;
  head.resize(std::min<size_t>(head.size(), 63 - suffix.size()));
  return head + suffix;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string run_command(const std::string& command, int* exit_code) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    if (exit_code) *exit_code = -1;
    return out;
  }
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

namespace detail {
void report_missing(const char* what) {
  std::cerr << "\n*** " << what
            << " is not running: " << (in_ci() ? "FAILING (CI=true)" : "SKIPPING this test")
            << " ***\n"
            << "*** start it with deploy/local/up and eval \"$(deploy/local/env)\" ***\n\n";
}
}  // namespace detail

}  // namespace switchyard::testing
