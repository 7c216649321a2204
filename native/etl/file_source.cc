#include "file_source.h"
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include "diagnostics.h"

#ifdef _WIN32
#include <filesystem>
#define etl_seek _fseeki64
#define etl_tell _ftelli64
#else
#define etl_seek fseeko
#define etl_tell ftello
#endif

namespace etl {

FileSource::FileSource(const std::string& path) {
#ifdef _WIN32
  // Paths arrive as UTF-8; the narrow CRT functions would read them in the ANSI code page, so a
  // folder or file name outside it (Japanese on a Western system, say) could not be opened.
  const std::wstring wide = std::filesystem::u8path(path).wstring();
  struct _stat64 st;
  int rc = _wstat64(wide.c_str(), &st);
  bool isDir = rc == 0 && (st.st_mode & _S_IFDIR);
#else
  struct stat st;
  int rc = ::stat(path.c_str(), &st);
  bool isDir = rc == 0 && S_ISDIR(st.st_mode);
#endif
  if (rc != 0) throw EtlError{Code::Open, path + ": cannot open: " + std::strerror(errno), 0, -1};
  if (isDir) throw EtlError{Code::Open, path + ": is a directory, not an .etl file", 0, -1};
#ifdef _WIN32
  f_ = _wfopen(wide.c_str(), L"rb");
#else
  f_ = std::fopen(path.c_str(), "rb");
#endif
  if (!f_) throw EtlError{Code::Open, path + ": cannot open: " + std::strerror(errno), 0, -1};
  if (etl_seek(f_, 0, SEEK_END) != 0) {
    std::fclose(f_);
    f_ = nullptr;
    throw EtlError{Code::Open, path + ": cannot seek: " + std::strerror(errno), 0, -1};
  }
  size_ = uint64_t(etl_tell(f_));
  std::setvbuf(f_, nullptr, _IONBF, 0);  // we read whole buffers; stdio buffering only copies
}

FileSource::~FileSource() {
  if (f_) std::fclose(f_);
}

bool FileSource::readAt(uint64_t offset, void* dst, size_t n) {
  if (offset > size_ || n > size_ - offset) return false;
  if (pos_ != offset) {
    if (etl_seek(f_, int64_t(offset), SEEK_SET) != 0) {
      pos_ = UINT64_MAX;
      return false;
    }
  }
  size_t got = std::fread(dst, 1, n, f_);
  pos_ = got == n ? offset + n : UINT64_MAX;
  return got == n;
}

}  // namespace etl
