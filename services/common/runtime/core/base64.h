// Base64 (RFC 4648, standard alphabet with padding), e.g. for HTTP Basic auth and OCPI tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace switchyard {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace switchyard
