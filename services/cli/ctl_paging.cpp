// Following next_page_token through list RPCs, by reflection.
#include "cli/ctl_paging.h"

#include <algorithm>
#include <memory>

namespace switchyard::ctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr int kMaxPageSize = 1000;

const FieldDescriptor* string_field(const Message& message, const char* name) {
  const FieldDescriptor* f = message.GetDescriptor()->FindFieldByName(name);
  return f != nullptr && f->cpp_type() == FieldDescriptor::CPPTYPE_STRING && !f->is_repeated()
             ? f
             : nullptr;
}

int list_size(const Message& response) {
  int size = 0;
  const auto& type = *response.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* f = type.field(i);
    if (f->is_repeated() && f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      size = std::max(size, response.GetReflection()->FieldSize(response, f));
    }
  }
  return size;
}

void set_page_size(Message& request, std::optional<int> limit) {
  const FieldDescriptor* f = request.GetDescriptor()->FindFieldByName("page_size");
  if (f == nullptr || f->cpp_type() != FieldDescriptor::CPPTYPE_INT32 || !limit) return;
  request.GetReflection()->SetInt32(&request, f, std::clamp(*limit, 1, kMaxPageSize));
}

}  // namespace

Result<void> fetch_all_pages(Message& request, Message& merged, std::optional<int> limit,
                             const PageFetch& fetch) {
  const FieldDescriptor* page_token = string_field(request, "page_token");
  set_page_size(request, limit);
  merged.Clear();
  std::unique_ptr<Message> page(merged.New());
  std::string previous_token;
  while (true) {
    page->Clear();
    if (auto fetched = fetch(request, *page); !fetched) return fetched;
    merged.MergeFrom(*page);
    const FieldDescriptor* next = string_field(*page, "next_page_token");
    std::string token = next ? page->GetReflection()->GetString(*page, next) : "";
    bool enough = limit && list_size(merged) >= *limit;
    if (token.empty() || page_token == nullptr || enough) break;
    if (token == previous_token) {
      return make_error(ErrorCode::kInternal, "the server returned the same page token twice");
    }
    previous_token = token;
    request.GetReflection()->SetString(&request, page_token, token);
  }
  if (const FieldDescriptor* next = string_field(merged, "next_page_token")) {
    merged.GetReflection()->ClearField(&merged, next);
  }
  if (limit) truncate_lists(merged, *limit);
  return {};
}

void truncate_lists(Message& response, int limit) {
  const auto& type = *response.GetDescriptor();
  const auto* reflection = response.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor* f = type.field(i);
    if (!f->is_repeated() || f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    while (reflection->FieldSize(response, f) > std::max(limit, 0)) {
      reflection->RemoveLast(&response, f);
    }
  }
}

}  // namespace switchyard::ctl
