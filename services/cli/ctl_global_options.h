// The options every switchyardctl command shares: service addresses, output format, deadline.
// Each is a flag (accepted anywhere on the command line) and a SWITCHYARD_* environment variable;
// the flag wins.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/ctl_client.h"
#include "cli/ctl_output.h"
#include "common/runtime/core/error.h"

namespace switchyard::ctl {

inline constexpr std::string_view kDefaultServer = "127.0.0.1:50051";
inline constexpr std::chrono::seconds kDefaultTimeout{30};

struct GlobalOptions {
  Endpoints endpoints;
  OutputFormat format = OutputFormat::kTable;
  std::chrono::milliseconds timeout = kDefaultTimeout;
  std::vector<std::string> rest;  // the command: NOUN VERB ARGS
};

// Looks up an environment variable ("SWITCHYARD_SERVER").
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view)>;

// Takes the shared options out of `args`; everything else stays in order in `rest`.
Result<GlobalOptions> parse_global_options(std::span<const std::string> args,
                                           const EnvironmentLookup& environment);

// "30", "30s", "500ms", "2m".
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// The lines of --help describing these options.
std::string global_options_help();

}  // namespace switchyard::ctl
