// Table-driven JSON writer for typed messages.
#include "common/ocpp/encoder.h"

#include <charconv>
#include <cmath>

#include "common/ocpp/formats.h"
#include "common/ocpp/json_text.h"

namespace switchyard::ocpp {
namespace {

void write_string(std::string& out, std::string_view s) {
  out.push_back('"');
  append_escaped(out, s);
  out.push_back('"');
}

void write_value(std::string& out, const ValueInfo& v, const void* slot);

std::size_t item_size(const ValueInfo& v) {
  switch (v.kind) {
    case Kind::kString:
    case Kind::kUri:
      return sizeof(String);
    case Kind::kInteger:
      return sizeof(std::int64_t);
    case Kind::kNumber:
      return sizeof(double);
    case Kind::kBoolean:
      return sizeof(bool);
    case Kind::kEnum:
      return sizeof(std::uint16_t);
    case Kind::kDateTime:
      return sizeof(DateTime);
    case Kind::kObject:
      return v.object->size;
    case Kind::kArray:
      return sizeof(detail::ListStorage);
    case Kind::kAny:
      return sizeof(RawJson);
  }
  return 0;
}

void write_object(std::string& out, const TypeInfo& type, const void* object) {
  out.push_back('{');
  bool first = true;
  for (const FieldInfo& f : type.field_span()) {
    const void* slot = f.get(object);
    if (slot == nullptr) continue;
    if (!first) out.push_back(',');
    first = false;
    out.append(f.json_key);
    write_value(out, f.value, slot);
  }
  if (type.extra != nullptr) {
    const std::string_view extra = type.extra(const_cast<void*>(object))->members();  // read only
    if (!extra.empty()) {
      if (!first) out.push_back(',');
      out.append(extra);
    }
  }
  out.push_back('}');
}

void write_value(std::string& out, const ValueInfo& v, const void* slot) {
  switch (v.kind) {
    case Kind::kString:
    case Kind::kUri:
      write_string(out, static_cast<const String*>(slot)->view());
      return;
    case Kind::kInteger: {
      char buf[24];
      auto [end, ec] =
          std::to_chars(buf, buf + sizeof buf, *static_cast<const std::int64_t*>(slot));
      out.append(buf, end);
      return;
    }
    case Kind::kNumber: {
      const double d = *static_cast<const double*>(slot);
      if (!std::isfinite(d)) {
        out += "null";  // not a JSON number: validation reports it
        return;
      }
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, end);
      return;
    }
    case Kind::kBoolean:
      out += *static_cast<const bool*>(slot) ? "true" : "false";
      return;
    case Kind::kEnum: {
      const auto i = *static_cast<const std::uint16_t*>(slot);
      write_string(out, i < v.enumeration->count ? v.enumeration->values[i] : std::string_view{});
      return;
    }
    case Kind::kDateTime:
      write_string(out, static_cast<const DateTime*>(slot)->text());
      return;
    case Kind::kObject:
      write_object(out, *v.object, slot);
      return;
    case Kind::kArray: {
      const auto* list = static_cast<const detail::ListStorage*>(slot);
      const std::size_t size = item_size(*v.item);
      out.push_back('[');
      for (std::uint32_t i = 0; i < list->size; ++i) {
        if (i != 0) out.push_back(',');
        write_value(out, *v.item, static_cast<const char*>(list->data) + i * size);
      }
      out.push_back(']');
      return;
    }
    case Kind::kAny: {
      const std::string_view json = static_cast<const RawJson*>(slot)->json();
      out.append(json.empty() ? std::string_view("null") : json);
      return;
    }
  }
}

void open_frame(std::string& out, int type, std::string_view id) {
  out.clear();
  out.push_back('[');
  out.push_back(static_cast<char>('0' + type));
  out += ",";
  write_string(out, id);
}

}  // namespace

void Encoder::write_payload(std::string& out, const TypeInfo& type, const void* payload) {
  write_object(out, type, payload);
}

std::string_view Encoder::call(std::string_view message_id, std::string_view action,
                               const TypeInfo& type, const void* payload) {
  open_frame(buffer_, 2, message_id);
  buffer_.push_back(',');
  write_string(buffer_, action);
  buffer_.push_back(',');
  write_object(buffer_, type, payload);
  buffer_.push_back(']');
  return buffer_;
}

std::string_view Encoder::call_json(std::string_view message_id, std::string_view action,
                                    std::string_view payload_json) {
  open_frame(buffer_, 2, message_id);
  buffer_.push_back(',');
  write_string(buffer_, action);
  buffer_.push_back(',');
  buffer_.append(payload_json);
  buffer_.push_back(']');
  return buffer_;
}

std::string_view Encoder::result_json(std::string_view message_id, std::string_view payload_json) {
  open_frame(buffer_, 3, message_id);
  buffer_.push_back(',');
  buffer_.append(payload_json);
  buffer_.push_back(']');
  return buffer_;
}

std::string_view Encoder::result(std::string_view message_id, const TypeInfo& type,
                                 const void* payload) {
  open_frame(buffer_, 3, message_id);
  buffer_.push_back(',');
  write_object(buffer_, type, payload);
  buffer_.push_back(']');
  return buffer_;
}

std::string_view Encoder::error(Version version, std::string_view message_id, RpcErrorCode code,
                                std::string_view description, std::string_view details_json) {
  open_frame(buffer_, 4, message_id);
  buffer_.push_back(',');
  write_string(buffer_, rpc_error_name(code, version));
  buffer_.push_back(',');
  write_string(buffer_, utf8_prefix(description, 255));
  buffer_.push_back(',');
  buffer_.append(details_json.empty() ? std::string_view("{}") : details_json);
  buffer_.push_back(']');
  return buffer_;
}

std::string_view Encoder::result_error(std::string_view message_id, RpcErrorCode code,
                                       std::string_view description,
                                       std::string_view details_json) {
  open_frame(buffer_, 5, message_id);
  buffer_.push_back(',');
  write_string(buffer_, rpc_error_name(code, Version::k21));
  buffer_.push_back(',');
  write_string(buffer_, utf8_prefix(description, 255));
  buffer_.push_back(',');
  buffer_.append(details_json.empty() ? std::string_view("{}") : details_json);
  buffer_.push_back(']');
  return buffer_;
}

std::string_view Encoder::send(std::string_view message_id, std::string_view action,
                               const TypeInfo& type, const void* payload) {
  open_frame(buffer_, 6, message_id);
  buffer_.push_back(',');
  write_string(buffer_, action);
  buffer_.push_back(',');
  write_object(buffer_, type, payload);
  buffer_.push_back(']');
  return buffer_;
}

std::string_view Encoder::payload(const TypeInfo& type, const void* payload) {
  buffer_.clear();
  write_object(buffer_, type, payload);
  return buffer_;
}

}  // namespace switchyard::ocpp
