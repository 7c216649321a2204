// Positioned reads from a file, without loading it: memory stays bounded by
// the largest buffer, whatever the file size.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace etl {

class FileSource {
 public:
  // Throws EtlError (code "open") when the file cannot be opened.
  explicit FileSource(const std::string& path);
  ~FileSource();
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const { return size_; }
  // Reads exactly n bytes at offset; false on a short read or I/O error.
  bool readAt(uint64_t offset, void* dst, size_t n);

 private:
  std::FILE* f_ = nullptr;
  uint64_t size_ = 0;
  uint64_t pos_ = UINT64_MAX;
};

}  // namespace etl
