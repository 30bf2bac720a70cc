#include "bench/load_generator.h"

#include <grpcpp/client_context.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pitstop/driver/v1/storage.grpc.pb.h"

namespace pitstop {

namespace v1 = pitstop::driver::v1;

LoadGenerator::LoadGenerator(LoadOptions options)
    : options_(std::move(options)) {}

LoadGenerator::~LoadGenerator() { Stop(); }

void LoadGenerator::Start() {
  stop_ = false;
  for (int i = 0; i < options_.callers; ++i) {
    threads_.emplace_back([this, i] { Caller(i); });
  }
}

void LoadGenerator::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

grpc::Status LoadGenerator::CallOnce(v1::StorageService::Stub& stub,
                                     grpc::ClientContext& context,
                                     const v1::CallContext& ctx) const {
  if (options_.method == "GetStats") {
    v1::GetStatsRequest request;
    *request.mutable_context() = ctx;
    v1::GetStatsResponse response;
    return stub.GetStats(&context, request, &response);
  }
  v1::CreateVolumeRequest request;
  *request.mutable_context() = ctx;
  request.set_size_bytes(1 << 20);
  v1::CreateVolumeResponse response;
  return stub.CreateVolume(&context, request, &response);
}

void LoadGenerator::Caller(int index) {
  auto stub = v1::StorageService::NewStub(options_.channel);
  const int resources = std::max(1, options_.resources);
  // Callers start spread over the resources and step through them, so
  // several callers hit the same resource now and then.
  int next = (index * resources) / std::max(1, options_.callers);
  for (int64_t n = 0; !stop_; ++n) {
    CallRecord rec;
    rec.operation_id = absl::StrCat("op-", index, "-", n);
    rec.resource = absl::StrCat("volume/vol-", next);
    v1::CallContext ctx;
    ctx.mutable_resource()->set_type("volume");
    ctx.mutable_resource()->set_id(absl::StrCat("vol-", next));
    ctx.set_operation_id(rec.operation_id);
    ctx.set_caller("pitstop-load");
    if (!options_.work_ms.empty()) {
      (*ctx.mutable_properties())["work_ms"].set_number_value(options_.work_ms);
    }
    for (const auto& [key, value] : options_.properties) {
      (*ctx.mutable_properties())[key].set_string_value(value);
    }
    next = (next + 1) % resources;

    const absl::Time deadline = absl::Now() + options_.call_timeout;
    grpc::Status s;
    rec.start = absl::Now();
    do {
      ++rec.attempts;
      grpc::ClientContext context;
      context.AddMetadata("pitstop-driver", options_.driver);
      context.set_deadline(absl::ToChronoTime(deadline));
      context.set_wait_for_ready(options_.retry_unavailable);
      s = CallOnce(*stub, context, ctx);
    } while (options_.retry_unavailable &&
             s.error_code() == grpc::StatusCode::UNAVAILABLE &&
             absl::Now() < deadline && !stop_);
    rec.end = absl::Now();
    rec.ok = s.ok();
    if (!s.ok()) {
      rec.error = absl::StrCat("code ", static_cast<int>(s.error_code()), ": ",
                               s.error_message());
    }
    absl::MutexLock lock(&mu_);
    records_.push_back(std::move(rec));
  }
}

bool LoadGenerator::AwaitCalls(int64_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const size_t target = records_.size() + n;
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return records_.size() >= target;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

std::vector<CallRecord> LoadGenerator::Records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

LoadSummary LoadGenerator::Summarize(absl::Time from, absl::Time to) const {
  LoadSummary out;
  std::vector<double> micros;
  {
    absl::MutexLock lock(&mu_);
    for (const CallRecord& r : records_) {
      if (r.start < from || r.start >= to) continue;
      ++out.calls;
      if (!r.ok) {
        ++out.failed;
        if (out.first_errors.size() < 5) out.first_errors.push_back(r.error);
      }
      micros.push_back(absl::ToDoubleMicroseconds(r.end - r.start));
    }
  }
  if (!micros.empty()) {
    std::sort(micros.begin(), micros.end());
    auto at = [&](double q) {
      return micros[std::min(micros.size() - 1,
                             static_cast<size_t>(q * micros.size()))];
    };
    out.p50_us = at(0.50);
    out.p99_us = at(0.99);
  }
  return out;
}

}  // namespace pitstop
