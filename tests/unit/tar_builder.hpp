// Tar archives built in memory for the unit tests: layers, image archives, hostile entries.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace hull::test {

struct TarEntry {
  std::string name;
  mode_t type = AE_IFREG;  // AE_IFREG, AE_IFDIR, AE_IFLNK, ...; 0: a hardlink to `data`
  std::string data;        // content, or the link's target
  mode_t perm = 0;         // 0: 0755 for a directory, 0644 else
};

// The entries as a pax tar (gzip-compressed when asked), mtime 1000.
inline std::string make_tar(const std::vector<TarEntry>& entries, bool gzip = false) {
  size_t size = 64 << 10;
  for (const auto& en : entries) size += en.data.size() + en.name.size() + 4096;
  std::vector<char> buf(size);
  size_t used = 0;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& en : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, en.name.c_str());
    archive_entry_set_mtime(e, 1000, 0);
    archive_entry_set_perm(e, en.perm ? en.perm : en.type == AE_IFDIR ? 0755 : 0644);
    if (en.type == 0) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, en.data.c_str());
    } else {
      archive_entry_set_filetype(e, en.type);
      if (en.type == AE_IFLNK) archive_entry_set_symlink(e, en.data.c_str());
      if (en.type == AE_IFREG) archive_entry_set_size(e, la_int64_t(en.data.size()));
    }
    archive_write_header(a, e);
    if (en.type == AE_IFREG) archive_write_data(a, en.data.data(), en.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

}  // namespace hull::test
