#ifndef PITSTOP_SDK_PROPERTIES_H_
#define PITSTOP_SDK_PROPERTIES_H_

// Typed read access to a call's property bag (CallContext.properties), so
// that no driver parses number or date text itself.
//
//   pitstop::sdk::Properties props(request->context());
//   absl::StatusOr<std::string> vip = props.GetString("management_vip");
//   absl::StatusOr<int64_t> max_iops = props.GetIntegerOr("max_iops", 15000);
//
// Under the daemon, the bag has been checked against driver.yaml's schema
// and defaults filled in: every declared property that has a value or a
// default is present in its declared type. Run standalone, a driver may see
// anything, so every accessor checks and reports instead of assuming.
//
// Contracts shared by all accessors:
//   - A key is absent when the bag has no entry for it, or the entry's value
//     is not set (an empty PropertyValue). Has() is false for it; GetX
//     returns NOT_FOUND "property 'k' is not set"; GetXOr returns the
//     fallback.
//   - A present value of another type is INVALID_ARGUMENT, e.g. "property
//     'k' is a number, not a string", from GetX and GetXOr alike: a fallback
//     never hides a bad bag. No accessor converts between types (a
//     string_value "100" is not a number).
//   - Malformed number or date text is INVALID_ARGUMENT (the daemon never
//     sends it). Error messages quote number and date text but never a
//     string value, which may be a secret.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/map.h"
#include "pitstop/driver/v1/context.pb.h"

namespace pitstop::sdk {

// A read-only view of a property bag: it copies nothing and keeps a pointer
// to the bag, which must outlive it (hence no constructor from a
// temporary). Cheap to construct per call. Thread-safe as the bag is: any
// number of threads may read it concurrently while nobody modifies it.
// The id of the call's resource, checking that it is of `type` (e.g.
// "volume") and not empty. INVALID_ARGUMENT saying what to set otherwise.
absl::StatusOr<std::string> RequireResource(
    const pitstop::driver::v1::CallContext& context, absl::string_view type);

class Properties {
 public:
  using Map =
      google::protobuf::Map<std::string, pitstop::driver::v1::PropertyValue>;

  explicit Properties(const pitstop::driver::v1::CallContext& context)
      : properties_(&context.properties()) {}
  explicit Properties(const Map& properties) : properties_(&properties) {}
  explicit Properties(pitstop::driver::v1::CallContext&&) = delete;
  explicit Properties(Map&&) = delete;

  // Whether `key` has a value, of any type.
  bool Has(absl::string_view key) const;

  // Checks that every key in `keys` is a non-empty string, the usual test
  // for the properties that say which backend to talk to. INVALID_ARGUMENT
  // naming the first missing or empty one and, for a missing one, `why`
  // (e.g. "flashpool needs them to know which array to talk to").
  absl::Status RequireStrings(std::initializer_list<absl::string_view> keys,
                              absl::string_view why) const;

  // A string_value, as is (possibly empty).
  absl::StatusOr<std::string> GetString(absl::string_view key) const;

  // A number_value as the nearest double ("1.5e3" is 1500). OUT_OF_RANGE
  // beyond the range of double (e.g. "1e400"); values too small to
  // represent become 0.
  absl::StatusOr<double> GetNumber(absl::string_view key) const;

  // A number_value that is exactly a whole number in int64 range, computed
  // from the decimal text without rounding: "1.0", "1e3" and "-2.50e2" are
  // fine; "1.5" and "1e-3" are INVALID_ARGUMENT; "1e30" and
  // "9223372036854775808" are OUT_OF_RANGE.
  absl::StatusOr<int64_t> GetInteger(absl::string_view key) const;

  // A number_value's text exactly as sent, after checking its syntax: for
  // drivers that need more precision than double or int64 (e.g. money).
  absl::StatusOr<std::string> GetDecimalText(absl::string_view key) const;

  // A bool_value.
  absl::StatusOr<bool> GetBool(absl::string_view key) const;

  // A date_value: a date "2026-01-31" is midnight UTC that day; a date-time
  // needs seconds and an offset, "2026-01-31T12:00:00Z",
  // "2026-01-31T14:00:00+02:00", with up to 9 fractional second digits
  // "2026-01-31T12:00:00.25Z". A date-time without an offset is
  // INVALID_ARGUMENT (no time zone is guessed), and so is an impossible date
  // such as "2026-02-29" or a leap second.
  absl::StatusOr<absl::Time> GetDate(absl::string_view key) const;

  // As above, but `fallback` when `key` is absent. Errors for a present
  // value of the wrong type or with malformed text are the same.
  absl::StatusOr<std::string> GetStringOr(absl::string_view key,
                                          absl::string_view fallback) const;
  absl::StatusOr<double> GetNumberOr(absl::string_view key,
                                     double fallback) const;
  absl::StatusOr<int64_t> GetIntegerOr(absl::string_view key,
                                       int64_t fallback) const;
  absl::StatusOr<std::string> GetDecimalTextOr(
      absl::string_view key, absl::string_view fallback) const;
  absl::StatusOr<bool> GetBoolOr(absl::string_view key, bool fallback) const;
  absl::StatusOr<absl::Time> GetDateOr(absl::string_view key,
                                       absl::Time fallback) const;

 private:
  // The value of `key`, or nullptr when absent.
  const pitstop::driver::v1::PropertyValue* Find(absl::string_view key) const;

  // Constant after construction; not owned.
  const Map* properties_;
};

}  // namespace pitstop::sdk

#endif  // PITSTOP_SDK_PROPERTIES_H_
