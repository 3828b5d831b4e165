// RFC 6455 framing (both sides) and the upgrade handshake's text.
#include "common/runtime/websocket/protocol.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace switchyard::websocket {

namespace {

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (static_cast<unsigned char>(x) | 0x20) == (static_cast<unsigned char>(y) | 0x20);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string accept_key(std::string_view key) {
  std::string material(key);
  material += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  return base64(digest, sizeof digest);
}

std::string make_key(std::uint64_t seed) {
  unsigned char bytes[16];
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  for (unsigned char& byte : bytes) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    byte = static_cast<unsigned char>(x);
  }
  return base64(bytes, sizeof bytes);
}

std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key,
                            std::string_view protocol, std::string_view authorization) {
  std::string out;
  out.reserve(256 + authorization.size());
  out += "GET ";
  out += target;
  out += " HTTP/1.1\r\nHost: ";
  out += host;
  out += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  out += key;
  out += "\r\nSec-WebSocket-Version: 13\r\n";
  if (!protocol.empty()) {
    out += "Sec-WebSocket-Protocol: ";
    out += protocol;
    out += "\r\n";
  }
  if (!authorization.empty()) {
    out += "Authorization: ";
    out += authorization;
    out += "\r\n";
  }
  out += "User-Agent: switchyard-loadgen\r\n\r\n";
  return out;
}

std::optional<UpgradeResponse> parse_upgrade_response(std::string_view bytes) {
  const auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  UpgradeResponse response;
  response.header_bytes = end + 4;
  const std::string_view head = bytes.substr(0, end + 2);
  const auto first_line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, first_line_end);
  // "HTTP/1.1 101 Switching Protocols"
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return response;
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (status_line[i] < '0' || status_line[i] > '9') return response;
    status = status * 10 + (status_line[i] - '0');
  }
  response.status = status;
  std::size_t pos = first_line_end + 2;
  while (pos < head.size()) {
    const auto line_end = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, line_end - pos);
    pos = line_end + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Sec-WebSocket-Accept")) response.accept = value;
    if (iequals(name, "Sec-WebSocket-Protocol")) response.protocol = value;
    if (iequals(name, "Retry-After") && !value.empty() && value.size() <= 9) {
      int seconds = 0;
      bool digits = true;
      for (char ch : value) {
        if (ch < '0' || ch > '9') {
          digits = false;
          break;
        }
        seconds = seconds * 10 + (ch - '0');
      }
      if (digits) response.retry_after_s = seconds;
    }
  }
  return response;
}

void apply_mask(char* data, std::size_t size, std::uint32_t mask) {
  // The mask is 4 bytes in wire order; memcpy keeps that order in memory on any endianness.
  unsigned char key[4];
  std::memcpy(key, &mask, 4);
  std::uint64_t wide;
  std::memcpy(&wide, key, 4);
  std::memcpy(reinterpret_cast<char*>(&wide) + 4, key, 4);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, data + i, 8);
    v ^= wide;
    std::memcpy(data + i, &v, 8);
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ static_cast<char>(key[i & 3]));
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload, std::uint32_t mask) {
  const std::size_t n = payload.size();
  char header[14];
  std::size_t h = 0;
  header[h++] = static_cast<char>(0x80 | opcode);
  if (n < 126) {
    header[h++] = static_cast<char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    header[h++] = static_cast<char>(0x80 | 126);
    header[h++] = static_cast<char>(n >> 8);
    header[h++] = static_cast<char>(n & 0xFF);
  } else {
    header[h++] = static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      header[h++] = static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xFF);
    }
  }
  std::memcpy(header + h, &mask, 4);
  h += 4;
  const std::size_t at = out.size();
  out.append(header, h);
  out.append(payload);
  apply_mask(out.data() + at + h, n, mask);
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload) {
  const std::size_t n = payload.size();
  char header[10];
  std::size_t h = 0;
  header[h++] = static_cast<char>(0x80 | opcode);
  if (n < 126) {
    header[h++] = static_cast<char>(n);
  } else if (n <= 0xFFFF) {
    header[h++] = static_cast<char>(126);
    header[h++] = static_cast<char>(n >> 8);
    header[h++] = static_cast<char>(n & 0xFF);
  } else {
    header[h++] = static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      header[h++] = static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xFF);
    }
  }
  out.append(header, h);
  out.append(payload);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  // 125 bytes in all; a cut never splits a UTF-8 sequence.
  std::size_t take = std::min<std::size_t>(reason.size(), 123);
  while (take > 0 && take < reason.size() &&
         (static_cast<unsigned char>(reason[take]) & 0xC0) == 0x80) {
    --take;
  }
  out.append(reason.substr(0, take));
  return out;
}

ClosePayload parse_close_payload(std::string_view payload) {
  ClosePayload close;
  if (payload.empty()) return close;
  if (payload.size() == 1) {
    close.valid = false;
    return close;
  }
  close.code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                          static_cast<unsigned char>(payload[1]));
  close.reason = payload.substr(2);
  const std::uint16_t c = close.code;
  // Codes a peer may send (section 7.4): 1000-1003, 1007-1011, and 3000-4999 for others' use.
  const bool allowed =
      (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
  close.valid = allowed && valid_utf8(close.reason);
  return close;
}

bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII eight bytes at a time: OCPP-J frames are almost all ASCII.
    if (i + 8 <= n) {
      std::uint64_t v;
      std::memcpy(&v, p + i, 8);
      if ((v & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
      return false;
    }
    if (i + len > n) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

std::optional<FrameHeader> parse_frame(std::string_view bytes) {
  auto header = parse_frame_header(bytes);
  if (!header || bytes.size() - header->header_bytes < header->length) return std::nullopt;
  return header;
}

std::optional<FrameHeader> parse_frame_header(std::string_view bytes) {
  if (bytes.size() < 2) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  FrameHeader f;
  f.fin = (p[0] & 0x80) != 0;
  f.rsv = p[0] & 0x70;
  f.opcode = p[0] & 0x0F;
  f.masked = (p[1] & 0x80) != 0;
  std::uint64_t length = p[1] & 0x7F;
  std::size_t h = 2;
  if (length == 126) {
    if (bytes.size() < 4) return std::nullopt;
    length = (static_cast<std::uint64_t>(p[2]) << 8) | p[3];
    h = 4;
  } else if (length == 127) {
    if (bytes.size() < 10) return std::nullopt;
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
    h = 10;
  }
  if (f.masked) {
    if (bytes.size() < h + 4) return std::nullopt;
    std::memcpy(&f.mask, p + h, 4);
    h += 4;
  }
  f.length = length;
  f.header_bytes = h;
  return f;
}

std::pair<char*, std::size_t> ReadBuffer::prepare(std::size_t min) {
  if (capacity_ - end_ >= min) return {buffer_.get() + end_, capacity_ - end_};
  const std::size_t used = end_ - begin_;
  if (capacity_ - used >= min && begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, used);
  } else {
    const std::size_t grown = std::max(capacity_ * 2, used + min);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    if (used > 0) std::memcpy(bigger.get(), buffer_.get() + begin_, used);
    buffer_ = std::move(bigger);
    capacity_ = grown;
  }
  begin_ = 0;
  end_ = used;
  return {buffer_.get() + end_, capacity_ - end_};
}

void ReadBuffer::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

void ReadBuffer::shrink(std::size_t keep) {
  if (begin_ == end_ && capacity_ > keep) {
    buffer_.reset();
    capacity_ = 0;
    begin_ = end_ = 0;
  }
}

}  // namespace switchyard::websocket
