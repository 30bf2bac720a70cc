#ifndef PITSTOP_SUPERVISOR_CAR_MESSAGE_BUNDLE_H_
#define PITSTOP_SUPERVISOR_CAR_MESSAGE_BUNDLE_H_

// A CAR's resources/messages.properties: the labels and descriptions that
// driver.yaml's *_key fields name, in Java .properties syntax (key=value or
// key: value, '#' and '!' comments, backslash continuations and \uXXXX
// escapes).

#include <map>
#include <optional>
#include <string>
#include <vector>

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
  // The message for `key`, or nullopt.
  std::optional<std::string> Find(absl::string_view key) const;
  size_t size() const { return messages_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> messages_;
};

// A CAR's default bundle (resources/messages.properties) and its locale
// bundles (resources/messages_<locale>.properties, e.g. messages_de,
// messages_pt_BR).
class MessageCatalog {
 public:
  MessageCatalog() = default;
  // Loads every bundle in `resources_dir`; a missing folder or default
  // bundle is empty. Errors name an unreadable file.
  static absl::StatusOr<MessageCatalog> Load(const std::string& resources_dir);

  // Looks `key` up in the locale ("pt_BR"), then its language ("pt"), then
  // the default bundle; falls back to the key itself.
  std::string Lookup(absl::string_view key,
                     absl::string_view locale = "") const;

  // The locales that have a bundle, sorted.
  std::vector<std::string> locales() const;

  // For tests and tools.
  void SetDefaultForTest(MessageBundle b) { default_ = std::move(b); }
  void AddLocaleForTest(std::string locale, MessageBundle b) {
    by_locale_[std::move(locale)] = std::move(b);
  }

 private:
  MessageBundle default_;
  std::map<std::string, MessageBundle, std::less<>> by_locale_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_MESSAGE_BUNDLE_H_
