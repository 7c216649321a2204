// main() for the fuzz targets built without libFuzzer (ETL_FUZZ_REPLAY):
// runs LLVMFuzzerTestOneInput over each file named (or every file of each
// directory named), so regression inputs replay under gcc + ASan too.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

static int runFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", p.string().c_str());
    return 1;
  }
  std::vector<uint8_t> buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // An exact-size heap copy, as libFuzzer passes it, so a read past the end is caught.
  uint8_t* copy = new uint8_t[buf.size() ? buf.size() : 1];
  std::copy(buf.begin(), buf.end(), copy);
  LLVMFuzzerTestOneInput(buf.empty() ? nullptr : copy, buf.size());
  delete[] copy;
  std::printf("ok %s (%zu bytes)\n", p.string().c_str(), buf.size());
  return 0;
}

int main(int argc, char** argv) {
  int bad = 0, n = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      std::vector<std::filesystem::path> files;
      for (auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (auto& f : files) { bad += runFile(f); ++n; }
    } else {
      bad += runFile(p);
      ++n;
    }
  }
  std::printf("%d input(s) replayed\n", n);
  return bad ? 1 : 0;
}
