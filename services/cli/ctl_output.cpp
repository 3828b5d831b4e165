// Rendering responses as JSON, tables and KEY VALUE listings, all by reflection.
#include "cli/ctl_output.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "cli/ctl_enums.h"
#include "cli/ctl_fields.h"

namespace switchyard::ctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMaxFlattenDepth = 3;

template <typename Real>
std::string real_text(Real value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

std::string timestamp_text(const Message& timestamp) {
  google::protobuf::Timestamp copy;
  copy.CopyFrom(timestamp);
  return google::protobuf::util::TimeUtil::ToString(copy);
}

std::string message_text(const Message& message) {
  return is_timestamp(*message.GetDescriptor()) ? timestamp_text(message) : to_json(message, false);
}

// One value of a field: `index` < 0 for a singular field.
std::string element_text(const Message& m, const FieldDescriptor& f, int index) {
  const Reflection& r = *m.GetReflection();
  bool single = index < 0;
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return std::to_string(single ? r.GetInt32(m, &f) : r.GetRepeatedInt32(m, &f, index));
    case FieldDescriptor::CPPTYPE_INT64:
      return std::to_string(single ? r.GetInt64(m, &f) : r.GetRepeatedInt64(m, &f, index));
    case FieldDescriptor::CPPTYPE_UINT32:
      return std::to_string(single ? r.GetUInt32(m, &f) : r.GetRepeatedUInt32(m, &f, index));
    case FieldDescriptor::CPPTYPE_UINT64:
      return std::to_string(single ? r.GetUInt64(m, &f) : r.GetRepeatedUInt64(m, &f, index));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return real_text(single ? r.GetDouble(m, &f) : r.GetRepeatedDouble(m, &f, index));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return real_text(single ? r.GetFloat(m, &f) : r.GetRepeatedFloat(m, &f, index));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (single ? r.GetBool(m, &f) : r.GetRepeatedBool(m, &f, index)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_STRING:
      return single ? r.GetString(m, &f) : r.GetRepeatedString(m, &f, index);
    case FieldDescriptor::CPPTYPE_ENUM:
      return enum_display_name(single ? *r.GetEnum(m, &f) : *r.GetRepeatedEnum(m, &f, index));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (single) return r.HasField(m, &f) ? message_text(r.GetMessage(m, &f)) : "";
      return message_text(r.GetRepeatedMessage(m, &f, index));
  }
  return "";
}

std::string value_text(const Message& m, const FieldDescriptor& f) {
  if (!f.is_repeated()) {
    // An unset field with presence (proto3 `optional`) is unset, not 0.
    if (f.has_presence() && !m.GetReflection()->HasField(m, &f)) return "";
    return element_text(m, f, -1);
  }
  std::string joined;
  int size = m.GetReflection()->FieldSize(m, &f);
  for (int i = 0; i < size; ++i) {
    if (i > 0) joined += ", ";
    joined += element_text(m, f, i);
  }
  return joined;
}

bool is_plain_message(const FieldDescriptor& f) {
  return f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !is_timestamp(*f.message_type());
}

bool is_unset_oneof_member(const Message& m, const FieldDescriptor& f) {
  return f.containing_oneof() != nullptr && !m.GetReflection()->HasField(m, &f);
}

std::string header_for_path(std::string_view path) {
  std::string header(path);
  std::transform(header.begin(), header.end(), header.begin(), [](unsigned char c) {
    return c == '.' ? '_' : static_cast<char>(std::toupper(c));
  });
  return header;
}

void collect_leaf_columns(const Descriptor& type, const std::string& prefix, int depth,
                          std::vector<Column>& columns) {
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& f = *type.field(i);
    std::string path = prefix + f.name();
    if (f.is_repeated() && f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (is_plain_message(f) && !f.is_repeated()) {
      if (depth < kMaxFlattenDepth)
        collect_leaf_columns(*f.message_type(), path + ".", depth + 1, columns);
      continue;
    }
    columns.push_back(field_column(header_for_path(path), path));
  }
}

struct Details {
  std::vector<std::pair<std::string, std::string>> rows;
  std::vector<std::pair<std::string, std::vector<const Message*>>> lists;
};

void collect_details(const Message& m, const std::string& prefix, Details& details) {
  const Descriptor& type = *m.GetDescriptor();
  const Reflection& r = *m.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& f = *type.field(i);
    if (is_unset_oneof_member(m, f)) continue;
    std::string key = prefix + f.name();
    if (f.is_repeated() && f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      auto elements = list_elements(m, f);
      if (elements.empty()) {
        details.rows.emplace_back(key, "(none)");
      } else {
        details.lists.emplace_back(key, std::move(elements));
      }
    } else if (is_plain_message(f)) {
      if (r.HasField(m, &f)) collect_details(r.GetMessage(m, &f), key + ".", details);
    } else {
      details.rows.emplace_back(key, value_text(m, f));
    }
  }
}

std::string render_key_values(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::size_t width = 0;
  for (const auto& [key, value] : rows) width = std::max(width, key.size());
  std::string out;
  for (const auto& [key, value] : rows) {
    out += key;
    if (!value.empty()) out += std::string(width - key.size() + 2, ' ') + value;
    out += "\n";
  }
  return out;
}

std::vector<const FieldDescriptor*> list_fields(const Descriptor& type) {
  std::vector<const FieldDescriptor*> fields;
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* f = type.field(i);
    if (f->is_repeated() && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) fields.push_back(f);
  }
  return fields;
}

// The one message a response wraps (GetTokenResponse.token), else the response itself.
const Message& unwrap_single(const Message& response) {
  const Descriptor& type = *response.GetDescriptor();
  if (type.field_count() != 1) return response;
  const FieldDescriptor& only = *type.field(0);
  if (!is_plain_message(only) || only.is_repeated()) return response;
  if (!response.GetReflection()->HasField(response, &only)) return response;
  return response.GetReflection()->GetMessage(response, &only);
}

}  // namespace

std::string to_json(const Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return "{\"error\": \"cannot print as JSON\"}";
  while (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

std::string field_text(const Message& message, std::string_view path) {
  const Message* current = &message;
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    std::string name(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    const FieldDescriptor* f = current->GetDescriptor()->FindFieldByName(name);
    if (f == nullptr) return "";
    if (dot == std::string_view::npos) return value_text(*current, *f);
    const Reflection& r = *current->GetReflection();
    if (!is_plain_message(*f) || f->is_repeated() || !r.HasField(*current, f)) return "";
    current = &r.GetMessage(*current, f);
    start = dot + 1;
  }
}

Column field_column(std::string header, std::string path) {
  return Column{std::move(header),
                [path = std::move(path)](const Message& row) { return field_text(row, path); }};
}

std::vector<Column> default_columns(const Descriptor& type) {
  std::vector<Column> columns;
  collect_leaf_columns(type, "", 0, columns);
  return columns;
}

std::string render_table(std::span<const Column> columns, std::span<const Message* const> rows) {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size() + 1);
  std::vector<std::string> headers;
  for (const auto& column : columns) headers.push_back(column.header);
  cells.push_back(std::move(headers));
  for (const Message* row : rows) {
    std::vector<std::string> line;
    for (const auto& column : columns) {
      std::string text = column.cell(*row);
      line.push_back(text.empty() ? "-" : std::move(text));
    }
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> widths(columns.size(), 0);
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) out += std::string(widths[i] - line[i].size() + 2, ' ');
    }
    out += "\n";
  }
  return out;
}

std::string render_details(const Message& message) {
  Details details;
  collect_details(message, "", details);
  std::string out = render_key_values(details.rows);
  for (const auto& [name, elements] : details.lists) {
    auto columns = default_columns(*elements.front()->GetDescriptor());
    out += "\n" + name + ":\n" + render_table(columns, elements);
  }
  return out;
}

std::vector<const Message*> list_elements(const Message& message, const FieldDescriptor& field) {
  const Reflection& r = *message.GetReflection();
  std::vector<const Message*> elements;
  int size = r.FieldSize(message, &field);
  elements.reserve(static_cast<std::size_t>(size));
  for (int i = 0; i < size; ++i) elements.push_back(&r.GetRepeatedMessage(message, &field, i));
  return elements;
}

const FieldDescriptor* list_field(const Descriptor& type) {
  auto fields = list_fields(type);
  return fields.empty() ? nullptr : fields.front();
}

void print_list(std::ostream& out, OutputFormat format, const Message& response,
                std::span<const Column> columns) {
  auto fields = list_fields(*response.GetDescriptor());
  if (format == OutputFormat::kJson || fields.empty()) {
    print_single(out, format, response);
    return;
  }
  for (const FieldDescriptor* field : fields) {
    auto rows = list_elements(response, *field);
    // The columns given are for the first list's rows; a list of another type gets its own.
    const bool given = !columns.empty() && field->message_type() == fields.front()->message_type();
    auto chosen = given ? std::vector<Column>(columns.begin(), columns.end())
                        : default_columns(*field->message_type());
    if (fields.size() > 1) out << (field == fields.front() ? "" : "\n") << field->name() << ":\n";
    out << render_table(chosen, rows);
  }
}

void print_single(std::ostream& out, OutputFormat format, const Message& response) {
  if (format == OutputFormat::kJson) {
    out << to_json(response, true) << "\n";
    return;
  }
  out << render_details(unwrap_single(response));
}

}  // namespace switchyard::ctl
