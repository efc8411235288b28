// test-deps: af_test_support af_ufs
// The core's write path and namespace operations over the in-memory store (and FaultStore for
// failures), with a fake clock and a real staging directory: staging, commits on flush,
// durability errors, failed/ copies, unlink of open files, renames, errno classes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "alluxio_fuse/fs/file_system.h"
#include "alluxio_fuse/ufs/local_store.h"
#include "memory_store.h"
#include "temp_dir.h"

namespace alluxio_fuse::fs {
namespace {

using common::Code;
using common::Status;
namespace stdfs = std::filesystem;

constexpr uint64_t kPage = 4096;
const std::string kRoot = "s3://b/root";

class RecordingNotifier final : public KernelNotifier {
 public:
  void inval_inode(uint64_t ino) override {
    std::lock_guard<std::mutex> lock(mu);
    inodes.push_back(ino);
  }
  void inval_entry(uint64_t parent, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu);
    entries.emplace_back(parent, name);
  }
  std::mutex mu;
  std::vector<uint64_t> inodes;
  std::vector<std::pair<uint64_t, std::string>> entries;
};

class FsWriteTest : public ::testing::Test {
 protected:
  FsWriteTest()
      : memory_(kRoot),
        faulty_(memory_, [this](const char* op, const std::string& key) { return hook(op, key); }) {
    options_.root = kRoot;
    options_.page_size = kPage;
    options_.staging_dir = staging_.path() + "/staging";
    options_.staging_capacity = 1 << 20;
    options_.max_file_size = 512 << 10;
    make_fs();
  }
  // The core goes first: its destructor commits what is still staged (background commits of
  // released writers included), which calls hook() and needs mu_ and calls_ alive. Members
  // declared after fs_ would otherwise be destroyed before it (ASan: heap-use-after-free).
  ~FsWriteTest() override { fs_.reset(); }

  void make_fs() {
    fs_.reset();
    fs_ = std::make_unique<FileSystem>(options_, faulty_, clock_);
    fs_->set_notifier(&notifier_);
  }

  Status hook(const char* op, const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::string(op) + " " + key);
    if (fail_op_ == op) return Status(fail_code_, "injected");
    return Status::Ok();
  }
  void fail(const std::string& op, Code code = Code::kUnavailable) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_op_ = op;
    fail_code_ = code;
  }
  int count(const std::string& op) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& c : calls_) n += c.rfind(op + " ", 0) == 0 ? 1 : 0;
    return n;
  }

  // What the store holds for `rel`, or "<absent>".
  std::string stored(const std::string& rel) {
    auto info = memory_.stat(kRoot + "/" + rel);
    if (!info.ok()) return "<absent>";
    std::string buf(info->size, '\0');
    store::ReadRequest req;
    req.key = kRoot + "/" + rel;
    req.length = info->size;
    EXPECT_TRUE(memory_.read(req, buf.data()).ok());
    return buf;
  }

  uint64_t lookup(uint64_t parent, const std::string& name) {
    auto e = fs_->lookup(parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.status().to_string();
    return e.ok() ? e->stat.ino : 0;
  }

  std::string read_all(uint64_t fh, size_t max = 1 << 20) {
    std::string buf(max, '\0');
    auto n = fs_->read(fh, 0, max, buf.data());
    EXPECT_TRUE(n.ok()) << n.status().to_string();
    buf.resize(n.ok() ? *n : 0);
    return buf;
  }

  std::string read_path(uint64_t ino) {
    auto h = fs_->open(ino, O_RDONLY);
    EXPECT_TRUE(h.ok()) << h.status().to_string();
    if (!h.ok()) return "";
    std::string out = read_all(h->fh);
    fs_->release(h->fh);
    return out;
  }

  std::vector<std::string> list(uint64_t dir) {
    auto fh = fs_->opendir(dir);
    EXPECT_TRUE(fh.ok()) << fh.status().to_string();
    std::vector<std::string> names;
    if (!fh.ok()) return names;
    EXPECT_TRUE(fs_->readdir(dir, *fh, 0, false,
                             [&](const DirEntry& de, const Entry*) {
                               if (de.name != "." && de.name != "..") names.push_back(de.name);
                               return true;
                             })
                    .ok());
    fs_->releasedir(*fh);
    return names;
  }

  Result<CreateReply> create(const std::string& name, int flags = O_WRONLY | O_CREAT) {
    return fs_->create(kRootIno, name, 0644, flags, Caller{});
  }

  Status write(uint64_t fh, uint64_t off, const std::string& data) {
    auto n = fs_->write(fh, off, data.data(), data.size());
    if (!n.ok()) return n.status();
    EXPECT_EQ(*n, data.size());
    return Status::Ok();
  }

  std::vector<std::string> failed_files() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : stdfs::directory_iterator(options_.staging_dir + "/failed", ec)) {
      if (e.path().extension() != ".key") out.push_back(e.path().string());
    }
    return out;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  common::FakeClock clock_;
  testing::TempDir staging_;
  testing::MemoryStore memory_;
  testing::FaultStore faulty_;
  Options options_;
  RecordingNotifier notifier_;
  std::unique_ptr<FileSystem> fs_;
  std::mutex mu_;
  std::vector<std::string> calls_;
  std::string fail_op_;
  Code fail_code_ = Code::kOk;
};

TEST_F(FsWriteTest, CreatedFileIsVisibleHereAndCommittedAtFlush) {
  auto c = create("new.txt");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_NE(c->entry.stat.ino, 0u);
  EXPECT_EQ(c->entry.stat.size, 0u);
  EXPECT_EQ(c->entry.stat.mode & 0777, 0644u);
  // Visible in this mount before the first commit; not yet in the store.
  EXPECT_EQ(lookup(kRootIno, "new.txt"), c->entry.stat.ino);
  EXPECT_EQ(list(kRootIno), std::vector<std::string>{"new.txt"});
  EXPECT_EQ(stored("new.txt"), "<absent>");
  ASSERT_TRUE(write(c->open.fh, 0, "hello").ok());
  EXPECT_EQ(fs_->getattr(c->entry.stat.ino)->stat.size, 5u);
  EXPECT_EQ(stored("new.txt"), "<absent>");
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  EXPECT_EQ(stored("new.txt"), "hello");
  // Unchanged since the last commit: no second upload.
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  EXPECT_EQ(count("write_file"), 1);
  fs_->release(c->open.fh);
  EXPECT_EQ(read_path(c->entry.stat.ino), "hello");
  EXPECT_EQ(list(kRootIno), std::vector<std::string>{"new.txt"});
  // The kernel is told to drop its cache of the committed inode.
  std::lock_guard<std::mutex> lock(notifier_.mu);
  EXPECT_NE(std::find(notifier_.inodes.begin(), notifier_.inodes.end(), c->entry.stat.ino),
            notifier_.inodes.end());
}

TEST_F(FsWriteTest, EmptyCreateIsCommittedAtClose) {
  auto c = create("empty");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  fs_->release(c->open.fh);
  EXPECT_EQ(stored("empty"), "");
}

TEST_F(FsWriteTest, ReadersSeeThePreviousVersionUntilCommit) {
  memory_.put_file(kRoot + "/f", "version one");
  uint64_t f = lookup(kRootIno, "f");
  auto before = fs_->open(f, O_RDONLY);
  ASSERT_TRUE(before.ok());
  auto w = fs_->open(f, O_WRONLY | O_TRUNC);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_TRUE(write(w->fh, 0, "v2").ok());
  EXPECT_EQ(stored("f"), "version one");
  EXPECT_EQ(read_all(before->fh), "version one");
  ASSERT_TRUE(fs_->fsync(w->fh).ok());
  EXPECT_EQ(stored("f"), "v2");
  fs_->release(w->fh);
  fs_->release(before->fh);
  EXPECT_EQ(read_path(f), "v2");
}

TEST_F(FsWriteTest, RandomWritesTruncateAndAppend) {
  std::string model(10000, 'a');
  memory_.put_file(kRoot + "/r", model);
  uint64_t r = lookup(kRootIno, "r");
  auto h = fs_->open(r, O_RDWR);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(count("read"), 0);  // filled lazily
  // Reads before the first write come from the committed version.
  EXPECT_EQ(read_all(h->fh).size(), model.size());
  ASSERT_TRUE(write(h->fh, 5000, "XYZ").ok());
  model.replace(5000, 3, "XYZ");
  ASSERT_TRUE(write(h->fh, 12000, "tail").ok());  // sparse extension
  model.resize(12000, '\0');
  model += "tail";
  EXPECT_EQ(read_all(h->fh), model);
  SetAttr shrink;
  shrink.size = 7000;
  ASSERT_TRUE(fs_->setattr(r, shrink, h->fh).ok());  // ftruncate: committed at flush
  model.resize(7000);
  EXPECT_EQ(stored("r").size(), 10000u);
  ASSERT_TRUE(fs_->flush(h->fh).ok());
  EXPECT_EQ(stored("r"), model);
  fs_->release(h->fh);

  auto a = fs_->open(r, O_WRONLY | O_APPEND);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(write(a->fh, 0, "++").ok());  // offset ignored: lands at the end
  ASSERT_TRUE(fs_->flush(a->fh).ok());
  fs_->release(a->fh);
  EXPECT_EQ(stored("r"), model + "++");
}

TEST_F(FsWriteTest, TruncateByPathCommitsBeforeReplying) {
  memory_.put_file(kRoot + "/t", "0123456789");
  uint64_t t = lookup(kRootIno, "t");
  SetAttr same;
  same.size = 10;
  ASSERT_TRUE(fs_->setattr(t, same, 0).ok());
  EXPECT_EQ(count("write_file"), 0);  // truncate to the current size: no commit
  SetAttr grow;
  grow.size = 12;
  auto e = fs_->setattr(t, grow, 0);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(stored("t"), std::string("0123456789\0\0", 12));
  SetAttr zero;
  zero.size = 0;
  ASSERT_TRUE(fs_->setattr(t, zero, 0).ok());
  EXPECT_EQ(stored("t"), "");
  EXPECT_EQ(fs_->getattr(t)->stat.size, 0u);
}

TEST_F(FsWriteTest, TwoWritersShareOneStagedCopy) {
  memory_.put_file(kRoot + "/s", "....");
  uint64_t s = lookup(kRootIno, "s");
  auto w1 = fs_->open(s, O_WRONLY);
  auto w2 = fs_->open(s, O_RDWR);
  ASSERT_TRUE(w1.ok() && w2.ok());
  ASSERT_TRUE(write(w1->fh, 0, "A").ok());
  ASSERT_TRUE(write(w2->fh, 3, "D").ok());
  EXPECT_EQ(read_all(w2->fh), "A..D");
  ASSERT_TRUE(fs_->flush(w1->fh).ok());  // each close commits the current whole content
  EXPECT_EQ(stored("s"), "A..D");
  fs_->release(w1->fh);
  fs_->release(w2->fh);
}

TEST_F(FsWriteTest, CommitFailureIsEioAndKeepsTheStagedCopy) {
  auto c = create("precious");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(write(c->open.fh, 0, "do not lose me").ok());
  fail("write_file");
  Status s = fs_->flush(c->open.fh);
  EXPECT_EQ(s.code(), Code::kIo) << s.to_string();
  auto kept = failed_files();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(slurp(kept[0]), "do not lose me");
  EXPECT_EQ(slurp(kept[0] + ".key"), kRoot + "/precious");
  EXPECT_EQ(stored("precious"), "<absent>");
  // Still dirty: the next flush tries again, and success drops the failed copy.
  fail("");
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  EXPECT_EQ(stored("precious"), "do not lose me");
  EXPECT_TRUE(failed_files().empty());
  fs_->release(c->open.fh);
}

TEST_F(FsWriteTest, ALaterFailureReplacesTheKeptCopyInPlace) {
  // close() fails (a copy is kept), then the release's final attempt fails too: the staged
  // file replaces that copy under the same name, so failed/ never shows two copies of one file.
  auto c = create("twice");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(write(c->open.fh, 0, "first").ok());
  fail("write_file");
  EXPECT_EQ(fs_->flush(c->open.fh).code(), Code::kIo);
  auto first = failed_files();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(slurp(first[0]), "first");
  ASSERT_TRUE(write(c->open.fh, 5, " and more").ok());  // dirty again: release commits
  fs_->release(c->open.fh);
  fs_->shutdown();
  auto kept = failed_files();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0], first[0]);
  EXPECT_EQ(slurp(kept[0]), "first and more");
  EXPECT_EQ(slurp(kept[0] + ".key"), kRoot + "/twice");
}

TEST_F(FsWriteTest, CommitErrorClassesSurvive) {
  auto c = create("x");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(write(c->open.fh, 0, "x").ok());
  fail("write_file", Code::kNoSpace);
  EXPECT_EQ(fs_->fsync(c->open.fh).code(), Code::kNoSpace);
  fail("write_file", Code::kTooLarge);
  EXPECT_EQ(fs_->fsync(c->open.fh).code(), Code::kTooLarge);
  fail("write_file", Code::kTimeout);
  EXPECT_EQ(fs_->fsync(c->open.fh).code(), Code::kIo);
  fail("");
  ASSERT_TRUE(fs_->fsync(c->open.fh).ok());
  fs_->release(c->open.fh);
}

TEST_F(FsWriteTest, ReleaseCommitsLateWritesInTheBackgroundAndKeepsFailures) {
  auto c = create("late");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(write(c->open.fh, 0, "written after the last flush").ok());
  fs_->release(c->open.fh);  // no flush (mmap write-back after close)
  fs_->shutdown();           // waits for the background commit
  EXPECT_EQ(stored("late"), "written after the last flush");

  auto d = create("late-fail");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(write(d->open.fh, 0, "cannot be uploaded").ok());
  fail("write_file");
  fs_->release(d->open.fh);
  fs_->shutdown();
  auto kept = failed_files();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(slurp(kept[0]), "cannot be uploaded");
  // The staged copy itself is gone from the staging area.
  int staged = 0;
  for (const auto& e : stdfs::directory_iterator(options_.staging_dir)) {
    staged += e.path().extension() == ".stage" ? 1 : 0;
  }
  EXPECT_EQ(staged, 0);
}

TEST_F(FsWriteTest, StagingFullIsNoSpaceAndMaxFileSizeIsTooLarge) {
  options_.staging_capacity = 60 << 10;
  options_.max_file_size = 48 << 10;
  make_fs();
  auto c = create("big");
  ASSERT_TRUE(c.ok());
  std::string chunk(16 << 10, 'x');
  ASSERT_TRUE(write(c->open.fh, 0, chunk).ok());
  EXPECT_EQ(write(c->open.fh, 40 << 10, chunk).code(), Code::kTooLarge);
  auto d = create("other");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(write(d->open.fh, 0, chunk + chunk).ok());
  EXPECT_EQ(write(d->open.fh, 32 << 10, chunk).code(), Code::kNoSpace);  // 16+48 > 60 KiB
  // Space comes back when a staged copy goes away.
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  fs_->release(c->open.fh);
  EXPECT_TRUE(write(d->open.fh, 32 << 10, chunk).ok());
  fs_->release(d->open.fh);
  // An existing file larger than max_file_size cannot be staged.
  memory_.put_file(kRoot + "/huge", std::string(50 << 10, 'h'));
  uint64_t huge = lookup(kRootIno, "huge");
  auto h = fs_->open(huge, O_WRONLY);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(write(h->fh, 0, "x").code(), Code::kTooLarge);
  fs_->release(h->fh);
}

TEST_F(FsWriteTest, UnlinkOfAnOpenFileKeepsItsHandlesWorking) {
  memory_.put_file(kRoot + "/open.txt", "still readable");
  uint64_t f = lookup(kRootIno, "open.txt");
  auto h = fs_->open(f, O_RDONLY);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(fs_->unlink(kRootIno, "open.txt").ok());
  EXPECT_EQ(fs_->lookup(kRootIno, "open.txt")->stat.ino, 0u);  // gone from this mount
  EXPECT_TRUE(list(kRootIno).empty());
  EXPECT_EQ(stored("open.txt"), "still readable");  // remote remove waits for the release
  EXPECT_EQ(read_all(h->fh), "still readable");
  EXPECT_TRUE(fs_->getattr(f).ok());  // fstat still works
  fs_->release(h->fh);
  EXPECT_EQ(stored("open.txt"), "<absent>");
}

TEST_F(FsWriteTest, UnlinkWhileWritingDiscardsTheStagedData) {
  auto c = create("gone");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(write(c->open.fh, 0, "never committed").ok());
  ASSERT_TRUE(fs_->unlink(kRootIno, "gone").ok());
  EXPECT_TRUE(fs_->flush(c->open.fh).ok());  // 0 without committing
  EXPECT_EQ(read_all(c->open.fh), "never committed");
  fs_->release(c->open.fh);
  fs_->shutdown();
  EXPECT_EQ(stored("gone"), "<absent>");
  EXPECT_EQ(count("write_file"), 0);
}

TEST_F(FsWriteTest, NameReusedWhileTheOldFileIsStillOpen) {
  memory_.put_file(kRoot + "/j", "old");
  uint64_t j = lookup(kRootIno, "j");
  auto h = fs_->open(j, O_RDONLY);
  ASSERT_TRUE(fs_->unlink(kRootIno, "j").ok());
  auto c = create("j");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE(write(c->open.fh, 0, "new").ok());
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  fs_->release(c->open.fh);
  fs_->release(h->fh);  // the old file's release must not remove the new one
  EXPECT_EQ(stored("j"), "new");
}

TEST_F(FsWriteTest, RenameFilesAndDirectories) {
  memory_.put_file(kRoot + "/dir/sub/a", "A");
  memory_.put_file(kRoot + "/dir/b", "B");
  uint64_t dir = lookup(kRootIno, "dir");
  uint64_t sub = lookup(dir, "sub");
  uint64_t a = lookup(sub, "a");
  ASSERT_TRUE(fs_->rename(kRootIno, "dir", kRootIno, "moved", 0).ok());
  EXPECT_EQ(stored("moved/sub/a"), "A");
  EXPECT_EQ(stored("dir/b"), "<absent>");
  // Inodes the kernel holds follow the move.
  EXPECT_EQ(read_path(a), "A");
  EXPECT_EQ(*fs_->key_of(sub), kRoot + "/moved/sub");
  EXPECT_EQ(fs_->lookup(kRootIno, "dir")->stat.ino, 0u);

  // A file with uncommitted data is committed first, then moved.
  auto c = create("draft");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(write(c->open.fh, 0, "text").ok());
  ASSERT_TRUE(fs_->rename(kRootIno, "draft", sub, "final", 0).ok());
  EXPECT_EQ(stored("moved/sub/final"), "text");
  ASSERT_TRUE(write(c->open.fh, 4, "!").ok());  // the staging follows the inode
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  fs_->release(c->open.fh);
  EXPECT_EQ(stored("moved/sub/final"), "text!");
  EXPECT_EQ(stored("draft"), "<absent>");

  // Over an existing file: replaced.
  memory_.put_file(kRoot + "/x", "x");
  memory_.put_file(kRoot + "/y", "y");
  ASSERT_TRUE(fs_->rename(kRootIno, "x", kRootIno, "y", 0).ok());
  EXPECT_EQ(stored("y"), "x");
  EXPECT_EQ(stored("x"), "<absent>");
  // Over an empty directory: replaced.
  memory_.put_dir(kRoot + "/empty");
  ASSERT_TRUE(fs_->rename(kRootIno, "moved", kRootIno, "empty", 0).ok());
  EXPECT_EQ(stored("empty/sub/a"), "A");
}

TEST_F(FsWriteTest, OpenHandlesFollowRenames) {
  memory_.put_file(kRoot + "/d/f", "content");
  memory_.put_file(kRoot + "/d/g", "gone later");
  uint64_t d = lookup(kRootIno, "d");
  uint64_t f = lookup(d, "f");
  uint64_t g = lookup(d, "g");
  auto hf = fs_->open(f, O_RDONLY);
  auto hg = fs_->open(g, O_RDONLY);
  ASSERT_TRUE(hf.ok() && hg.ok());
  ASSERT_TRUE(fs_->unlink(d, "g").ok());  // open: its remote remove waits
  ASSERT_TRUE(fs_->rename(kRootIno, "d", kRootIno, "e", 0).ok());
  EXPECT_EQ(read_all(hf->fh), "content");
  EXPECT_EQ(read_all(hg->fh), "gone later");
  EXPECT_EQ(list(d), std::vector<std::string>{"f"});
  fs_->release(hf->fh);
  fs_->release(hg->fh);
  EXPECT_EQ(stored("e/g"), "<absent>");  // removed under the name it moved to
  EXPECT_EQ(stored("e/f"), "content");
}

TEST_F(FsWriteTest, RenameErrors) {
  memory_.put_file(kRoot + "/f", "f");
  memory_.put_file(kRoot + "/g", "g");
  memory_.put_file(kRoot + "/full/child", "c");
  memory_.put_dir(kRoot + "/d");
  memory_.put_dir(kRoot + "/d/inner");
  EXPECT_EQ(fs_->rename(kRootIno, "f", kRootIno, "g", kRenameNoReplace).code(), Code::kExists);
  EXPECT_EQ(fs_->rename(kRootIno, "f", kRootIno, "g", kRenameExchange).code(), Code::kInvalid);
  EXPECT_EQ(fs_->rename(kRootIno, "d", kRootIno, "f", 0).code(), Code::kNotDir);
  EXPECT_EQ(fs_->rename(kRootIno, "f", kRootIno, "d", 0).code(), Code::kIsDir);
  EXPECT_EQ(fs_->rename(kRootIno, "d", kRootIno, "full", 0).code(), Code::kNotEmpty);
  uint64_t d = lookup(kRootIno, "d");
  EXPECT_EQ(fs_->rename(kRootIno, "d", d, "self", 0).code(), Code::kInvalid);
  EXPECT_EQ(fs_->rename(kRootIno, "nope", kRootIno, "x", 0).code(), Code::kNotFound);
  EXPECT_EQ(fs_->rename(kRootIno, "f", kRootIno, "bad\xff", 0).code(), Code::kInvalid);
  EXPECT_EQ(stored("f"), "f");
  EXPECT_EQ(stored("g"), "g");
}

TEST_F(FsWriteTest, PartialDirectoryRenameIsEioAndDropsMetadata) {
  memory_.put_file(kRoot + "/d/a", "a");
  uint64_t d = lookup(kRootIno, "d");
  ASSERT_NE(d, 0u);
  fail("rename", Code::kTimeout);
  EXPECT_EQ(fs_->rename(kRootIno, "d", kRootIno, "e", 0).code(), Code::kIo);
  std::lock_guard<std::mutex> lock(notifier_.mu);
  EXPECT_EQ(notifier_.entries.size(), 2u);
}

TEST_F(FsWriteTest, MkdirRmdirAndTheirErrors) {
  auto m = fs_->mkdir(kRootIno, "d", 0755, Caller{});
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_TRUE(m->stat.is_dir);
  EXPECT_EQ(fs_->mkdir(kRootIno, "d", 0755, Caller{}).status().code(), Code::kExists);
  EXPECT_EQ(fs_->mkdir(kRootIno, "bad/name", 0755, Caller{}).status().code(), Code::kInvalid);
  EXPECT_EQ(fs_->mkdir(kRootIno, std::string(256, 'n'), 0755, Caller{}).status().code(),
            Code::kNameTooLong);
  EXPECT_EQ(fs_->mkdir(999999, "x", 0755, Caller{}).status().code(), Code::kStale);
  // A child created here but not committed yet still makes the directory non-empty.
  auto c = fs_->create(m->stat.ino, "child", 0644, O_WRONLY | O_CREAT, Caller{});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(fs_->rmdir(kRootIno, "d").code(), Code::kNotEmpty);
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  fs_->release(c->open.fh);
  EXPECT_EQ(fs_->rmdir(kRootIno, "d").code(), Code::kNotEmpty);
  EXPECT_EQ(fs_->unlink(kRootIno, "d").code(), Code::kIsDir);
  EXPECT_EQ(fs_->rmdir(m->stat.ino, "child").code(), Code::kNotDir);
  ASSERT_TRUE(fs_->unlink(m->stat.ino, "child").ok());
  ASSERT_TRUE(fs_->rmdir(kRootIno, "d").ok());
  EXPECT_EQ(fs_->rmdir(kRootIno, "d").code(), Code::kNotFound);
  EXPECT_EQ(fs_->unlink(kRootIno, "d").code(), Code::kNotFound);
  EXPECT_EQ(stored("d"), "<absent>");
}

TEST_F(FsWriteTest, CreateFlagsAndTypes) {
  memory_.put_file(kRoot + "/e", "exists");
  memory_.put_dir(kRoot + "/dir");
  EXPECT_EQ(create("e", O_WRONLY | O_CREAT | O_EXCL).status().code(), Code::kExists);
  EXPECT_EQ(create("dir", O_WRONLY | O_CREAT).status().code(), Code::kIsDir);
  EXPECT_EQ(create("bad\xfe", O_WRONLY | O_CREAT).status().code(), Code::kInvalid);
  uint64_t dir = lookup(kRootIno, "dir");
  EXPECT_EQ(fs_->open(dir, O_WRONLY).status().code(), Code::kIsDir);
  // O_CREAT without O_EXCL on an existing file opens it; O_TRUNC empties it at the commit.
  auto c = create("e", O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(stored("e"), "exists");
  ASSERT_TRUE(fs_->flush(c->open.fh).ok());
  fs_->release(c->open.fh);
  EXPECT_EQ(stored("e"), "");
  EXPECT_EQ(fs_->mknod(kRootIno, "fifo", S_IFIFO | 0644, Caller{}).status().code(),
            Code::kUnsupported);
  ASSERT_TRUE(fs_->mknod(kRootIno, "node", S_IFREG | 0644, Caller{}).ok());
  EXPECT_EQ(stored("node"), "");
}

TEST_F(FsWriteTest, AttributesOnAStoreWithoutThem) {
  memory_.put_file(kRoot + "/a", "a");
  uint64_t a = lookup(kRootIno, "a");
  const Stat st = fs_->getattr(a)->stat;
  SetAttr same;
  same.mode = st.mode & 07777;
  same.uid = st.uid;
  EXPECT_TRUE(fs_->setattr(a, same, 0).ok());  // re-applying the same mode works
  SetAttr chmod;
  chmod.mode = 0600;
  EXPECT_EQ(fs_->setattr(a, chmod, 0).status().code(), Code::kNotPermitted);
  SetAttr chown;
  chown.uid = st.uid + 1;
  EXPECT_EQ(fs_->setattr(a, chown, 0).status().code(), Code::kNotPermitted);
  SetAttr touch;
  touch.atime = touch.mtime = SetAttr::Time::kNow;
  EXPECT_TRUE(fs_->setattr(a, touch, 0).ok());
  SetAttr explicit_times;
  explicit_times.mtime = SetAttr::Time::kExplicit;
  explicit_times.mtime_ns = 1;
  EXPECT_EQ(fs_->setattr(a, explicit_times, 0).status().code(), Code::kNotPermitted);
}

TEST_F(FsWriteTest, ReadOnlyMountRefusesEveryMutation) {
  options_.read_only = true;
  make_fs();
  memory_.put_file(kRoot + "/a", "a");
  uint64_t a = lookup(kRootIno, "a");
  EXPECT_EQ(create("n").status().code(), Code::kReadOnly);
  EXPECT_EQ(fs_->open(a, O_WRONLY).status().code(), Code::kReadOnly);
  EXPECT_EQ(fs_->mkdir(kRootIno, "d", 0755, Caller{}).status().code(), Code::kReadOnly);
  EXPECT_EQ(fs_->unlink(kRootIno, "a").code(), Code::kReadOnly);
  EXPECT_EQ(fs_->rmdir(kRootIno, "a").code(), Code::kReadOnly);
  EXPECT_EQ(fs_->rename(kRootIno, "a", kRootIno, "b", 0).code(), Code::kReadOnly);
  SetAttr t;
  t.size = 0;
  EXPECT_EQ(fs_->setattr(a, t, 0).status().code(), Code::kReadOnly);
  EXPECT_EQ(count("write_file") + count("mkdir") + count("remove") + count("rename"), 0);
}

TEST_F(FsWriteTest, LeftoversOfACrashGoToFailedNotToTheStore) {
  fs_.reset();
  const std::string dir = options_.staging_dir;
  {
    std::ofstream(dir + "/4242-7.stage") << "half written";
    std::ofstream(dir + "/4242-7.stage.key") << kRoot + "/victim";
  }
  memory_.put_file(kRoot + "/victim", "committed version");
  make_fs();
  auto kept = failed_files();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(slurp(kept[0]), "half written");
  EXPECT_EQ(slurp(kept[0] + ".key"), kRoot + "/victim");
  EXPECT_EQ(stored("victim"), "committed version");
  EXPECT_FALSE(stdfs::exists(dir + "/4242-7.stage"));
}

TEST_F(FsWriteTest, ACopyCutShortByACrashIsDropped) {
  // keep_failed writes a copy as <name>.part and renames it; a crash in between leaves the
  // .part, whose data is still in the staged file or the earlier copy.
  fs_.reset();
  const std::string failed = options_.staging_dir + "/failed";
  stdfs::create_directories(failed);
  { std::ofstream(failed + "/1-1-x") << "whole copy"; }
  { std::ofstream(failed + "/1-2-y.part") << "half a co"; }
  make_fs();
  auto kept = failed_files();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(slurp(kept[0]), "whole copy");
  EXPECT_FALSE(stdfs::exists(failed + "/1-2-y.part"));
}

// Standalone file:// mode passes attributes through and keeps them across commits (§2.5).
TEST(FsWritePosixTest, AttributesPassThroughToALocalUfs) {
  testing::TempDir dir;
  stdfs::create_directories(dir.path() + "/ufs");
  const std::string root = "file://" + dir.path() + "/ufs";
  ufs::LocalStore store(root);
  common::FakeClock clock;
  Options o;
  o.root = root;
  o.staging_dir = dir.path() + "/staging";
  FileSystem fs(o, store, clock);
  auto c = fs.create(kRootIno, "f", 0600, O_WRONLY | O_CREAT, Caller{0, 0});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->entry.stat.mode & 07777, 0600u);
  ASSERT_TRUE(fs.write(c->open.fh, 0, "data", 4).ok());
  // Times set before close (cp -p) survive the commit at close.
  SetAttr times;
  times.mtime = SetAttr::Time::kExplicit;
  times.mtime_ns = 1000000000LL * 1234567;
  ASSERT_TRUE(fs.setattr(c->entry.stat.ino, times, c->open.fh).ok());
  ASSERT_TRUE(fs.flush(c->open.fh).ok());
  fs.release(c->open.fh);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/ufs/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1234567);
  EXPECT_EQ(st.st_size, 4);
  SetAttr chmod;
  chmod.mode = 0640;
  auto e = fs.setattr(c->entry.stat.ino, chmod, 0);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->stat.mode & 07777, 0640u);
  auto d = fs.mkdir(kRootIno, "d", 0700, Caller{0, 0});
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(::stat((dir.path() + "/ufs/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

}  // namespace
}  // namespace alluxio_fuse::fs
