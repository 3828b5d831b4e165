// Setting protobuf fields from command-line text by reflection.
#include "cli/ctl_fields.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <memory>

#include "cli/ctl_enums.h"

namespace switchyard::ctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    segments.push_back(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return segments;
    start = dot + 1;
  }
}

std::string valid_flags(const Descriptor& type, std::string_view parent_flag) {
  std::string out;
  for (int i = 0; i < type.field_count(); ++i) {
    if (!out.empty()) out += ", ";
    out += "--";
    if (!parent_flag.empty()) out += std::string(parent_flag) + ".";
    out += to_kebab_case(type.field(i)->name());
  }
  return out;
}

Result<const FieldDescriptor*> find_member(const Descriptor& type, std::string_view segment,
                                           std::string_view parent_flag) {
  if (const auto* field = type.FindFieldByName(to_snake_case(segment))) return field;
  if (const auto* field = type.FindFieldByCamelcaseName(std::string(segment))) return field;
  std::string flag = parent_flag.empty() ? "" : std::string(parent_flag) + ".";
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown field --" + flag + std::string(segment) + " for " + type.name() +
                        "; valid fields: " + valid_flags(type, parent_flag));
}

template <typename Int>
Result<Int> parse_integer(std::string_view text, const FieldDescriptor& field,
                          std::string_view flag) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    return make_error(ErrorCode::kInvalidArgument, "--" + std::string(flag) + " " +
                                                       std::string(text) + ": out of range for " +
                                                       field.cpp_type_name());
  }
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "--" + std::string(flag) + " " +
                                                       std::string(text) + ": not an integer (" +
                                                       field.cpp_type_name() + ")");
  }
  return value;
}

template <typename Real>
Result<Real> parse_real(std::string_view text, std::string_view flag) {
  Real value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--" + std::string(flag) + " " + std::string(text) + ": not a number");
  }
  return value;
}

Result<bool> parse_bool(std::string_view text, std::string_view flag) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "0") return false;
  return make_error(
      ErrorCode::kInvalidArgument,
      "--" + std::string(flag) + " " + std::string(text) + ": expected true or false");
}

// Stores `value` with the setter or adder matching the field's cardinality.
template <typename T, typename SetFn, typename AddFn>
Result<void> store(Result<T> value, const FieldDescriptor& field, SetFn set, AddFn add) {
  if (!value) return std::unexpected(value.error());
  if (field.is_repeated()) {
    add(*value);
  } else {
    set(*value);
  }
  return {};
}

Message& target_message(Message& message, const FieldDescriptor& field) {
  const Reflection* reflection = message.GetReflection();
  return field.is_repeated() ? *reflection->AddMessage(&message, &field)
                             : *reflection->MutableMessage(&message, &field);
}

Result<void> assign_message(Message& message, const FieldDescriptor& field, std::string_view text,
                            std::string_view flag) {
  const Descriptor& type = *field.message_type();
  if (is_timestamp(type)) {
    auto timestamp = parse_timestamp(text);
    if (!timestamp) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--" + std::string(flag) + ": " + timestamp.error().message);
    }
    target_message(message, field).CopyFrom(*timestamp);
    return {};
  }
  if (text.empty() || text.front() != '{') {
    return make_error(
        ErrorCode::kInvalidArgument,
        "--" + std::string(flag) + " takes a JSON object (" + type.name() + ")" +
            (field.is_repeated() ? ", once per element"
                                 : ", or its fields one by one as " + valid_flags(type, flag)));
  }
  std::unique_ptr<Message> parsed(
      message.GetReflection()->GetMessageFactory()->GetPrototype(&type)->New());
  if (auto merged = merge_json(*parsed, text); !merged) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--" + std::string(flag) + ": " + merged.error().message);
  }
  target_message(message, field).CopyFrom(*parsed);
  return {};
}

Result<void> assign_enum(Message& message, const FieldDescriptor& field, std::string_view text,
                         std::string_view flag) {
  auto value = parse_enum_value(*field.enum_type(), text);
  if (!value) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--" + std::string(flag) + ": " + value.error().message);
  }
  const Reflection* r = message.GetReflection();
  if (field.is_repeated()) {
    r->AddEnum(&message, &field, *value);
  } else {
    r->SetEnum(&message, &field, *value);
  }
  return {};
}

Result<void> assign(Message& message, const FieldDescriptor& field, std::string_view text,
                    std::string_view flag) {
  const Reflection* r = message.GetReflection();
  Message* m = &message;
  const FieldDescriptor* f = &field;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return store(
          parse_integer<std::int32_t>(text, field, flag), field,
          [&](std::int32_t v) { r->SetInt32(m, f, v); },
          [&](std::int32_t v) { r->AddInt32(m, f, v); });
    case FieldDescriptor::CPPTYPE_INT64:
      return store(
          parse_integer<std::int64_t>(text, field, flag), field,
          [&](std::int64_t v) { r->SetInt64(m, f, v); },
          [&](std::int64_t v) { r->AddInt64(m, f, v); });
    case FieldDescriptor::CPPTYPE_UINT32:
      return store(
          parse_integer<std::uint32_t>(text, field, flag), field,
          [&](std::uint32_t v) { r->SetUInt32(m, f, v); },
          [&](std::uint32_t v) { r->AddUInt32(m, f, v); });
    case FieldDescriptor::CPPTYPE_UINT64:
      return store(
          parse_integer<std::uint64_t>(text, field, flag), field,
          [&](std::uint64_t v) { r->SetUInt64(m, f, v); },
          [&](std::uint64_t v) { r->AddUInt64(m, f, v); });
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return store(
          parse_real<double>(text, flag), field, [&](double v) { r->SetDouble(m, f, v); },
          [&](double v) { r->AddDouble(m, f, v); });
    case FieldDescriptor::CPPTYPE_FLOAT:
      return store(
          parse_real<float>(text, flag), field, [&](float v) { r->SetFloat(m, f, v); },
          [&](float v) { r->AddFloat(m, f, v); });
    case FieldDescriptor::CPPTYPE_BOOL:
      return store(
          parse_bool(text, flag), field, [&](bool v) { r->SetBool(m, f, v); },
          [&](bool v) { r->AddBool(m, f, v); });
    case FieldDescriptor::CPPTYPE_STRING:
      return store(
          Result<std::string>(std::string(text)), field,
          [&](const std::string& v) { r->SetString(m, f, v); },
          [&](const std::string& v) { r->AddString(m, f, v); });
    case FieldDescriptor::CPPTYPE_ENUM:
      return assign_enum(message, field, text, flag);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return assign_message(message, field, text, flag);
  }
  return make_error(ErrorCode::kInternal, "unsupported field type of " + field.full_name());
}

std::string value_hint(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_ENUM:
      return "<" + enum_choices(*field.enum_type(), "|") + ">";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "<true|false>";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return is_timestamp(*field.message_type()) ? "<RFC3339>"
                                                 : "<" + field.message_type()->name() + " JSON>";
    default:
      return "<" + std::string(field.cpp_type_name()) + ">";
  }
}

void describe_into(const Descriptor& type, const std::string& parent_flag, int depth,
                   std::vector<std::string>& lines) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    std::string flag = parent_flag + to_kebab_case(field.name());
    std::string line = "--" + flag + " " + value_hint(field);
    if (field.is_repeated()) line += " (repeatable)";
    lines.push_back(line);
    bool nested = field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field.is_repeated() &&
                  !is_timestamp(*field.message_type());
    if (nested && depth < 2) describe_into(*field.message_type(), flag + ".", depth + 1, lines);
  }
}

}  // namespace

std::string to_snake_case(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 4);
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '-') {
      out += '_';
    } else if (std::isupper(u)) {
      if (!out.empty() && out.back() != '_') out += '_';
      out += static_cast<char>(std::tolower(u));
    } else {
      out += c;
    }
  }
  return out;
}

std::string to_kebab_case(std::string_view snake) {
  std::string out(snake);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

bool is_timestamp(const Descriptor& type) {
  return type.full_name() == "google.protobuf.Timestamp";
}

Result<google::protobuf::Timestamp> parse_timestamp(std::string_view text) {
  using google::protobuf::util::TimeUtil;
  if (text == "now") return TimeUtil::GetCurrentTime();
  google::protobuf::Timestamp timestamp;
  if (!TimeUtil::FromString(std::string(text), &timestamp)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "\"" + std::string(text) +
                          "\" is not an RFC 3339 time (e.g. 2024-05-01T12:00:00Z) or \"now\"");
  }
  return timestamp;
}

Result<const FieldDescriptor*> find_field_by_path(const Descriptor& type, std::string_view path) {
  const Descriptor* level = &type;
  std::string flag;
  const FieldDescriptor* field = nullptr;
  for (std::string_view segment : split_path(path)) {
    if (field != nullptr) {
      bool enterable = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                       !is_timestamp(*field->message_type());
      if (!enterable) {
        return make_error(ErrorCode::kInvalidArgument, "--" + flag + " is not a message; --" +
                                                           std::string(path) + " is no field");
      }
      if (field->is_repeated()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "--" + flag + " is a list: give each element as a JSON object (--" +
                              flag + " '{...}')");
      }
      level = field->message_type();
    }
    auto found = find_member(*level, segment, flag);
    if (!found) return std::unexpected(found.error());
    field = *found;
    flag += (flag.empty() ? "" : ".") + to_kebab_case(field->name());
  }
  return field;
}

Result<void> set_field(Message& message, std::string_view path, std::string_view text) {
  auto field = find_field_by_path(*message.GetDescriptor(), path);
  if (!field) return std::unexpected(field.error());
  Message* target = &message;
  std::string flag;
  auto segments = split_path(path);
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    const FieldDescriptor* step = *find_member(*target->GetDescriptor(), segments[i], "");
    target = target->GetReflection()->MutableMessage(target, step);
    flag += to_kebab_case(step->name()) + ".";
  }
  flag += to_kebab_case((*field)->name());
  return assign(*target, **field, text, flag);
}

Result<void> merge_json(Message& message, std::string_view json) {
  std::unique_ptr<Message> parsed(message.New());
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), parsed.get());
  if (!status.ok()) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "invalid JSON for " + message.GetDescriptor()->name() + ": " + status.ToString());
  }
  message.MergeFrom(*parsed);
  return {};
}

std::vector<std::string> describe_fields(const Descriptor& type) {
  std::vector<std::string> lines;
  describe_into(type, "", 0, lines);
  return lines;
}

}  // namespace switchyard::ctl
