// Rendering responses for people and scripts: the proto3 JSON mapping, aligned tables with one
// row per list element, and KEY VALUE listings of single messages (nested fields flattened with
// dots, timestamps in RFC 3339, enums by short name).
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::ctl {

enum class OutputFormat { kTable, kJson };

// Proto3 JSON (camelCase names, default-valued fields included); `pretty` indents it, else one
// line.
std::string to_json(const google::protobuf::Message& message, bool pretty);

// The text of the field at a dotted snake_case path ("id_token.id"), "" when unset or unknown.
// Repeated fields are joined with ", " (messages as their JSON).
std::string field_text(const google::protobuf::Message& message, std::string_view path);

// A table column: a header and how to get a row's cell.
struct Column {
  std::string header;
  std::function<std::string(const google::protobuf::Message&)> cell;
};

// A column showing field_text(row, path).
Column field_column(std::string header, std::string path);

// Every non-repeated leaf of a message type (nested messages flattened), headers like
// "LOCATION_EVSE_ID".
std::vector<Column> default_columns(const google::protobuf::Descriptor& type);

// Header and rows, columns separated by two spaces and padded; empty cells shown as "-".
std::string render_table(std::span<const Column> columns,
                         std::span<const google::protobuf::Message* const> rows);

// KEY VALUE lines of every field (unset nested messages left out), then one table per non-empty
// repeated message field, headed by its name.
std::string render_details(const google::protobuf::Message& message);

// The elements of a repeated message field.
std::vector<const google::protobuf::Message*> list_elements(
    const google::protobuf::Message& message, const google::protobuf::FieldDescriptor& field);

// The list a list response carries: its first repeated message field, or nullptr.
const google::protobuf::FieldDescriptor* list_field(const google::protobuf::Descriptor& type);

// A list response: JSON of the whole response, or a table of its list with `columns` (default
// columns when empty). Several lists (CountErrors) each get a headed table.
void print_list(std::ostream& out, OutputFormat format, const google::protobuf::Message& response,
                std::span<const Column> columns);

// A single response: JSON, or the details of the response (of its only field, when the response
// merely wraps one message, as GetTokenResponse does).
void print_single(std::ostream& out, OutputFormat format,
                  const google::protobuf::Message& response);

}  // namespace switchyard::ctl
