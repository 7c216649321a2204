// Where pcapng bytes go. A file is written to a temporary name in the target's
// folder and renamed over the target by commit(); anything else (an error, an
// exception unwinding, cancel) removes the temporary file, so no half-written
// output is ever left under the target's name.
#pragma once
#include <cstdint>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace pcapng {

struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Output {
 public:
  virtual ~Output() = default;
  void write(const void* p, size_t n);   // buffered; throws IoError
  void flush();                          // throws IoError
  virtual void commit() = 0;             // flush and make the output final
  virtual void abort() = 0;              // give up; remove what was written where possible
  uint64_t bytesWritten() const { return written_; }

 protected:
  virtual void sink(const uint8_t* p, size_t n) = 0;
  std::vector<uint8_t> buf_;
  uint64_t written_ = 0;
  size_t cap_ = 512 * 1024;
};

// Temp file beside `target`, renamed at commit. Destructor aborts if not committed.
class FileOutput : public Output {
 public:
  explicit FileOutput(const std::string& target);
  ~FileOutput() override;
  void commit() override;
  void abort() override;
  const std::string& tempPath() const { return temp_; }

 private:
  void sink(const uint8_t* p, size_t n) override;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string target_, temp_;
  bool done_ = false;
};

// Standard output (binary, blocking writes even if the fd is non-blocking).
class StdoutOutput : public Output {
 public:
  StdoutOutput();
  void commit() override { flush(); }
  void abort() override {}
 private:
  void sink(const uint8_t* p, size_t n) override;
};

// In memory, for tests.
class MemoryOutput : public Output {
 public:
  MemoryOutput() { cap_ = 0; }
  void commit() override { flush(); }
  void abort() override {}
  std::vector<uint8_t> data;
 private:
  void sink(const uint8_t* p, size_t n) override { data.insert(data.end(), p, p + n); }
};

}  // namespace pcapng
