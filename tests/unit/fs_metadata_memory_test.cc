// Heap bytes per metadata cache entry, measured with mallinfo2() deltas (all arenas, small and
// mmapped blocks) around inserting N entries whose inputs were built beforehand. Prints the
// figure the README quotes; asserts the cache holds N entries, that the figure is plausible,
// and that clear() gives the memory back.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <string>
#include <vector>

#include "alluxio_fuse/common/clock.h"
#include "alluxio_fuse/fs/metadata_cache.h"

namespace alluxio_fuse::fs {
namespace {

// ASan and TSan replace malloc, so mallinfo2() sees none of the allocations: nothing to measure.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerHeap = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerHeap = true;
#else
constexpr bool kSanitizerHeap = false;
#endif
#else
constexpr bool kSanitizerHeap = false;
#endif

constexpr size_t kEntries = 100'000;
const std::string kDir = "s3://bucket/datasets/imagenet/train";

int64_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

// The fake worker's entry shape: a 20-byte name, short owner/group, a 24-byte content hash.
store::FileInfo make_info(size_t i) {
  store::FileInfo info;
  info.name = "train-" + std::to_string(100000 + i) + ".tfrec";
  info.size = 1000 + i;
  info.mtime_ms = 1700000000000;
  info.mode = 0644;
  info.owner = "alice";
  info.group = "staff";
  info.content_hash = "1000-1700000000000000000";
  return info;
}

MetadataCache::Options options() {
  MetadataCache::Options o;
  o.max_entries = 4 * kEntries;
  return o;
}

// A stream of new names (a writer creating files) keeps only the entries still within their
// TTL: expired ones leave from the cold end as new ones arrive, long before max_entries.
TEST(MetadataMemory, ExpiredEntriesLeaveAsNewNamesArrive) {
  common::FakeClock clock;
  MetadataCache::Options o;
  o.ttl = std::chrono::seconds(60);
  o.negative_ttl = std::chrono::seconds(5);
  o.max_entries = 100'000;
  MetadataCache cache(o, clock);
  for (size_t i = 0; i < 1000; ++i)
    cache.put_attr(kDir + "/old-" + std::to_string(i), make_info(i));
  for (size_t i = 0; i < 1000; ++i) cache.put_negative(kDir + "/gone-" + std::to_string(i));
  EXPECT_EQ(cache.size(), 2000U);
  clock.advance(std::chrono::seconds(61));
  for (size_t i = 0; i < 10; ++i) cache.put_attr(kDir + "/new-" + std::to_string(i), make_info(i));
  EXPECT_EQ(cache.size(), 10U);
  EXPECT_FALSE(cache.get_attr(kDir + "/old-1").has_value());
  EXPECT_TRUE(cache.get_attr(kDir + "/new-1").has_value());
  // Live entries are never dropped early, whatever their place in the LRU.
  clock.advance(std::chrono::seconds(30));
  cache.put_attr(kDir + "/newer", make_info(1));
  EXPECT_EQ(cache.size(), 11U);
}

TEST(MetadataMemory, BytesPerAttributeEntry) {
  if (kSanitizerHeap) GTEST_SKIP() << "mallinfo2() does not see the sanitizer's allocator";
  common::FakeClock clock;
  std::vector<std::string> keys;
  std::vector<store::FileInfo> infos;
  for (size_t i = 0; i < kEntries; ++i) {
    infos.push_back(make_info(i));
    keys.push_back(kDir + "/" + infos.back().name);
  }
  MetadataCache cache(options(), clock);
  const int64_t before = heap_in_use();
  for (size_t i = 0; i < kEntries; ++i) cache.put_attr(keys[i], infos[i]);
  const int64_t used = heap_in_use() - before;
  ASSERT_EQ(cache.size(), kEntries);
  const double per_entry = static_cast<double>(used) / kEntries;
  std::printf("metadata cache: %zu attribute entries, %.0f bytes/entry (key %zu B, name %zu B)\n",
              kEntries, per_entry, keys[0].size(), infos[0].name.size());
  EXPECT_GT(per_entry, static_cast<double>(sizeof(store::FileInfo)));
  EXPECT_LT(per_entry, 2000.0);
  cache.clear();
  EXPECT_LT(heap_in_use() - before, used / 10);  // the entries' memory was given back
}

TEST(MetadataMemory, BytesPerListedChild) {
  if (kSanitizerHeap) GTEST_SKIP() << "mallinfo2() does not see the sanitizer's allocator";
  common::FakeClock clock;
  MetadataCache cache(options(), clock);
  const int64_t start = heap_in_use();
  // The listing vector is built by the core (and shared with readdir handles); the cache adds one
  // seeded attribute entry per child, so `ls -l` and lookups need no request.
  auto children = std::make_shared<std::vector<store::FileInfo>>();
  children->reserve(kEntries);
  for (size_t i = 0; i < kEntries; ++i) children->push_back(make_info(i));
  const int64_t listing = heap_in_use() - start;
  cache.put_listing(kDir, children);
  const int64_t seeded = heap_in_use() - start - listing;
  ASSERT_EQ(cache.size(), kEntries + 1);
  std::printf(
      "metadata cache: listing of %zu children: %.0f bytes/child in the listing + %.0f "
      "bytes/child of seeded attribute entries\n",
      kEntries, static_cast<double>(listing) / kEntries, static_cast<double>(seeded) / kEntries);
  EXPECT_GT(listing, static_cast<int64_t>(kEntries * sizeof(store::FileInfo)));
  EXPECT_GT(seeded, 0);
  children.reset();
  cache.clear();
  EXPECT_LT(heap_in_use() - start, (listing + seeded) / 10);
}

}  // namespace
}  // namespace alluxio_fuse::fs
