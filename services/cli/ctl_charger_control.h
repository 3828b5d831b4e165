// `switchyardctl charger ID ACTION ...`: any ChargerControl RPC, found and filled by reflection.
#pragma once

#include <span>
#include <string>

#include "cli/ctl_command.h"

namespace switchyard::ctl {

// `args` are the words after "charger": ID ACTION [flags].
Outcome run_charger_command(Session& session, std::span<const std::string> args);

// Usage of the `charger` noun with every action.
std::string charger_command_help();

}  // namespace switchyard::ctl
