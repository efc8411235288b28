#pragma once
// Internal to the cache module: the sharded page index and single-flight records of PageCache.
// Every field of a Shard is guarded by its `mu`.

#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "alluxio_fuse/cache/page_file.h"
#include "alluxio_fuse/common/hash.h"
#include "alluxio_fuse/common/status.h"

namespace alluxio_fuse::cache::internal {

inline constexpr size_t kShardCount = 64;
// Live LRU ticks count up from here; restored pages take ticks below it, oldest lowest.
inline constexpr uint64_t kLiveTickBase = uint64_t{1} << 62;

struct PageKey {
  FileIdRaw id{};
  uint64_t index = 0;
  bool operator==(const PageKey& o) const { return index == o.index && id == o.id; }
};

inline size_t hash_key(const PageKey& k) noexcept {
  // The file id is a SHA-256, so its first bytes are already uniform; mix in the index.
  uint64_t h;
  std::memcpy(&h, k.id.data(), sizeof(h));
  h ^= (k.index + 0x9E3779B97F4A7C15ULL) * 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 31;
  return static_cast<size_t>(h);
}

// One cached page. LRU fields are mutable because set elements are const; they change only
// under the shard mutex. Kept small: see the memory note in page_cache.h.
struct Node {
  PageKey key;
  mutable const Node* prev = nullptr;  // towards the most recent
  mutable const Node* next = nullptr;  // towards the least recent
  mutable uint64_t tick = 0;           // LRU time; compared across shards to pick a victim
  mutable uint32_t bytes = 0;          // header + data
  mutable uint32_t gen = 0;            // tells a replaced entry from the one a reader pinned
  mutable uint16_t pins = 0;           // readers verifying the file; eviction skips it
  mutable bool prefetched = false;     // stored by readahead, not yet read
};

struct NodeHash {
  size_t operator()(const Node& n) const noexcept { return hash_key(n.key); }
};
struct NodeEq {
  bool operator()(const Node& a, const Node& b) const noexcept { return a.key == b.key; }
};
struct KeyHash {
  size_t operator()(const PageKey& k) const noexcept { return hash_key(k); }
};

// A page file kept open after a verified hit: its header and block CRC table were checked
// when it was opened, so a later hit reads and checks only the blocks it serves (no open,
// fstat, header read or close per hit). The descriptor closes with the last reference.
struct OpenPage {
  explicit OpenPage(int f) : fd(f) {}
  ~OpenPage() { ::close(fd); }
  OpenPage(const OpenPage&) = delete;
  OpenPage& operator=(const OpenPage&) = delete;
  // Takes the block CRC table read from the file (`table`, as stored after the header) when
  // its CRC matches the header's; false, and nothing taken, when it does not.
  bool take_table(const PageHeader& h, const char* table) {
    const size_t used = table_bytes(h.data_len);
    if (common::crc32c(table, used) != h.crc) return false;
    data_len = h.data_len;
    this->table.assign(table, table + used);
    return true;
  }
  const int fd;
  uint32_t data_len = 0;
  std::vector<char> table;  // the block CRC table as stored (4 bytes per block)
};

struct OpenSlot {
  PageKey key;
  uint32_t gen = 0;   // the node's generation when the file was opened
  uint64_t used = 0;  // last use, for replacing the least recently used slot
  std::shared_ptr<OpenPage> page;
};

// A load in progress. `waiters`, `demand_joined` are guarded by the shard mutex (joins happen
// under it); the result fields by `mu`.
struct Flight {
  bool readahead = false;
  int waiters = 0;
  bool demand_joined = false;

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  common::Status status;
  size_t len = 0;
  std::vector<char> data;  // a copy of the bytes, made only when someone waits
};

struct Shard {
  std::mutex mu;
  std::unordered_set<Node, NodeHash, NodeEq> nodes;
  const Node* head = nullptr;  // most recent
  const Node* tail = nullptr;  // least recent
  std::unordered_map<PageKey, std::shared_ptr<Flight>, KeyHash> flights;
  // Open page files of this shard's nodes (at most `open_cap`); a slot leaves with its node.
  std::vector<OpenSlot> open;
  size_t open_cap = 0;
  uint64_t open_clock = 0;

  std::shared_ptr<OpenPage> find_open(const PageKey& k, uint32_t gen) {
    for (auto& slot : open) {
      if (slot.gen == gen && slot.key == k) {
        slot.used = ++open_clock;
        return slot.page;
      }
    }
    return nullptr;
  }
  void keep_open(const PageKey& k, uint32_t gen, std::shared_ptr<OpenPage> page) {
    if (open_cap == 0) return;
    OpenSlot* target = nullptr;
    for (auto& slot : open) {
      if (slot.key == k) {  // an older generation's file
        target = &slot;
        break;
      }
    }
    if (target == nullptr && open.size() < open_cap) target = &open.emplace_back();
    if (target == nullptr) {
      target = &open.front();
      for (auto& slot : open) {
        if (slot.used < target->used) target = &slot;
      }
    }
    target->key = k;
    target->gen = gen;
    target->used = ++open_clock;
    target->page = std::move(page);
  }
  void close_open(const PageKey& k) {
    std::erase_if(open, [&](const OpenSlot& slot) { return slot.key == k; });
  }
  void close_open_file(const FileIdRaw& id) {
    std::erase_if(open, [&](const OpenSlot& slot) { return slot.key.id == id; });
  }

  const Node* find(const PageKey& k) const {
    Node probe;
    probe.key = k;
    auto it = nodes.find(probe);
    return it == nodes.end() ? nullptr : &*it;
  }
  void link_front(const Node* n) {
    n->prev = nullptr;
    n->next = head;
    if (head) head->prev = n;
    head = n;
    if (!tail) tail = n;
  }
  void link_back(const Node* n) {
    n->next = nullptr;
    n->prev = tail;
    if (tail) tail->next = n;
    tail = n;
    if (!head) head = n;
  }
  void unlink(const Node* n) {
    if (n->prev)
      n->prev->next = n->next;
    else
      head = n->next;
    if (n->next)
      n->next->prev = n->prev;
    else
      tail = n->prev;
    n->prev = n->next = nullptr;
  }
  void erase(const Node* n) {
    close_open(n->key);
    unlink(n);
    Node probe;  // a copy: erasing by a key that lives in the erased node is not portable
    probe.key = n->key;
    nodes.erase(probe);
  }
};

}  // namespace alluxio_fuse::cache::internal
