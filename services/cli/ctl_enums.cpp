// Protobuf enum values by their short names.
#include "cli/ctl_enums.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace switchyard::ctl {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;

bool all_values_start_with(const EnumDescriptor& type, std::string_view prefix) {
  for (int i = 0; i < type.value_count(); ++i) {
    const std::string& name = type.value(i)->name();
    if (name.size() <= prefix.size() || !name.starts_with(prefix)) return false;
  }
  return true;
}

// The longest run of whole "WORD_" segments every value name starts with.
std::string common_segment_prefix(const EnumDescriptor& type) {
  if (type.value_count() < 2) return "";
  std::string prefix = type.value(0)->name();
  for (int i = 1; i < type.value_count(); ++i) {
    const std::string& name = type.value(i)->name();
    std::size_t n = 0;
    while (n < prefix.size() && n < name.size() && prefix[n] == name[n]) ++n;
    prefix.resize(n);
  }
  auto last_underscore = prefix.rfind('_');
  if (last_underscore == std::string::npos) return "";
  prefix.resize(last_underscore + 1);
  return all_values_start_with(type, prefix) ? prefix : "";
}

// "tx-default" -> "TX_DEFAULT".
std::string normalize_enum_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    out += (c == '-' || c == ' ' || c == '.')
               ? '_'
               : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

const EnumValueDescriptor* find_by_number_text(const EnumDescriptor& type, std::string_view text) {
  int number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end != text.data() + text.size()) return nullptr;
  return type.FindValueByNumber(number);
}

bool is_unspecified(const EnumValueDescriptor& value) {
  return value.number() == 0 && value.name().ends_with("UNSPECIFIED");
}

}  // namespace

std::string to_upper_snake_case(std::string_view camel) {
  std::string out;
  for (std::size_t i = 0; i < camel.size(); ++i) {
    auto c = static_cast<unsigned char>(camel[i]);
    bool boundary =
        i > 0 && std::isupper(c) &&
        (std::islower(static_cast<unsigned char>(camel[i - 1])) ||
         std::isdigit(static_cast<unsigned char>(camel[i - 1])) ||
         (i + 1 < camel.size() && std::islower(static_cast<unsigned char>(camel[i + 1])) &&
          std::isupper(static_cast<unsigned char>(camel[i - 1]))));
    if (boundary) out += '_';
    out += static_cast<char>(std::toupper(c));
  }
  return out;
}

std::string enum_prefix(const EnumDescriptor& type) {
  std::string from_type_name = to_upper_snake_case(type.name()) + "_";
  if (all_values_start_with(type, from_type_name)) return from_type_name;
  return common_segment_prefix(type);
}

Result<const EnumValueDescriptor*> parse_enum_value(const EnumDescriptor& type,
                                                    std::string_view text) {
  if (const auto* by_number = find_by_number_text(type, text)) return by_number;
  std::string wanted = normalize_enum_text(text);
  std::string prefix = enum_prefix(type);
  for (int i = 0; i < type.value_count() && !wanted.empty(); ++i) {
    const EnumValueDescriptor* value = type.value(i);
    if (value->name() == wanted || value->name() == prefix + wanted) return value;
  }
  return make_error(ErrorCode::kInvalidArgument, "\"" + std::string(text) + "\" is not a " +
                                                     type.name() + "; expected one of " +
                                                     enum_choices(type));
}

std::string enum_display_name(const EnumValueDescriptor& value) {
  if (is_unspecified(value)) return "";
  std::string prefix = enum_prefix(*value.type());
  std::string rest = value.name().substr(prefix.size());
  bool version_like = !rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) &&
                      std::all_of(rest.begin(), rest.end(), [](char c) {
                        return std::isdigit(static_cast<unsigned char>(c)) || c == '_';
                      });
  if (version_like) std::replace(rest.begin(), rest.end(), '_', '.');
  return rest;
}

std::string enum_choices(const EnumDescriptor& type, std::string_view separator) {
  std::string out;
  for (int i = 0; i < type.value_count(); ++i) {
    const EnumValueDescriptor* value = type.value(i);
    if (is_unspecified(*value)) continue;
    std::string name = enum_display_name(*value);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return c == '_' ? '-' : std::tolower(c); });
    if (!out.empty()) out += separator;
    out += name;
  }
  return out;
}

}  // namespace switchyard::ctl
