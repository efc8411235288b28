// Parse time and peak heap of a 100,000-entry /v1/files reply (≈41 MB, the fake worker's
// entry shape), next to an nlohmann DOM of the same text as a same-run baseline. Prints the
// numbers; asserts only correctness (timings vary with the machine).
//
// This executable replaces the global operator new/delete to count live heap bytes, so it can
// report the peak a parse needs; keep it a separate test program.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "alluxio_fuse/worker/wire.h"

namespace {

std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};

void note_alloc(void* p) {
  int64_t now = g_live.fetch_add(static_cast<int64_t>(malloc_usable_size(p))) +
                static_cast<int64_t>(malloc_usable_size(p));
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

}  // namespace

void* operator new(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  note_alloc(p);
  return p;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  g_live.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)));
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

namespace alluxio_fuse::worker {
namespace {

// Under ASan/TSan the parse is ~10x slower and the timings mean nothing: check correctness
// on a tenth of the listing so the test stays far inside its ctest timeout.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t kEntries = 10'000;
#else
constexpr size_t kEntries = 100'000;
#endif

std::string make_body(size_t n) {
  std::string body = "[";
  body.reserve(n * 420);
  for (size_t i = 0; i < n; ++i) {
    std::string name = "train-" + std::to_string(i) + ".tfrecord";
    if (i > 0) body += ',';
    body +=
        R"({"mType":"file","mName":")" + name + R"(","mPath":"/datasets/imagenet/train/)" + name +
        R"(","mUfsPath":"s3://bucket/datasets/imagenet/train/)" + name + R"(","mLength":)" +
        std::to_string(1000 + i) +
        R"(,"mHumanReadableFileSize":"1.00KB","mLastModificationTimeMs":)" +
        std::to_string(1700000000000 + i) +
        R"(,"mLastAccessTimeMs":1700000000000,"mCreationTimeMs":1700000000000,)"
        R"("mMode":420,"mOwner":"alice","mGroup":"staff","mContentHash":"1000-1700000000000000000",)"
        R"("mCompleted":true,"mPersisted":true,"mInAlluxioPercentage":0})";
  }
  body += "]";
  return body;
}

struct Timing {
  double ms = 0;
  double peak_mb = 0;
};

template <typename Fn>
Timing measure(Fn&& fn) {
  Timing best{1e18, 0};
  for (int round = 0; round < 3; ++round) {
    g_peak.store(g_live.load());
    const int64_t base = g_live.load();
    auto start = std::chrono::steady_clock::now();
    fn();
    auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    best.ms = std::min(best.ms, ms);
    best.peak_mb = static_cast<double>(g_peak.load() - base) / (1 << 20);
  }
  return best;
}

TEST(WorkerListingPerf, HundredThousandEntries) {
  const std::string body = make_body(kEntries);
  size_t kept = 0;
  Timing parse = measure([&] {
    auto listing = parse_listing(body);
    ASSERT_TRUE(listing.ok()) << listing.status().to_string();
    ASSERT_EQ(listing->entries.size(), kEntries);
    EXPECT_EQ(listing->rejected, 0u);
    const auto& last = listing->entries.back();
    EXPECT_EQ(last.name, "train-" + std::to_string(kEntries - 1) + ".tfrecord");
    EXPECT_EQ(last.size, 1000u + (kEntries - 1));
    EXPECT_TRUE(last.size_exact);
    EXPECT_EQ(last.mtime_ms, 1700000000000 + static_cast<int64_t>(kEntries - 1));
    EXPECT_EQ(last.mode, 0644u);
    EXPECT_EQ(last.owner, "alice");
    EXPECT_EQ(last.content_hash, "1000-1700000000000000000");
    kept = listing->entries.size();
  });
  Timing dom = measure([&] {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    ASSERT_TRUE(doc.is_array());
    ASSERT_EQ(doc.size(), kEntries);
  });
  std::printf(
      "listing of %zu entries, %.1f MB of JSON\n"
      "  parse_listing:            %8.1f ms, peak heap %7.1f MB (incl. the result)\n"
      "  nlohmann DOM only (ref.): %8.1f ms, peak heap %7.1f MB\n",
      kept, static_cast<double>(body.size()) / (1 << 20), parse.ms, parse.peak_mb, dom.ms,
      dom.peak_mb);
}

}  // namespace
}  // namespace alluxio_fuse::worker
