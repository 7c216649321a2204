#include "output.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#else
#include <poll.h>
#include <unistd.h>
#endif

namespace fs = std::filesystem;

namespace pcapng {

void Output::write(const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  if (buf_.size() + n > cap_) {
    flush();
    if (n >= cap_) {
      sink(b, n);
      written_ += n;
      return;
    }
  }
  buf_.insert(buf_.end(), b, b + n);
  written_ += n;
}

void Output::flush() {
  if (buf_.empty()) return;
  sink(buf_.data(), buf_.size());
  buf_.clear();
}

struct FileOutput::Impl {
  std::ofstream f;
};

namespace {
std::string tempNameFor(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  unsigned r = rd() ^ unsigned(std::chrono::steady_clock::now().time_since_epoch().count()) ^ (counter++ << 20);
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%08x.tmp", r);
  fs::path dir = target.parent_path();
  fs::path name = "." + target.filename().u8string() + suffix;
  return (dir.empty() ? name : dir / name).u8string();
}
}  // namespace

FileOutput::FileOutput(const std::string& target) : impl_(new Impl), target_(target) {
  fs::path t = fs::u8path(target);
  temp_ = tempNameFor(t);
  impl_->f.open(fs::u8path(temp_), std::ios::binary | std::ios::trunc);
  if (!impl_->f) throw IoError("cannot create " + temp_ + " (for " + target + "): " + std::strerror(errno));
}

FileOutput::~FileOutput() {
  if (!done_) abort();
}

void FileOutput::sink(const uint8_t* p, size_t n) {
  impl_->f.write(reinterpret_cast<const char*>(p), std::streamsize(n));
  if (!impl_->f) throw IoError("write to " + temp_ + " failed: " + std::strerror(errno));
}

void FileOutput::commit() {
  flush();
  impl_->f.close();
  if (impl_->f.fail()) throw IoError("closing " + temp_ + " failed: " + std::strerror(errno));
  std::error_code ec;
  fs::rename(fs::u8path(temp_), fs::u8path(target_), ec);
  if (ec) throw IoError("renaming " + temp_ + " to " + target_ + " failed: " + ec.message());
  done_ = true;
}

void FileOutput::abort() {
  if (done_) return;
  done_ = true;
  if (impl_->f.is_open()) impl_->f.close();
  std::error_code ec;
  fs::remove(fs::u8path(temp_), ec);
}

StdoutOutput::StdoutOutput() {
#ifdef _WIN32
  _setmode(_fileno(stdout), _O_BINARY);
#endif
}

void StdoutOutput::sink(const uint8_t* p, size_t n) {
#ifdef _WIN32
  std::fflush(stdout);
  while (n > 0) {
    int w = _write(1, p, unsigned(std::min<size_t>(n, 1 << 30)));
    if (w < 0) throw IoError(std::string("write to standard output failed: ") + std::strerror(errno));
    p += w;
    n -= size_t(w);
  }
#else
  while (n > 0) {
    ssize_t w = ::write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // Node may have made fd 1 non-blocking
        pollfd pfd{1, POLLOUT, 0};
        ::poll(&pfd, 1, 1000);
        continue;
      }
      throw IoError(std::string("write to standard output failed: ") + std::strerror(errno));
    }
    p += w;
    n -= size_t(w);
  }
#endif
}

}  // namespace pcapng
