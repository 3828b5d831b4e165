// Settings on CLI11: flags with environment fallbacks and secrets from files.
#include "common/runtime/core/settings.h"

#include <CLI/CLI.hpp>

#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>

namespace switchyard {

struct Settings::Impl {
  CLI::App app;
  struct Secret {
    std::string* target;
    std::string file;
    std::string name;
  };
  std::vector<std::unique_ptr<Secret>> secrets;
  std::vector<std::pair<std::chrono::milliseconds*, std::unique_ptr<std::int64_t>>> durations;
  Impl(std::string description, std::string program)
      : app(std::move(description), std::move(program)) {}
};

Settings::Settings(std::string program, std::string description)
    : impl_(std::make_unique<Impl>(std::move(description), std::move(program))) {
  impl_->app.option_defaults()->always_capture_default();
  impl_->app.get_formatter()->column_width(44);
}

Settings::~Settings() = default;

std::string Settings::env_name(const std::string& name) {
  std::string env = "SWITCHYARD_";
  for (char c : name) {
    env.push_back(c == '-' || c == '.'
                      ? '_'
                      : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return env;
}

namespace {
template <typename T>
void add_option(CLI::App& app, const std::string& name, T& target, const std::string& help) {
  app.add_option("--" + name, target, help)->envname(Settings::env_name(name));
}
}  // namespace

Settings& Settings::add(const std::string& name, std::string& target, const std::string& help) {
  add_option(impl_->app, name, target, help);
  return *this;
}
Settings& Settings::add(const std::string& name, int& target, const std::string& help) {
  add_option(impl_->app, name, target, help);
  return *this;
}
Settings& Settings::add(const std::string& name, std::int64_t& target, const std::string& help) {
  add_option(impl_->app, name, target, help);
  return *this;
}
Settings& Settings::add(const std::string& name, double& target, const std::string& help) {
  add_option(impl_->app, name, target, help);
  return *this;
}
Settings& Settings::add(const std::string& name, bool& target, const std::string& help) {
  impl_->app.add_option("--" + name, target, help + " (true|false)")
      ->envname(env_name(name))
      ->default_str(target ? "true" : "false");
  return *this;
}
Settings& Settings::add(const std::string& name, std::chrono::milliseconds& target,
                        const std::string& help) {
  auto holder = std::make_unique<std::int64_t>(target.count());
  add_option(impl_->app, name, *holder, help + " (milliseconds)");
  impl_->durations.emplace_back(&target, std::move(holder));
  return *this;
}
Settings& Settings::add(const std::string& name, std::vector<std::string>& target,
                        const std::string& help) {
  std::string def;
  for (const auto& v : target) def += (def.empty() ? "" : ",") + v;
  impl_->app.add_option("--" + name, target, help + " (comma-separated)")
      ->envname(env_name(name))
      ->delimiter(',')
      ->default_str(def);
  return *this;
}
Settings& Settings::add_secret(const std::string& name, std::string& target,
                               const std::string& help) {
  auto secret = std::make_unique<Impl::Secret>(Impl::Secret{&target, {}, name});
  impl_->app.add_option("--" + name, target, help + " (secret; prefer --" + name + "-file)")
      ->envname(env_name(name))
      ->default_str("");
  impl_->app.add_option("--" + name + "-file", secret->file, "File holding --" + name)
      ->envname(env_name(name + "-file"));
  impl_->secrets.push_back(std::move(secret));
  return *this;
}

std::optional<int> Settings::parse(int argc, const char* const* argv) {
  try {
    impl_->app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = impl_->app.exit(e, std::cout, std::cerr);
    return code;
  }
  for (auto& [target, holder] : impl_->durations) *target = std::chrono::milliseconds(*holder);
  for (const auto& secret : impl_->secrets) {
    if (secret->file.empty()) continue;
    std::ifstream in(secret->file);
    if (!in) {
      std::cerr << "cannot read --" << secret->name << "-file " << secret->file << "\n";
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string value = ss.str();
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    *secret->target = std::move(value);
  }
  return std::nullopt;
}

}  // namespace switchyard
