// The settings table of a binary: every setting is a flag `--name` and an environment variable
// `SWITCHYARD_NAME`, listed by --help with its default. The flag wins over the variable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchyard {

class Settings {
 public:
  Settings(std::string program, std::string description);
  ~Settings();
  Settings(const Settings&) = delete;
  Settings& operator=(const Settings&) = delete;

  // Each add() binds a setting to a variable that already holds its default. `name` is the flag
  // without dashes ("kafka-brokers"); the environment variable is derived from it
  // ("SWITCHYARD_KAFKA_BROKERS").
  Settings& add(const std::string& name, std::string& target, const std::string& help);
  Settings& add(const std::string& name, int& target, const std::string& help);
  Settings& add(const std::string& name, std::int64_t& target, const std::string& help);
  Settings& add(const std::string& name, double& target, const std::string& help);
  Settings& add(const std::string& name, bool& target, const std::string& help);
  Settings& add(const std::string& name, std::chrono::milliseconds& target,
                const std::string& help);
  Settings& add(const std::string& name, std::vector<std::string>& target, const std::string& help);
  // A secret: read from the variable or flag, or from the file named by `--<name>-file`
  // (e.g. a mounted Kubernetes Secret). Never printed by --help.
  Settings& add_secret(const std::string& name, std::string& target, const std::string& help);

  // Parses flags and environment. Returns an exit code when the program should stop now
  // (0 after --help, 2 after a bad flag, with the reason on stderr); nullopt to go on.
  std::optional<int> parse(int argc, const char* const* argv);

  // "kafka-brokers" -> "SWITCHYARD_KAFKA_BROKERS".
  static std::string env_name(const std::string& name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchyard
