// URI syntax, decimal multipleOf and number-in-string parsing.
#include "common/ocpp/formats.h"

#include <charconv>
#include <cmath>
#include <string>

namespace switchyard::ocpp {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_unreserved(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_sub_delim(char c) {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

// Characters of `text` are pchar / extra, with valid percent-escapes.
bool chars_ok(std::string_view text, std::string_view extra) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;
      if (!is_hex(text[i + 1]) || !is_hex(text[i + 2])) return false;
      i += 2;
      continue;
    }
    if (is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@') continue;
    if (extra.find(c) != std::string_view::npos) continue;
    return false;
  }
  return true;
}

bool dec_octet(std::string_view s) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
  int v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  return v <= 255;
}

bool ipv4(std::string_view s) {
  for (int i = 0; i < 4; ++i) {
    const std::size_t dot = s.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return false;
    if (!dec_octet(s.substr(0, dot))) return false;
    s = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  }
  return true;
}

// RFC 3986 IPv6address: eight 16-bit groups, "::" once for a run of zero groups, the last two
// groups optionally an IPv4 address.
bool ipv6(std::string_view s) {
  const std::size_t gap = s.find("::");
  if (gap != std::string_view::npos && s.find("::", gap + 1) != std::string_view::npos) {
    return false;
  }
  auto groups = [](std::string_view part, int& count, bool allow_ipv4) {
    count = 0;
    if (part.empty()) return true;
    for (;;) {
      const std::size_t colon = part.find(':');
      const std::string_view g = part.substr(0, colon);
      if (colon == std::string_view::npos && allow_ipv4 && g.find('.') != std::string_view::npos) {
        if (!ipv4(g)) return false;
        count += 2;
        return true;
      }
      if (g.empty() || g.size() > 4) return false;
      for (char c : g) {
        if (!is_hex(c)) return false;
      }
      ++count;
      if (colon == std::string_view::npos) return true;
      part = part.substr(colon + 1);
    }
  };
  int before = 0, after = 0;
  if (gap == std::string_view::npos) return groups(s, before, true) && before == 8;
  return groups(s.substr(0, gap), before, false) && groups(s.substr(gap + 2), after, true) &&
         before + after <= 7;
}

bool ip_literal(std::string_view s) {  // inside the brackets
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) {
    const std::size_t dot = s.find('.');
    if (dot == std::string_view::npos || dot < 2 || dot + 1 == s.size()) return false;
    for (char c : s.substr(1, dot - 1)) {
      if (!is_hex(c)) return false;
    }
    for (char c : s.substr(dot + 1)) {
      if (!is_unreserved(c) && !is_sub_delim(c) && c != ':') return false;
    }
    return true;
  }
  return ipv6(s);
}

bool authority_ok(std::string_view a) {
  const std::size_t at = a.find('@');
  if (at != std::string_view::npos) {
    // userinfo = *( unreserved / pct-encoded / sub-delims / ":" ): no '@'.
    if (!chars_ok(a.substr(0, at), "") || a.substr(0, at).find('@') != std::string_view::npos) {
      return false;
    }
    a = a.substr(at + 1);
  }
  std::string_view rest;
  if (!a.empty() && a.front() == '[') {
    const std::size_t close = a.find(']');
    if (close == std::string_view::npos || !ip_literal(a.substr(1, close - 1))) return false;
    rest = a.substr(close + 1);
  } else {
    const std::size_t colon = a.find(':');
    const std::string_view host = a.substr(0, colon);
    for (std::size_t i = 0; i < host.size(); ++i) {
      const char c = host[i];
      if (c == '%') {
        if (i + 2 >= host.size() || !is_hex(host[i + 1]) || !is_hex(host[i + 2])) return false;
        i += 2;
      } else if (!is_unreserved(c) && !is_sub_delim(c)) {
        return false;
      }
    }
    rest = colon == std::string_view::npos ? std::string_view{} : a.substr(colon);
  }
  if (rest.empty()) return true;
  if (rest.front() != ':') return false;
  for (char c : rest.substr(1)) {
    if (!is_digit(c)) return false;
  }
  return true;
}

struct Decimal {
  std::string digits;  // no leading or trailing zeros; empty for zero
  long exponent = 0;   // value = digits * 10^exponent
  bool ok = false;
};

Decimal to_decimal(std::string_view t) {
  Decimal d;
  std::size_t i = 0;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
  long frac = 0;
  bool any = false;
  for (; i < t.size() && is_digit(t[i]); ++i) {
    any = true;
    if (!(d.digits.empty() && t[i] == '0')) d.digits.push_back(t[i]);
  }
  if (i < t.size() && t[i] == '.') {
    for (++i; i < t.size() && is_digit(t[i]); ++i) {
      any = true;
      ++frac;
      if (!(d.digits.empty() && t[i] == '0')) d.digits.push_back(t[i]);
    }
  }
  long exp = 0;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) neg = t[i++] == '-';
    long e = 0;
    for (; i < t.size() && is_digit(t[i]); ++i) e = std::min(e * 10 + (t[i] - '0'), 100000L);
    exp = neg ? -e : e;
  }
  if (!any || i != t.size()) return d;
  d.exponent = exp - frac;
  while (!d.digits.empty() && d.digits.back() == '0') {
    d.digits.pop_back();
    ++d.exponent;
  }
  d.ok = true;
  return d;
}

}  // namespace

bool is_uri(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(text[0])) return false;
  for (char c : text.substr(0, colon)) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  std::string_view rest = text.substr(colon + 1);
  const std::size_t hash = rest.find('#');
  std::string_view fragment;
  if (hash != std::string_view::npos) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    if (!chars_ok(fragment, "/?")) return false;
  }
  const std::size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    if (!chars_ok(rest.substr(question + 1), "/?")) return false;
    rest = rest.substr(0, question);
  }
  if (rest.starts_with("//")) {
    rest = rest.substr(2);
    const std::size_t slash = rest.find('/');
    if (!authority_ok(rest.substr(0, slash))) return false;
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  }
  return chars_ok(rest, "/");
}

bool is_multiple_of(std::string_view number, std::string_view multiple) {
  const Decimal n = to_decimal(number);
  const Decimal m = to_decimal(multiple);
  if (!n.ok || !m.ok || m.digits.empty()) return false;
  if (n.digits.empty()) return true;  // zero
  // n = D*10^e, m = M*10^f. With trailing zeros stripped, D is not a multiple of 10, so
  // n/m is integral only if e >= f and D*10^(e-f) is a multiple of M.
  const long k = n.exponent - m.exponent;
  if (k < 0) return false;
  if (m.digits.size() > 18) {
    const double q = std::stod(std::string(number)) / std::stod(std::string(multiple));
    return std::fabs(q - std::round(q)) < 1e-9;
  }
  const std::uint64_t mod = std::stoull(m.digits);
  std::uint64_t r = 0;  // r < mod <= 10^18, so r * 10 + 9 fits
  for (char c : n.digits) r = (r * 10 + static_cast<unsigned>(c - '0')) % mod;
  for (long i = 0; i < k && r != 0; ++i) r = (r * 10) % mod;
  return r == 0;
}

NumberText parse_number_text(std::string_view t) {
  NumberText out;
  // JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  if (i >= t.size() || !is_digit(t[i])) return out;
  if (t[i] == '0' && i + 1 < t.size() && is_digit(t[i + 1])) return out;
  while (i < t.size() && is_digit(t[i])) ++i;
  bool integral = true;
  if (i < t.size() && t[i] == '.') {
    integral = false;
    if (++i >= t.size() || !is_digit(t[i])) return out;
    while (i < t.size() && is_digit(t[i])) ++i;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    integral = false;
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (i >= t.size() || !is_digit(t[i])) return out;
    while (i < t.size() && is_digit(t[i])) ++i;
  }
  if (i != t.size()) return out;
  if (integral) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out.integer);
    if (ec == std::errc()) {
      out.is_integer = true;
      out.value = static_cast<double>(out.integer);
      out.valid = true;
      return out;
    }
  }
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out.value);
  out.valid = ec == std::errc() && std::isfinite(out.value);
  return out;
}

}  // namespace switchyard::ocpp
