// A blocking HTTP/1.1 client for tests (Beast stays in the .cpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace switchyard::testing {

struct HttpResult {
  int status = 0;  // 0: could not connect
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string error;
  std::string header(const std::string& name) const;
};

HttpResult http_request(const std::string& host, int port, const std::string& method,
                        const std::string& target, const std::string& body = {},
                        const std::vector<std::pair<std::string, std::string>>& headers = {});

inline HttpResult http_get(const std::string& host, int port, const std::string& target) {
  return http_request(host, port, "GET", target);
}

}  // namespace switchyard::testing
