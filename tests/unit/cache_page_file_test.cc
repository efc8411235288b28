// Page file format: header round trip, path layout, file ids and strict name parsing.
#include <gtest/gtest.h>

#include <cstring>

#include "alluxio_fuse/cache/page_file.h"
#include "alluxio_fuse/common/hash.h"

namespace alluxio_fuse::cache {
namespace {

TEST(PageFile, FileIdIsSha256OfKeyNulVersion) {
  std::string input("s3://bucket/a.parquet");
  input.push_back('\0');
  input += "h:abc";
  EXPECT_EQ(file_id("s3://bucket/a.parquet", "h:abc"), common::sha256_hex(input));
  EXPECT_NE(file_id("s3://bucket/a.parquet", "h:abc"), file_id("s3://bucket/a.parquet", "h:abd"));
  // The separator keeps ("ab", "c") apart from ("a", "bc").
  EXPECT_NE(file_id("ab", "c"), file_id("a", "bc"));
}

TEST(PageFile, ParseFileId) {
  const std::string id = file_id("k", "v");
  auto raw = parse_file_id(id);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(file_id_hex(*raw), id);
  EXPECT_FALSE(parse_file_id(id.substr(1)).ok());
  std::string upper = id;
  upper[0] = 'A';
  upper[1] = 'B';
  EXPECT_FALSE(parse_file_id(upper).ok());
  EXPECT_FALSE(parse_file_id(std::string(64, 'g')).ok());
}

TEST(PageFile, HeaderLayoutIsLittleEndian) {
  PageHeader h;
  h.page_size = 1048576;
  h.page_index = 0x0102030405060708ULL;
  h.data_len = 4096;
  h.crc = common::crc32c("123456789", 9);
  EXPECT_EQ(h.crc, 0xE3069283u);
  for (size_t i = 0; i < h.file_id.size(); ++i) h.file_id[i] = static_cast<uint8_t>(i);
  char buf[kHeaderSize];
  encode_header(h, buf);
  EXPECT_EQ(std::string(buf, 8), "AXFPAGE1");
  EXPECT_EQ(static_cast<uint8_t>(buf[8]), 2);  // format version 2 (per-block CRCs)
  EXPECT_EQ(static_cast<uint8_t>(buf[11]), 0);
  EXPECT_EQ(static_cast<uint8_t>(buf[12 + 2]), 0x10);  // 1048576 = 0x00100000
  EXPECT_EQ(static_cast<uint8_t>(buf[16]), 0x08);
  EXPECT_EQ(static_cast<uint8_t>(buf[23]), 0x01);
  EXPECT_EQ(static_cast<uint8_t>(buf[24 + 1]), 0x10);  // 4096
  EXPECT_EQ(static_cast<uint8_t>(buf[28]), 0x83);
  EXPECT_EQ(static_cast<uint8_t>(buf[31]), 0xE3);
  EXPECT_EQ(static_cast<uint8_t>(buf[32 + 31]), 31);

  auto d = decode_header(buf);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->page_size, h.page_size);
  EXPECT_EQ(d->page_index, h.page_index);
  EXPECT_EQ(d->data_len, h.data_len);
  EXPECT_EQ(d->crc, h.crc);
  EXPECT_EQ(d->file_id, h.file_id);
  EXPECT_TRUE(header_matches(*d, 1048576, h.page_index, h.file_id, 4096 + 4096));
  EXPECT_FALSE(header_matches(*d, 1048576, h.page_index, h.file_id, 4096 + 4095));
  EXPECT_FALSE(header_matches(*d, 4096, h.page_index, h.file_id, 4096 + 4096));
  EXPECT_FALSE(header_matches(*d, 1048576, 7, h.file_id, 4096 + 4096));
  FileIdRaw other = h.file_id;
  other[5] ^= 1;
  EXPECT_FALSE(header_matches(*d, 1048576, h.page_index, other, 4096 + 4096));

  buf[0] = 'X';
  EXPECT_FALSE(decode_header(buf).ok());
  buf[0] = 'A';
  buf[8] = 1;  // version 1 (whole-page CRC) files are not read: the restore deletes them
  EXPECT_FALSE(decode_header(buf).ok());
}

TEST(PageFile, DataLongerThanPageIsInconsistent) {
  PageHeader h;
  h.page_size = 4096;
  h.data_len = 4097;
  EXPECT_FALSE(header_matches(h, 4096, 0, h.file_id, 4096 + 4097));
}

TEST(PageFile, DataIsBlockAlignedAfterTheCrcTable) {
  EXPECT_EQ(block_count(0), 0u);
  EXPECT_EQ(block_count(1), 1u);
  EXPECT_EQ(block_count(4096), 1u);
  EXPECT_EQ(block_count(4097), 2u);
  EXPECT_EQ(table_bytes(1048576), 1024u);
  EXPECT_EQ(data_offset(4096), 4096u);
  EXPECT_EQ(data_offset(1048576), 4096u);   // 64 + 1024 bytes, padded
  EXPECT_EQ(data_offset(4u << 20), 8192u);  // 64 + 4096 bytes, padded
  EXPECT_EQ(page_file_size(1048576, 10), 4106u);
}

TEST(PageFile, BlockTableHoldsOneCrcPerBlock) {
  std::string data(2 * 4096 + 100, 'a');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  char table[12];
  uint32_t table_crc = encode_block_table(data.data(), data.size(), table);
  EXPECT_EQ(block_crc(table, 0), common::crc32c(data.data(), 4096));
  EXPECT_EQ(block_crc(table, 1), common::crc32c(data.data() + 4096, 4096));
  EXPECT_EQ(block_crc(table, 2), common::crc32c(data.data() + 8192, 100));
  EXPECT_EQ(table_crc, common::crc32c(table, sizeof(table)));
  EXPECT_EQ(static_cast<uint8_t>(table[0]), block_crc(table, 0) & 0xFF);  // little-endian
}

TEST(PageFile, Paths) {
  const std::string id = file_id("k", "v");
  EXPECT_EQ(page_path("/c", 4096, id, 12), "/c/4096/" + id.substr(0, 2) + "/" + id + "/12");
  EXPECT_EQ(file_dir("/c", 4096, id), "/c/4096/" + id.substr(0, 2) + "/" + id);
  EXPECT_EQ(page_size_dir("/c", 1048576), "/c/1048576");
}

TEST(PageFile, ParsePageIndex) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_page_index("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_page_index("18446744073709551615", &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(parse_page_index("18446744073709551616", &v));
  EXPECT_FALSE(parse_page_index("007", &v));
  EXPECT_FALSE(parse_page_index("", &v));
  EXPECT_FALSE(parse_page_index("-1", &v));
  EXPECT_FALSE(parse_page_index("1a", &v));
}

}  // namespace
}  // namespace alluxio_fuse::cache
