#include "supervisor/core/start_order.h"

#include <catch2/catch.hpp>

namespace pitstop {
namespace {

DriverManifest Driver(
    const std::string& name, DriverCategory category,
    std::vector<std::pair<std::string, std::string>> reqs = {},
    const std::string& version = "1.0.0") {
  DriverManifest m;
  m.name = name;
  m.category = category;
  m.version = SemVer::Parse(version).value();
  for (auto& [n, range] : reqs) {
    m.requires_.push_back({n, VersionRange::Parse(range).value()});
  }
  return m;
}

StartOrder Order(const std::vector<DriverManifest>& ms) {
  std::vector<const DriverManifest*> ptrs;
  for (const auto& m : ms) ptrs.push_back(&m);
  return ComputeStartOrder(ptrs);
}

TEST_CASE("start order goes network, storage, hypervisor, then by requires",
          "[core]") {
  auto order = Order({
      Driver("kvm", DriverCategory::kHypervisor),
      Driver("flashpool", DriverCategory::kStorage,
             {{"iscsi-base", ">=1.0.0 <2.0.0"}}),
      Driver("iscsi-base", DriverCategory::kStorage),
      Driver("nvp", DriverCategory::kNetwork),
      Driver("aaa-store", DriverCategory::kStorage),
  });
  REQUIRE(order.unresolved.empty());
  REQUIRE(order.order == std::vector<std::string>{"nvp", "aaa-store",
                                                  "iscsi-base", "flashpool",
                                                  "kvm"});
}

TEST_CASE("unresolvable drivers are named with the reason", "[core]") {
  auto order = Order({
      Driver("a", DriverCategory::kStorage, {{"missing", ">=1.0.0"}}),
      Driver("b", DriverCategory::kStorage, {{"c", ">=1.0.0"}}),
      Driver("c", DriverCategory::kStorage, {{"b", ">=1.0.0"}}),
      Driver("d", DriverCategory::kStorage, {{"net", ">=1.0.0"}}),
      Driver("net", DriverCategory::kNetwork),
      Driver("e", DriverCategory::kStorage, {{"f", ">=2.0.0"}}),
      Driver("f", DriverCategory::kStorage),
      Driver("g", DriverCategory::kStorage, {{"a", ">=1.0.0"}}),
  });
  REQUIRE(order.order == std::vector<std::string>{"net", "f"});
  REQUIRE(order.unresolved["a"].find("'missing'") != std::string::npos);
  REQUIRE(order.unresolved["b"].find("cycle among drivers b, c") !=
          std::string::npos);
  REQUIRE(order.unresolved["d"].find("same category") != std::string::npos);
  REQUIRE(order.unresolved["e"].find("version 1.0.0 is installed") !=
          std::string::npos);
  REQUIRE(order.unresolved["g"].find("'a', which cannot start") !=
          std::string::npos);
}

}  // namespace
}  // namespace pitstop
