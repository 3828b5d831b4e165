// The message registry of every version.
#include "common/ocpp/schema.h"

#include <algorithm>

#include "common/ocpp/generated/v16/messages.h"
#include "common/ocpp/generated/v201/messages.h"
#include "common/ocpp/generated/v21/messages.h"

namespace switchyard::ocpp {

int EnumInfo::find_ignoring_case(std::string_view text) const {
  int found = -1;
  for (std::uint16_t i = 0; i < count; ++i) {
    const std::string_view v = values[i];
    if (v.size() != text.size()) continue;
    const bool same = std::equal(v.begin(), v.end(), text.begin(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) ==
             std::tolower(static_cast<unsigned char>(b));
    });
    if (same) {
      if (found >= 0) return -1;  // ambiguous
      found = i;
    }
  }
  return found;
}

std::span<const MessageInfo> messages(Version version) {
  switch (version) {
    case Version::k16:
      return v16::messages();
    case Version::k201:
      return v201::messages();
    case Version::k21:
      return v21::messages();
  }
  return {};
}

const MessageInfo* find_message(Version version, std::string_view action) {
  const auto all = messages(version);
  const auto it =
      std::lower_bound(all.begin(), all.end(), action,
                       [](const MessageInfo& m, std::string_view a) { return m.action < a; });
  return it != all.end() && it->action == action ? &*it : nullptr;
}

}  // namespace switchyard::ocpp
