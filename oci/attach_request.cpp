// SPDX-License-Identifier: Apache-2.0
#include "oci/attach_request.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <functional>
#include <utility>

#include "oci/error.hpp"
#include "oci/json.hpp"
#include "oci/quote.hpp"

namespace ojh {
namespace {

constexpr unsigned kMaxDepth = 4;

constexpr std::array<std::pair<AttachCommand, std::string_view>, 5> kCommands = {{
    {AttachCommand::CreateRuntime, "create-runtime"},
    {AttachCommand::Poststop, "poststop"},
    {AttachCommand::Status, "status"},
    {AttachCommand::Gc, "gc"},
    {AttachCommand::Events, "events"},
}};

bool takes_json(AttachCommand c) {
  return c == AttachCommand::Status || c == AttachCommand::Events;
}

bool takes_state(AttachCommand c) {
  return c == AttachCommand::CreateRuntime || c == AttachCommand::Poststop;
}

[[noreturn]] void fail(std::string_view what, const std::string& message) {
  throw Error(std::string(what) + ": " + message);
}

// Refused rather than ignored: a newer client's request is never half understood.
void refuse_unknown(const rapidjson::Value& object, std::string_view what,
                    std::initializer_list<std::string_view> known) {
  for (const auto& m : object.GetObject()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || json::view(m.name) == k;
    if (!ok) fail(what, "unknown key " + quote_untrusted(json::view(m.name)));
  }
}

// A bounded JSON object with unique keys, all of them `known`.
void parse_object(std::string_view text, std::string_view what, std::size_t max_bytes,
                  std::initializer_list<std::string_view> known, rapidjson::Document& doc) {
  if (text.size() > max_bytes) fail(what, "larger than " + std::to_string(max_bytes) + " bytes");
  json::parse_object(text, what, kMaxDepth, doc);
  refuse_unknown(doc, what, known);
}

std::string write(const std::function<void(rapidjson::Writer<rapidjson::StringBuffer>&)>& body) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  body(w);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

void key_string(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key,
                const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

}  // namespace

const char* attach_command_name(AttachCommand command) {
  for (const auto& [c, name] : kCommands)
    if (c == command) return name.data();
  return "?";
}

std::string format_attach_request(const AttachRequest& request) {
  return write([&](auto& w) {
    w.Key("version");
    w.Int(kAttachProtocolVersion);
    w.Key("command");
    w.String(attach_command_name(request.command));
    if (takes_state(request.command)) key_string(w, "state", request.state);
    if (takes_json(request.command)) {
      w.Key("json");
      w.Bool(request.json);
    }
    if (request.command == AttachCommand::Events && !request.container.empty())
      key_string(w, "container", request.container);
  });
}

AttachRequest parse_attach_request(std::string_view text) {
  constexpr std::string_view what = "attach request";
  rapidjson::Document doc;
  parse_object(text, what, kMaxAttachRequestBytes,
               {"version", "command", "state", "json", "container"}, doc);

  const rapidjson::Value& root = doc;  // const iterators: RapidJSON 1.1's are ambiguous in C++20
  const auto member = [&root](const char* key) -> const rapidjson::Value* {
    const auto it = root.FindMember(key);
    return it == root.MemberEnd() ? nullptr : &it->value;
  };
  const rapidjson::Value* version = member("version");
  if (!version) fail(what, "missing \"version\"");
  if (!version->IsInt() || version->GetInt() != kAttachProtocolVersion)
    fail(what, "version must be " + std::to_string(kAttachProtocolVersion) +
                   " (client and service of different oci-jail-hook versions?)");
  const rapidjson::Value* command = member("command");
  if (!command) fail(what, "missing \"command\"");
  if (!command->IsString()) fail(what, "\"command\" must be a string");
  AttachRequest request;
  bool known = false;
  for (const auto& [c, name] : kCommands) {
    if (json::view(*command) != name) continue;
    request.command = c;
    known = true;
  }
  if (!known) fail(what, "unknown command " + quote_untrusted(json::view(*command)));

  const rapidjson::Value* state = member("state");
  if (takes_state(request.command) != (state != nullptr))
    fail(what, std::string("\"state\" ") + (state ? "does not belong to " : "is missing for ") +
                   attach_command_name(request.command));
  if (state) {
    if (!state->IsString()) fail(what, "\"state\" must be a string");
    request.state = std::string(json::view(*state));
  }
  const rapidjson::Value* json_flag = member("json");
  if (json_flag && !takes_json(request.command))
    fail(what, std::string("\"json\" does not belong to ") + attach_command_name(request.command));
  if (json_flag) {
    if (!json_flag->IsBool()) fail(what, "\"json\" must be true or false");
    request.json = json_flag->GetBool();
  }
  const rapidjson::Value* container = member("container");
  if (container && request.command != AttachCommand::Events)
    fail(what,
         std::string("\"container\" does not belong to ") + attach_command_name(request.command));
  if (container) {
    // Only compared with recorded ids, never used as a path: a bound is enough.
    if (!container->IsString() || container->GetStringLength() == 0 ||
        container->GetStringLength() > 1024)
      fail(what, "\"container\" must be a container id");
    request.container = std::string(json::view(*container));
  }
  return request;
}

std::string format_attach_reply(const AttachReply& reply) {
  return write([&](auto& w) {
    w.Key("status");
    w.Int(reply.status);
    key_string(w, "stdout", reply.out);
    key_string(w, "stderr", reply.err);
  });
}

AttachReply parse_attach_reply(std::string_view text) {
  constexpr std::string_view what = "attach service reply";
  rapidjson::Document doc;
  parse_object(text, what, kMaxAttachReplyBytes, {"status", "stdout", "stderr"}, doc);
  const rapidjson::Value& root = doc;  // const iterators: RapidJSON 1.1's are ambiguous in C++20
  AttachReply reply;
  const auto status = root.FindMember("status");
  if (status == root.MemberEnd() || !status->value.IsInt() || status->value.GetInt() < 0 ||
      status->value.GetInt() > 255)
    fail(what, "\"status\" must be an exit status (0-255)");
  reply.status = status->value.GetInt();
  for (auto [key, out] : {std::pair{"stdout", &reply.out}, std::pair{"stderr", &reply.err}}) {
    const auto it = root.FindMember(key);
    if (it == root.MemberEnd() || !it->value.IsString())
      fail(what, "\"" + std::string(key) + "\" must be a string");
    *out = std::string(json::view(it->value));
  }
  return reply;
}

}  // namespace ojh
