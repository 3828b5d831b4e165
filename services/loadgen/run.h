// One load generator run: resolve the targets, start the workers, drive the profile's phases
// (ramp, measured window or storm), print progress, then the summary table and the JSON report.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "loadgen/commands.h"
#include "loadgen/config.h"
#include "loadgen/stats.h"

namespace switchyard::loadgen {

// What the run measured, for the summary and the report.
struct RunResult {
  Stats stats;
  double window_seconds = 0;
  std::uint64_t window_answered = 0;
  std::int64_t connected_at_end = 0;
  // storm
  std::int64_t storm_dropped = 0;
  std::int64_t storm_recovered = 0;
  std::int64_t storm_failures = 0;
  double storm_seconds = 0;
  std::int64_t storm_started_unix_ms = 0;  // wall clock of the drop, to line up other series
  bool storm_complete = false;
  // commands
  bool has_commands = false;
  CommandResults commands;
  // the generator itself
  double cpu_seconds = 0;
  std::uint64_t peak_rss_bytes = 0;
};

// Runs the profile; an error only when the run could not start (bad target, TLS files).
Result<RunResult> run(const LoadgenConfig& config, Profile profile);

// The summary table printed at the end.
std::string summary_table(const LoadgenConfig& config, const RunResult& result);

// The JSON report (--report).
boost::json::object report_json(const LoadgenConfig& config, const RunResult& result);

}  // namespace switchyard::loadgen
