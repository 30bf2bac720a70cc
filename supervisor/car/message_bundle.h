#ifndef PITSTOP_SUPERVISOR_CAR_MESSAGE_BUNDLE_H_
#define PITSTOP_SUPERVISOR_CAR_MESSAGE_BUNDLE_H_

// A CAR's resources/messages.properties: the labels and descriptions that
// driver.yaml's *_key fields name, in Java .properties syntax (key=value or
// key: value, '#' and '!' comments, backslash continuations and \uXXXX
// escapes).

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pitstop {

class MessageBundle {
 public:
  MessageBundle() = default;
  static MessageBundle Parse(absl::string_view text);
  // An absent file is an empty bundle; an unreadable one is an error.
  static absl::StatusOr<MessageBundle> Load(const std::string& path);

  // The message for `key`, or `key` itself when the bundle lacks it.
  std::string Lookup(absl::string_view key) const;
  size_t size() const { return messages_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> messages_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_MESSAGE_BUNDLE_H_
