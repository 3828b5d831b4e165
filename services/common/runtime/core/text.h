// Small string helpers shared by the services' parsers (CSV lines, encoded hashes).
#pragma once

#include <string_view>
#include <vector>

namespace switchyard {

// The pieces of `s` between `sep`s; "a,,b" gives {"a", "", "b"}, "" gives {""}.
std::vector<std::string_view> split(std::string_view s, char sep);

// `s` without leading and trailing spaces, tabs and carriage returns.
std::string_view trim(std::string_view s);

}  // namespace switchyard
