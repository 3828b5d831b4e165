// switchyard-loadgen: simulated OCPP chargers for benchmarks. Parse settings, run the profile,
// print the summary, write the JSON report. Exit 0 after a run without errors, 1 when errors
// were counted (or a storm did not recover), 2 on bad settings.
#include <boost/json/serialize.hpp>

#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <iostream>

#include "common/runtime/core/log.h"
#include "common/runtime/core/settings.h"
#include "loadgen/config.h"
#include "loadgen/run.h"

using namespace switchyard;

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a server gone while a charger writes: EPIPE, not our end
  loadgen::LoadgenConfig config;
  Settings settings("switchyard-loadgen",
                    "Simulated OCPP 1.6 / 2.0.1 chargers: idle, fleet, storm, saturate, rate and "
                    "commands load against a CSMS");
  loadgen::add_settings(settings, config);
  if (auto code = settings.parse(argc, argv)) return *code;
  log::init("loadgen", "", log::parse_level(config.log_level));
  const auto profile = loadgen::validate(config);
  if (!profile) {
    std::cerr << "switchyard-loadgen: " << profile.error().message << "\n";
    return 2;
  }
  // Every connection is a file; take what the hard limit allows.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  auto result = loadgen::run(config, *profile);
  if (!result) {
    std::cerr << "switchyard-loadgen: " << result.error().message << "\n";
    return 2;
  }
  std::cout << loadgen::summary_table(config, *result) << std::flush;
  if (!config.report.empty()) {
    std::ofstream out(config.report);
    out << boost::json::serialize(loadgen::report_json(config, *result)) << "\n";
    if (!out) {
      std::cerr << "switchyard-loadgen: cannot write " << config.report << "\n";
      return 2;
    }
  }
  if (result->stats.errors.total() > 0) return 1;
  if (*profile == loadgen::Profile::kStorm && !result->storm_complete) return 1;
  if (result->has_commands) {
    for (const auto& [code, count] : result->commands.outcomes) {
      if (code != "OK") return 1;
    }
  }
  return 0;
}
