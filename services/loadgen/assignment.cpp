// Charger identity and placement.
#include "loadgen/assignment.h"

#include <cmath>

namespace switchyard::loadgen {

std::expected<TargetUrl, std::string> parse_url(std::string_view url) {
  TargetUrl out;
  std::string_view rest;
  if (url.starts_with("ws://")) {
    rest = url.substr(5);
  } else if (url.starts_with("wss://")) {
    out.tls = true;
    rest = url.substr(6);
  } else {
    return std::unexpected("URL must start with ws:// or wss://: " + std::string(url));
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.empty()) return std::unexpected("URL has no host: " + std::string(url));
  if (authority.front() == '[') {  // [::1]:9000
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::unexpected("bad IPv6 host: " + std::string(url));
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() == ':') out.port = authority.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = authority.substr(colon + 1);
  }
  if (out.port.empty()) out.port = out.tls ? "443" : "80";
  for (char c : out.port) {
    if (c < '0' || c > '9') return std::unexpected("bad port in URL: " + std::string(url));
  }
  out.path = std::string(path);
  return out;
}

std::string request_target(const TargetUrl& url, std::string_view charger_id) {
  std::string target;
  target.reserve(url.path.size() + 1 + charger_id.size());
  target += url.path;
  target += '/';
  target += charger_id;
  return target;
}

std::string charger_id(std::string_view prefix, std::uint64_t index, int width) {
  std::string digits = std::to_string(index);
  std::string id(prefix);
  if (static_cast<int>(digits.size()) < width) {
    id.append(static_cast<std::size_t>(width) - digits.size(), '0');
  }
  id += digits;
  return id;
}

std::string expand_pattern(std::string_view pattern, std::string_view id, std::uint64_t index) {
  std::string out;
  out.reserve(pattern.size() + id.size());
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern.substr(i).starts_with("{id}")) {
      out += id;
      i += 4;
    } else if (pattern.substr(i).starts_with("{i}")) {
      out += std::to_string(index);
      i += 3;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

bool pick_share(std::uint64_t index, double share) {
  if (share <= 0) return false;
  if (share >= 1) return true;
  // Bresenham: index i is picked when the count of picked ones up to it steps up at i.
  const auto before = static_cast<std::uint64_t>(std::floor(static_cast<double>(index) * share));
  const auto after = static_cast<std::uint64_t>(std::floor(static_cast<double>(index + 1) * share));
  return after > before;
}

ocpp::Version version_for(std::uint64_t index, double ocpp16_share) {
  return pick_share(index, ocpp16_share) ? ocpp::Version::k16 : ocpp::Version::k201;
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto pos = text.find(separator);
    std::string_view item = text.substr(0, pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + 1);
  }
  return out;
}

}  // namespace switchyard::loadgen
