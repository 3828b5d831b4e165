// The schema-driven SAX decoder: Boost.JSON's basic_parser calls the handler below for every
// token; the handler validates each token against the schema tables and stores it in the typed
// struct being built in the arena.
#include "common/ocpp/decoder.h"

#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#include "common/ocpp/formats.h"
#include "common/ocpp/json_text.h"

namespace switchyard::ocpp {

std::string_view quirk_name(Quirk quirk) {
  switch (quirk) {
    case kQuirkEnumCase:
      return "enum_case";
    case kQuirkNumberAsString:
      return "number_as_string";
    case kQuirkDateTimeWithoutZone:
      return "datetime_without_zone";
    case kQuirkUnknownField:
      return "unknown_field";
  }
  return "unknown";
}

namespace {

namespace json = boost::json;
using ec_t = boost::system::error_code;

constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxMessageId = 36;

enum class Mode : std::uint8_t { kFrame, kObject, kArray };

// Why a frame failed; mapped to the version's RPC error code at the end.
enum class Violation : std::uint8_t {
  kType,           // wrong JSON type
  kValue,          // enum, length, range, format
  kOccurrence,     // missing member, array too short or long
  kFormat,         // unknown or duplicate member, payload not an object, broken payload JSON
  kFrame,          // not an OCPP-J frame
  kUnknownAction,  // NotImplemented
  kNotSupported,   // known action, wrong direction or message type
  kUnknownType,    // unknown MessageTypeId
  kUnknownId,      // CALLRESULT for no pending call
};

struct Level {
  Mode mode;
  bool extra_member;  // object: the current member is kept raw (open object)
  bool drop_member;   // object: the current member is dropped (lenient unknown field)
  bool capture_next;  // the next value is captured raw (extra, dropped or "any")
  const TypeInfo* type;
  void* storage;  // object: the struct; array: its detail::ListStorage
  std::uint64_t seen;
  const FieldInfo* field;  // object: the member whose value comes next
  const ValueInfo* array;  // array: the array's own ValueInfo
  std::uint32_t index;     // array: current item; frame: element count so far
  std::string_view key;    // object: the current member name (arena)
};

std::size_t slot_size(const ValueInfo& v) {
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

std::size_t slot_align(const ValueInfo& v) {
  switch (v.kind) {
    case Kind::kString:
    case Kind::kUri:
      return alignof(String);
    case Kind::kInteger:
      return alignof(std::int64_t);
    case Kind::kNumber:
      return alignof(double);
    case Kind::kBoolean:
      return alignof(bool);
    case Kind::kEnum:
      return alignof(std::uint16_t);
    case Kind::kDateTime:
      return alignof(DateTime);
    case Kind::kObject:
      return v.object->align;
    case Kind::kArray:
      return alignof(detail::ListStorage);
    case Kind::kAny:
      return alignof(RawJson);
  }
  return 1;
}

void construct_slot(const ValueInfo& v, void* p) {
  switch (v.kind) {
    case Kind::kString:
    case Kind::kUri:
      ::new (p) String();
      return;
    case Kind::kInteger:
      ::new (p) std::int64_t(0);
      return;
    case Kind::kNumber:
      ::new (p) double(0);
      return;
    case Kind::kBoolean:
      ::new (p) bool(false);
      return;
    case Kind::kEnum:
      ::new (p) std::uint16_t(0);
      return;
    case Kind::kDateTime:
      ::new (p) DateTime();
      return;
    case Kind::kObject:
      v.object->construct(p);
      return;
    case Kind::kArray:
      ::new (p) detail::ListStorage{nullptr, 0, 0};
      return;
    case Kind::kAny:
      ::new (p) RawJson();
      return;
  }
}

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kString:
    case Kind::kUri:
    case Kind::kEnum:
    case Kind::kDateTime:
      return "string";
    case Kind::kInteger:
      return "integer";
    case Kind::kNumber:
      return "number";
    case Kind::kBoolean:
      return "boolean";
    case Kind::kObject:
      return "object";
    case Kind::kArray:
      return "array";
    case Kind::kAny:
      return "any";
  }
  return "?";
}

class Handler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit Handler(Arena& arena) : arena_(arena) {}

  // -- set-up per frame ----------------------------------------------------------------
  void start_frame(Version version, Role role, const PendingCall* pending, bool lenient,
                   std::string_view input) {
    reset(version, lenient, input);
    frame_mode_ = true;
    role_ = role;
    pending_ = pending;
  }
  void start_payload(Version version, const TypeInfo& type, bool lenient, std::string_view input) {
    reset(version, lenient, input);
    frame_mode_ = false;
    payload_type_ = &type;
    payload_started_ = true;
  }

  // -- results -------------------------------------------------------------------------
  bool failed() const { return failed_; }
  DecodedFrame& frame() { return frame_; }
  const void* payload() const { return frame_.payload; }
  bool id_known() const { return id_known_; }
  bool type_known() const { return type_known_; }
  bool in_payload() const { return payload_started_; }

  DecodeError error_for_syntax(std::string_view what) {
    // Broken inside the payload: the frame was readable up to it (FormatViolation). Anything
    // else, trailing data after a complete frame included, is a broken frame.
    const bool in_payload = payload_started_ && (depth_ > 0 || !frame_mode_);
    fail(in_payload ? Violation::kFormat : Violation::kFrame,
         std::string(in_payload ? "payload is not valid JSON: " : "frame is not valid JSON: ") +
             std::string(what));
    return take_error();
  }
  DecodeError take_error() { return std::move(error_); }
  Violation violation() const { return violation_; }

  // -- SAX events ----------------------------------------------------------------------
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_comment_part(json::string_view, ec_t&) { return true; }
  bool on_comment(json::string_view, ec_t&) { return true; }

  bool on_object_begin(ec_t&) {
    if (capture_depth_ > 0 || (depth_ > 0 && top().capture_next && begin_capture()))
      return capture_open('{');
    if (depth_ == 0)
      return frame_mode_ ? fail(Violation::kFrame, "frame is not a JSON array") : push_root();
    if (top().mode == Mode::kFrame) return frame_object();
    const ValueInfo* v = nullptr;
    void* slot = nullptr;
    if (!target(v, slot)) return false;
    if (v->kind != Kind::kObject) return type_error(*v, "object");
    return push_object(*v->object, slot);
  }

  bool on_object_end(std::size_t, ec_t&) {
    if (capture_depth_ > 0) return capture_close('}');
    Level& l = top();
    if (l.type->extra != nullptr) {
      while (!extra_keys_.empty() && extra_keys_.back().first == depth_) extra_keys_.pop_back();
    }
    if ((l.seen & l.type->required_mask) != l.type->required_mask) {
      for (std::uint16_t i = 0; i < l.type->field_count; ++i) {
        const FieldInfo& f = l.type->fields[i];
        if (f.required && (l.seen & (std::uint64_t{1} << i)) == 0) {
          return fail(Violation::kOccurrence,
                      prefix(false) + "missing required member '" + std::string(f.name) + "'");
        }
      }
    }
    --depth_;
    return value_done();
  }

  bool on_array_begin(ec_t&) {
    if (capture_depth_ > 0 || (depth_ > 0 && top().capture_next && begin_capture()))
      return capture_open('[');
    if (depth_ == 0) {
      if (!frame_mode_) return fail(Violation::kFormat, "payload must be a JSON object");
      Level& l = push(Mode::kFrame);
      l.index = 0;
      return true;
    }
    if (top().mode == Mode::kFrame) return frame_other("an array");
    const ValueInfo* v = nullptr;
    void* slot = nullptr;
    if (!target(v, slot)) return false;
    if (v->kind != Kind::kArray) return type_error(*v, "array");
    if (depth_ >= kMaxDepth) return fail(Violation::kFormat, "nesting deeper than 32 levels");
    Level& l = push(Mode::kArray);
    l.storage = slot;
    l.array = v;
    l.index = 0;
    l.capture_next = v->item->kind == Kind::kAny;
    return true;
  }

  bool on_array_end(std::size_t, ec_t&) {
    if (capture_depth_ > 0) return capture_close(']');
    Level& l = top();
    if (l.mode == Mode::kFrame) return frame_end();
    const auto* list = static_cast<const detail::ListStorage*>(l.storage);
    if (list->size < l.array->min_items) {
      return fail(Violation::kOccurrence, prefix(false) + "needs at least " +
                                              std::to_string(l.array->min_items) +
                                              " item(s), has " + std::to_string(list->size));
    }
    if (l.array->max_items != 0 && list->size > l.array->max_items) {
      return fail(Violation::kOccurrence, prefix(false) + "allows at most " +
                                              std::to_string(l.array->max_items) +
                                              " item(s), has " + std::to_string(list->size));
    }
    --depth_;
    return value_done();
  }

  bool on_key_part(json::string_view s, std::size_t, ec_t&) {
    part_.append(s.data(), s.size());
    return true;
  }

  bool on_key(json::string_view s, std::size_t, ec_t&) {
    std::string_view key(s.data(), s.size());
    if (!part_.empty()) {
      part_.append(s.data(), s.size());
      key = part_;
    }
    bool ok = capture_depth_ > 0 ? capture_key(key) : member_key(key);
    part_.clear();
    return ok;
  }

  bool on_string_part(json::string_view s, std::size_t, ec_t&) {
    part_.append(s.data(), s.size());
    return true;
  }

  bool on_string(json::string_view s, std::size_t, ec_t&) {
    std::string_view text(s.data(), s.size());
    if (!part_.empty()) {
      part_.append(s.data(), s.size());
      text = part_;
    }
    bool ok = string_value(text);
    part_.clear();
    return ok;
  }

  bool on_number_part(json::string_view s, ec_t&) {
    part_.append(s.data(), s.size());
    return true;
  }

  bool on_int64(std::int64_t i, json::string_view s, ec_t&) {
    const std::string_view text = number_text(s);
    bool ok = number_value(text, static_cast<double>(i), i, true);
    part_.clear();
    return ok;
  }

  bool on_uint64(std::uint64_t u, json::string_view s, ec_t&) {
    const std::string_view text = number_text(s);
    const bool fits = u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    bool ok = number_value(text, static_cast<double>(u), fits ? static_cast<std::int64_t>(u) : 0,
                           fits, !fits);
    part_.clear();
    return ok;
  }

  bool on_double(double d, json::string_view s, ec_t&) {
    const std::string_view text = number_text(s);
    // Boost.JSON 1.81 reads doubles fast but not always correctly rounded: read the text again.
    // Out of range gives infinity, which store_number rejects.
    double precise = d;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), precise);
    if (ec == std::errc::result_out_of_range) {
      // Overflow (infinity) or underflow (zero): Boost's approximate value tells which.
      precise = std::fabs(d) > 1 ? std::copysign(std::numeric_limits<double>::infinity(), d)
                                 : std::copysign(0.0, d);
    } else if (ec != std::errc() || end != text.data() + text.size()) {
      precise = d;
    }
    bool ok = number_value(text, precise, 0, false);
    part_.clear();
    return ok;
  }

  bool on_bool(bool b, ec_t&) {
    if (capture_depth_ > 0 || (depth_ > 0 && top().capture_next && begin_capture()))
      return capture_scalar(b ? "true" : "false");
    if (depth_ == 0) return root_scalar();
    if (top().mode == Mode::kFrame) return frame_other("a boolean");
    const ValueInfo* v = nullptr;
    void* slot = nullptr;
    if (!target(v, slot)) return false;
    if (v->kind != Kind::kBoolean) return type_error(*v, "boolean");
    *static_cast<bool*>(slot) = b;
    return value_done();
  }

  bool on_null(ec_t&) {
    if (capture_depth_ > 0 || (depth_ > 0 && top().capture_next && begin_capture()))
      return capture_scalar("null");
    if (depth_ == 0) return root_scalar();
    if (top().mode == Mode::kFrame) return frame_other("null");
    const ValueInfo* v = nullptr;
    void* slot = nullptr;
    if (!target(v, slot)) return false;
    return type_error(*v, "null");
  }

 private:
  // -- state ---------------------------------------------------------------------------
  void reset(Version version, bool lenient, std::string_view input) {
    input_begin_ = input.data();
    input_end_ = input.data() + input.size();
    version_ = version;
    lenient_ = lenient;
    depth_ = 0;
    capture_depth_ = 0;
    capture_kind_ = CaptureKind::kNone;
    failed_ = false;
    id_known_ = false;
    type_known_ = false;
    unknown_type_ = false;
    payload_started_ = false;
    frame_ = DecodedFrame{};
    error_ = DecodeError{};
    part_.clear();
    capture_.clear();
    extra_keys_.clear();
  }

  Level& top() { return levels_[depth_ - 1]; }

  // Text the parser hands over points into the input frame when it needed no unescaping: keep
  // that view (the frame outlives the decoded message); copy anything else into the arena.
  std::string_view keep(std::string_view text) {
    if (text.data() >= input_begin_ && text.data() + text.size() <= input_end_) return text;
    return arena_.copy(text);
  }

  Level& push(Mode mode) {
    Level& l = levels_[depth_++];
    l = Level{};
    l.mode = mode;
    return l;
  }

  // -- errors --------------------------------------------------------------------------
  // "a.b[2].c: " for the value being read (leaf) or the container it sits in.
  std::string prefix(bool leaf) {
    std::string path;
    for (int i = 0; i < depth_; ++i) {
      const Level& l = levels_[i];
      const bool last = i == depth_ - 1;
      if (l.mode == Mode::kObject && (!last || leaf) && !l.key.empty()) {
        if (!path.empty()) path.push_back('.');
        path.append(utf8_prefix(l.key, 64));
      } else if (l.mode == Mode::kArray && (!last || leaf)) {
        path += "[" + std::to_string(l.index) + "]";
      }
    }
    return (path.empty() ? std::string("payload") : path) + ": ";
  }

  bool fail(Violation violation, std::string description) {
    if (failed_) return false;
    failed_ = true;
    violation_ = violation;
    error_.description = std::move(description);
    return false;
  }

  bool type_error(const ValueInfo& v, std::string_view got) {
    return fail(Violation::kType, prefix(true) + "expected " + std::string(kind_name(v.kind)) +
                                      ", got " + std::string(got));
  }

  // -- frame ---------------------------------------------------------------------------
  // Element `i` of the frame has a JSON type it may not have.
  bool frame_type_error(std::uint32_t i, std::string_view got) {
    static constexpr std::string_view kElement[] = {"MessageTypeId", "message id", "element 2",
                                                    "element 3",     "element 4",  "element 5"};
    const MessageType t = frame_.type;
    const bool payload = ((t == MessageType::kCall || t == MessageType::kSend) && i == 3) ||
                         (t == MessageType::kCallResult && i == 2);
    if (payload && type_known_ && !unknown_type_) {
      payload_started_ = true;
      return fail(Violation::kFormat, "payload must be a JSON object, got " + std::string(got));
    }
    return fail(Violation::kFrame, std::string(kElement[std::min<std::uint32_t>(i, 5)]) +
                                       " must not be " + std::string(got));
  }

  // A value of a kind no frame element can start with here (array, boolean, null).
  bool frame_other(std::string_view got) { return frame_type_error(top().index++, got); }

  bool frame_object() {
    Level& l = top();
    const std::uint32_t i = l.index++;
    const MessageType t = frame_.type;
    if ((t == MessageType::kCall || t == MessageType::kSend) && i == 3) {
      payload_started_ = true;
      return push_root();
    }
    if (t == MessageType::kCallResult && i == 2) {
      payload_started_ = true;
      if (pending_ == nullptr || pending_->message == nullptr ||
          pending_->message_id != frame_.message_id) {
        return fail(Violation::kUnknownId, "CALLRESULT for message id '" +
                                               std::string(utf8_prefix(frame_.message_id, 36)) +
                                               "' that has no pending CALL");
      }
      frame_.message = pending_->message;
      frame_.action = pending_->message->action;
      payload_type_ = pending_->message->response;
      if (payload_type_ == nullptr) {
        return fail(Violation::kNotSupported, std::string(frame_.action) + " has no response");
      }
      return push_root();
    }
    if ((t == MessageType::kCallError || t == MessageType::kCallResultError) && i == 4) {
      start_capture(CaptureKind::kErrorDetails, nullptr);
      return capture_open('{');
    }
    return frame_type_error(i, "an object");
  }

  bool frame_string(std::string_view text) {
    Level& l = top();
    const std::uint32_t i = l.index++;
    const MessageType t = frame_.type;
    if (i == 1) {
      if (utf8_length(text) > kMaxMessageId) {
        // Not a usable id: answering with it would make our own frame invalid, so the answer
        // carries "-1" like an unreadable id.
        std::string shown;
        append_escaped(shown, utf8_prefix(text, kMaxMessageId));
        return fail(Violation::kFrame,
                    "message id longer than 36 characters: \"" + shown + "...\"");
      }
      frame_.message_id = keep(text);
      id_known_ = true;
      if (unknown_type_) {
        return fail(Violation::kUnknownType,
                    "MessageTypeId " + std::to_string(unknown_type_value_) + " is not supported");
      }
      return true;
    }
    if (i == 2 && (t == MessageType::kCall || t == MessageType::kSend)) {
      frame_.action = keep(text);
      frame_.message = find_message(version_, text);
      if (frame_.message == nullptr) {
        return fail(Violation::kUnknownAction,
                    "unknown action '" + std::string(utf8_prefix(text, 64)) + "' in OCPP " +
                        std::string(version_label(version_)));
      }
      const Direction incoming =
          role_ == Role::kCsms ? Direction::kChargerToCsms : Direction::kCsmsToCharger;
      if (frame_.message->direction != incoming && frame_.message->direction != Direction::kBoth) {
        return fail(Violation::kNotSupported,
                    std::string(text) + " is not sent by the " +
                        (role_ == Role::kCsms ? "charging station" : "CSMS"));
      }
      const bool send_only = frame_.message->response == nullptr;
      if (send_only != (t == MessageType::kSend)) {
        return fail(
            Violation::kNotSupported,
            std::string(text) + (send_only ? " must be sent as SEND" : " cannot be a SEND"));
      }
      payload_type_ = frame_.message->request;
      return true;
    }
    if (t == MessageType::kCallError || t == MessageType::kCallResultError) {
      if (i == 2) {
        frame_.error_code = keep(text);
        return true;
      }
      if (i == 3) {
        frame_.error_description = keep(text);
        return true;
      }
    }
    return frame_type_error(i, "a string");
  }

  bool frame_number(std::int64_t value, bool is_integer) {
    Level& l = top();
    const std::uint32_t i = l.index++;
    if (i != 0) return frame_type_error(i, "a number");
    if (!is_integer) return fail(Violation::kFrame, "MessageTypeId must be an integer");
    type_known_ = true;
    const bool v21 = version_ == Version::k21;
    switch (value) {
      case 2:
        frame_.type = MessageType::kCall;
        return true;
      case 3:
        frame_.type = MessageType::kCallResult;
        return true;
      case 4:
        frame_.type = MessageType::kCallError;
        return true;
      case 5:
        if (v21) {
          frame_.type = MessageType::kCallResultError;
          return true;
        }
        break;
      case 6:
        if (v21) {
          frame_.type = MessageType::kSend;
          return true;
        }
        break;
      default:
        break;
    }
    // Read the message id first: 2.0.1 answers MessageTypeNotSupported with it.
    unknown_type_ = true;
    unknown_type_value_ = value;
    return true;
  }

  bool frame_end() {
    const std::uint32_t n = top().index;
    --depth_;
    if (unknown_type_) {
      return fail(Violation::kUnknownType,
                  "MessageTypeId " + std::to_string(unknown_type_value_) + " is not supported");
    }
    std::uint32_t expected = 0;
    switch (frame_.type) {
      case MessageType::kCall:
      case MessageType::kSend:
        expected = 4;
        break;
      case MessageType::kCallResult:
        expected = 3;
        break;
      case MessageType::kCallError:
      case MessageType::kCallResultError:
        // Details are required, but a received error without them is still understood.
        expected = n == 4 ? 4 : 5;
        break;
    }
    if (n != expected) {
      return fail(Violation::kFrame, "frame has " + std::to_string(n) + " elements, expected " +
                                         std::to_string(expected));
    }
    return true;
  }

  // -- payload -------------------------------------------------------------------------
  bool push_root() {
    if (payload_type_ == nullptr) return fail(Violation::kFrame, "payload before the action");
    void* root = arena_.allocate(payload_type_->size, payload_type_->align);
    payload_type_->construct(root);
    frame_.payload_type = payload_type_;
    frame_.payload = root;
    return push_object(*payload_type_, root);
  }

  bool root_scalar() {
    if (frame_mode_) return fail(Violation::kFrame, "frame is not a JSON array");
    return fail(Violation::kFormat, "payload must be a JSON object");
  }

  bool push_object(const TypeInfo& type, void* storage) {
    if (depth_ >= kMaxDepth) return fail(Violation::kFormat, "nesting deeper than 32 levels");
    Level& l = push(Mode::kObject);
    l.type = &type;
    l.storage = storage;
    return true;
  }

  bool member_key(std::string_view key) {
    Level& l = top();
    l.extra_member = false;
    l.drop_member = false;
    l.field = nullptr;
    const int i = l.type->find(key);
    if (i >= 0) {
      const FieldInfo& f = l.type->fields[i];
      l.key = f.name;
      const std::uint64_t bit = std::uint64_t{1} << i;
      if ((l.seen & bit) != 0) return fail(Violation::kFormat, prefix(true) + "duplicate member");
      l.seen |= bit;
      l.field = &f;
      l.capture_next = f.value.kind == Kind::kAny;
      return true;
    }
    l.key = arena_.copy(key);
    l.capture_next = true;
    if (l.type->extra != nullptr) {
      for (auto it = extra_keys_.rbegin(); it != extra_keys_.rend() && it->first == depth_; ++it) {
        if (it->second == key) return fail(Violation::kFormat, prefix(true) + "duplicate member");
      }
      extra_keys_.emplace_back(depth_, std::string(key));
      l.extra_member = true;
      return true;
    }
    if (lenient_) {
      frame_.quirks |= kQuirkUnknownField;
      l.drop_member = true;
      return true;
    }
    return fail(
        Violation::kFormat,
        prefix(true) + "unknown member (the schema allows none beyond " + "its properties)");
  }

  // Where the next value goes: a member's storage, or a new array item.
  bool target(const ValueInfo*& value, void*& slot) {
    Level& l = top();
    if (l.mode == Mode::kObject) {
      value = &l.field->value;
      slot = l.field->emplace(l.storage);
      return true;
    }
    // Array item.
    const ValueInfo& item = *l.array->item;
    auto* list = static_cast<detail::ListStorage*>(l.storage);
    const std::size_t size = slot_size(item);
    if (list->size == list->capacity) {
      const std::uint32_t capacity = list->capacity == 0 ? 4 : list->capacity * 2;
      void* data = arena_.allocate(size * capacity, slot_align(item));
      if (list->size != 0) std::memcpy(data, list->data, size * list->size);
      list->data = data;
      list->capacity = capacity;
    }
    l.index = list->size;
    slot = static_cast<char*>(list->data) + size * list->size++;
    construct_slot(item, slot);
    value = &item;
    return true;
  }

  // A complete value was stored in the current member or item.
  bool value_done() {
    if (depth_ > 0 && top().mode == Mode::kObject) top().field = nullptr;
    return true;
  }

  bool string_value(std::string_view text) {
    if (capture_depth_ > 0 || (depth_ > 0 && top().capture_next && begin_capture()))
      return capture_string(text);
    if (depth_ == 0) return root_scalar();
    if (top().mode == Mode::kFrame) return frame_string(text);
    const ValueInfo* v = nullptr;
    void* slot = nullptr;
    if (!target(v, slot)) return false;
    switch (v->kind) {
      case Kind::kString:
      case Kind::kUri: {
        // Code points never outnumber bytes: count only when the bytes exceed the limit.
        if (v->max_length != 0 && text.size() > v->max_length &&
            utf8_length(text) > v->max_length) {
          return fail(Violation::kValue, prefix(true) + "longer than " +
                                             std::to_string(v->max_length) + " characters");
        }
        if (v->kind == Kind::kUri && !is_uri(text)) {
          return fail(Violation::kValue, prefix(true) + "not a URI");
        }
        *static_cast<String*>(slot) = String(keep(text));
        return value_done();
      }
      case Kind::kEnum: {
        int i = v->enumeration->find(text);
        if (i < 0 && lenient_) {
          i = v->enumeration->find_ignoring_case(text);
          if (i >= 0) frame_.quirks |= kQuirkEnumCase;
        }
        if (i < 0) {
          return fail(Violation::kValue, prefix(true) + "'" + std::string(utf8_prefix(text, 64)) +
                                             "' is not a value of " +
                                             std::string(v->enumeration->name));
        }
        *static_cast<std::uint16_t*>(slot) = static_cast<std::uint16_t>(i);
        return value_done();
      }
      case Kind::kDateTime: {
        bool zone_missing = false;
        auto parsed = DateTime::parse(text, lenient_, &zone_missing);
        if (!parsed) {
          return fail(Violation::kType, prefix(true) + "not an RFC 3339 date-time");
        }
        if (zone_missing) frame_.quirks |= kQuirkDateTimeWithoutZone;
        *static_cast<DateTime*>(slot) = *parsed;
        return value_done();
      }
      case Kind::kInteger:
      case Kind::kNumber: {
        if (lenient_) {
          const NumberText n = parse_number_text(text);
          if (n.valid) {
            frame_.quirks |= kQuirkNumberAsString;
            return store_number(*v, slot, text, n.value, n.integer, n.is_integer, false);
          }
        }
        return type_error(*v, "string");
      }
      default:
        return type_error(*v, "string");
    }
  }

  std::string_view number_text(json::string_view s) {
    if (part_.empty()) return {s.data(), s.size()};
    part_.append(s.data(), s.size());
    return part_;
  }

  bool number_value(std::string_view text, double d, std::int64_t i, bool is_integer,
                    bool too_big = false) {
    if (capture_depth_ > 0 || (depth_ > 0 && top().capture_next && begin_capture()))
      return capture_scalar(text);
    if (depth_ == 0) return root_scalar();
    if (top().mode == Mode::kFrame) return frame_number(i, is_integer);
    const ValueInfo* v = nullptr;
    void* slot = nullptr;
    if (!target(v, slot)) return false;
    if (v->kind != Kind::kInteger && v->kind != Kind::kNumber) return type_error(*v, "number");
    return store_number(*v, slot, text, d, i, is_integer, too_big);
  }

  bool store_number(const ValueInfo& v, void* slot, std::string_view text, double d, std::int64_t i,
                    bool is_integer, bool too_big) {
    if (!std::isfinite(d)) {
      return fail(Violation::kValue, prefix(true) + "number out of the double range");
    }
    if (v.kind == Kind::kInteger && !is_integer && !too_big) {
      // An integer literal here is one beyond 64 bits. Otherwise draft 6 counts 1.0 and 1e2 as
      // integers; draft 4 does not.
      const bool literal = text.find_first_of(".eE") == std::string_view::npos;
      if (!literal && (v.has(ValueInfo::kDraft4) || d != std::floor(d))) {
        return type_error(v, "a number with a fraction");
      }
      too_big = literal || std::fabs(d) >= 9.2e18;
      if (!too_big) i = static_cast<std::int64_t>(d);
    }
    if (v.kind == Kind::kInteger && too_big) {
      return fail(Violation::kValue, prefix(true) + "integer out of the 64-bit range");
    }
    if (v.has(ValueInfo::kHasMinimum) && d < v.minimum) {
      return fail(Violation::kValue, prefix(true) + std::string(text) + " is below the minimum " +
                                         format_number(v.minimum));
    }
    if (v.has(ValueInfo::kHasMaximum) && d > v.maximum) {
      return fail(Violation::kValue, prefix(true) + std::string(text) + " is above the maximum " +
                                         format_number(v.maximum));
    }
    if (!v.multiple_of.empty() && !is_multiple_of(text, v.multiple_of)) {
      return fail(Violation::kValue, prefix(true) + std::string(text) + " is not a multiple of " +
                                         std::string(v.multiple_of));
    }
    if (v.kind == Kind::kInteger) {
      *static_cast<std::int64_t*>(slot) = i;
    } else {
      *static_cast<double*>(slot) = d;
    }
    return value_done();
  }

  static std::string format_number(double d) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return {buf, end};
  }

  // -- raw capture (any values, extra members, dropped members, error details) ---------
  enum class CaptureKind : std::uint8_t { kNone, kAny, kExtra, kDrop, kErrorDetails };

  // Starts capturing the next value (capture_next is set): an open object's extra member, a
  // dropped member or an "any" field.
  bool begin_capture() {
    Level& l = top();
    if (l.mode == Mode::kArray) {  // an array of "any" values
      const ValueInfo* v = nullptr;
      void* slot = nullptr;
      target(v, slot);
      return start_capture(CaptureKind::kAny, slot);
    }
    l.capture_next = false;
    if (l.extra_member) return start_capture(CaptureKind::kExtra, nullptr);
    if (l.drop_member) return start_capture(CaptureKind::kDrop, nullptr);
    return start_capture(CaptureKind::kAny, l.field->emplace(l.storage));
  }

  bool start_capture(CaptureKind kind, void* slot) {
    capture_keys_.clear();
    capture_kind_ = kind;
    capture_slot_ = slot;
    capture_.clear();
    needs_comma_ = 0;
    capture_depth_ = 0;
    after_key_ = false;
    return true;
  }

  void capture_separator() {
    if (capture_depth_ > 0) {
      const std::uint64_t bit = std::uint64_t{1} << (capture_depth_ - 1);
      if (after_key_) {
        after_key_ = false;
      } else if ((needs_comma_ & bit) != 0) {
        capture_.push_back(',');
      }
      needs_comma_ |= bit;
    }
  }

  bool capture_open(char c) {
    capture_separator();
    if (depth_ + capture_depth_ >= kMaxDepth) {
      return fail(Violation::kFormat, "nesting deeper than 32 levels");
    }
    capture_.push_back(c);
    ++capture_depth_;
    needs_comma_ &= ~(std::uint64_t{1} << (capture_depth_ - 1));
    return true;
  }

  bool capture_close(char c) {
    capture_.push_back(c);
    if (c == '}') {
      while (!capture_keys_.empty() && capture_keys_.back().first == capture_depth_) {
        capture_keys_.pop_back();
      }
    }
    --capture_depth_;
    return capture_depth_ == 0 ? finish_capture() : true;
  }

  bool capture_key(std::string_view key) {
    // Member names must be unique in captured objects too.
    for (auto it = capture_keys_.rbegin();
         it != capture_keys_.rend() && it->first == capture_depth_; ++it) {
      if (it->second == key) {
        return fail(Violation::kFormat,
                    prefix(true) + "duplicate member '" + std::string(utf8_prefix(key, 64)) + "'");
      }
    }
    capture_keys_.emplace_back(capture_depth_, std::string(key));
    capture_separator();
    capture_.push_back('"');
    append_escaped(capture_, key);
    capture_ += "\":";
    after_key_ = true;
    return true;
  }

  bool capture_string(std::string_view text) {
    capture_separator();
    capture_.push_back('"');
    append_escaped(capture_, text);
    capture_.push_back('"');
    return capture_depth_ == 0 ? finish_capture() : true;
  }

  bool capture_scalar(std::string_view text) {
    capture_separator();
    capture_.append(text);
    return capture_depth_ == 0 ? finish_capture() : true;
  }

  bool finish_capture() {
    const CaptureKind kind = capture_kind_;
    capture_kind_ = CaptureKind::kNone;
    switch (kind) {
      case CaptureKind::kAny:
        *static_cast<RawJson*>(capture_slot_) = RawJson(arena_.copy(capture_));
        break;
      case CaptureKind::kExtra: {
        // Append "key":value to the members kept so far (one arena block per member; open
        // objects carry a handful at most).
        Level& l = top();
        ExtraMembers* extra = l.type->extra(l.storage);
        const std::string_view before = extra->members();
        std::string& member = scratch_;
        member.clear();
        if (!before.empty()) member.push_back(',');
        member.push_back('"');
        append_escaped(member, l.key);
        member += "\":";
        member += capture_;
        char* out = static_cast<char*>(arena_.allocate(before.size() + member.size(), 1));
        std::copy(member.begin(), member.end(), std::copy(before.begin(), before.end(), out));
        *extra = ExtraMembers(std::string_view(out, before.size() + member.size()));
        break;
      }
      case CaptureKind::kErrorDetails:
        frame_.error_details = arena_.copy(capture_);
        return true;
      case CaptureKind::kDrop:
      case CaptureKind::kNone:
        break;
    }
    return value_done();
  }

  Arena& arena_;
  const char* input_begin_ = nullptr;
  const char* input_end_ = nullptr;
  Version version_ = Version::k16;
  Role role_ = Role::kCsms;
  bool lenient_ = false;
  bool frame_mode_ = true;
  const PendingCall* pending_ = nullptr;
  const TypeInfo* payload_type_ = nullptr;

  std::array<Level, kMaxDepth> levels_{};
  int depth_ = 0;

  bool failed_ = false;
  Violation violation_ = Violation::kFrame;
  bool id_known_ = false;
  bool type_known_ = false;
  bool unknown_type_ = false;
  std::int64_t unknown_type_value_ = 0;
  bool payload_started_ = false;
  DecodedFrame frame_;
  DecodeError error_;

  std::string part_;  // key, string or number arriving in parts (escapes, split input)
  CaptureKind capture_kind_ = CaptureKind::kNone;
  void* capture_slot_ = nullptr;
  std::string capture_;
  std::string scratch_;
  std::vector<std::pair<int, std::string>> capture_keys_;  // names per open captured object
  // Extra members kept so far per open-object depth, to refuse duplicates among them.
  std::vector<std::pair<int, std::string>> extra_keys_;
  int capture_depth_ = 0;
  std::uint64_t needs_comma_ = 0;
  bool after_key_ = false;
};

RpcErrorCode code_for(Violation v, Version version) {
  switch (v) {
    case Violation::kType:
      return RpcErrorCode::kTypeConstraintViolation;
    case Violation::kValue:
      return RpcErrorCode::kPropertyConstraintViolation;
    case Violation::kOccurrence:
      return RpcErrorCode::kOccurrenceConstraintViolation;
    case Violation::kFormat:
      return RpcErrorCode::kFormatViolation;
    case Violation::kFrame:
      return version == Version::k16 ? RpcErrorCode::kFormatViolation
                                     : RpcErrorCode::kRpcFrameworkError;
    case Violation::kUnknownAction:
      return RpcErrorCode::kNotImplemented;
    case Violation::kNotSupported:
      return RpcErrorCode::kNotSupported;
    case Violation::kUnknownType:
      return RpcErrorCode::kMessageTypeNotSupported;
    case Violation::kUnknownId:
      return RpcErrorCode::kGenericError;
  }
  return RpcErrorCode::kGenericError;
}

json::parse_options parser_options() {
  json::parse_options o;
  o.max_depth = kMaxDepth + 2;
  return o;
}

}  // namespace

struct Decoder::Impl {
  explicit Impl(std::size_t block) : arena(block), parser(parser_options(), arena) {}
  Arena arena;
  json::basic_parser<Handler> parser;

  // Runs the parser over `text`; true when the handler accepted everything.
  bool run(std::string_view text, std::string& syntax) {
    parser.reset();
    ec_t ec;
    const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
    if (ec && !parser.handler().failed()) {
      syntax = ec.message();
      return false;
    }
    if (!ec && n != text.size()) {
      syntax = "trailing data after the JSON value";
      return false;
    }
    return !ec;
  }
};

Decoder::Decoder(std::size_t arena_block) : impl_(std::make_unique<Impl>(arena_block)) {}
Decoder::~Decoder() = default;

std::size_t Decoder::footprint() const { return impl_->arena.footprint(); }

std::expected<DecodedFrame, DecodeError> Decoder::decode(Version version, Role role,
                                                         std::string_view frame,
                                                         const PendingCall* pending,
                                                         const DecodeOptions& options) {
  impl_->arena.reset();
  Handler& h = impl_->parser.handler();
  h.start_frame(version, role, pending, options.lenient, frame);
  std::string syntax;
  if (impl_->run(frame, syntax)) return h.frame();

  DecodeError error = h.failed() ? h.take_error() : h.error_for_syntax(syntax);
  const Violation violation = h.violation();
  const DecodedFrame& f = h.frame();
  error.code = code_for(violation, version);
  error.message_id_known = h.id_known();
  error.message_id = h.id_known() ? std::string(f.message_id) : std::string("-1");
  error.type = f.type;
  error.action = std::string(f.action);
  // What to answer. Only a CALL is answered with a CALLERROR; 2.1 answers a CALLRESULT it
  // cannot process with a CALLRESULTERROR; 2.0.1 answers an unknown MessageTypeId.
  if (violation == Violation::kUnknownType) {
    error.reply = version == Version::k201 && h.id_known() ? Reply::kCallError : Reply::kNone;
  } else if (!h.type_known()) {
    error.reply = Reply::kCallError;  // not even a frame: answer with id "-1" or the id read
  } else {
    switch (f.type) {
      case MessageType::kCall:
        error.reply = Reply::kCallError;
        break;
      case MessageType::kCallResult:
        error.reply = version == Version::k21 && violation != Violation::kUnknownId && h.id_known()
                          ? Reply::kCallResultError
                          : Reply::kNone;
        break;
      default:
        error.reply = Reply::kNone;
        break;
    }
  }
  return std::unexpected(std::move(error));
}

std::expected<const void*, DecodeError> Decoder::decode_payload(Version version,
                                                                const TypeInfo& type,
                                                                std::string_view json,
                                                                const DecodeOptions& options,
                                                                std::uint8_t* quirks) {
  impl_->arena.reset();
  Handler& h = impl_->parser.handler();
  h.start_payload(version, type, options.lenient, json);
  std::string syntax;
  if (impl_->run(json, syntax)) {
    if (quirks) *quirks = h.frame().quirks;
    return h.payload();
  }
  DecodeError error = h.failed() ? h.take_error() : h.error_for_syntax(syntax);
  error.code = code_for(h.failed() ? h.violation() : Violation::kFormat, version);
  error.reply = Reply::kNone;
  return std::unexpected(std::move(error));
}

}  // namespace switchyard::ocpp
