// Problems found while reading a file, in one vocabulary from the reader to
// the CLI: a code from the list below, a message, the file offset and the
// buffer index. The reader keeps going where it can (a bad buffer is skipped)
// and records what it skipped; the packet decoders report the events they
// could not use the same way; callers decide whether a warning is fatal
// (--strict). The addon exports the list of codes, and src/native/binding.ts
// declares the same union (test/native/binding.test.ts compares them).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace etl {

// X(identifier, name): the name is what JavaScript sees.
#define ETL_CODES(X)                                                                         \
  /* the file cannot be read at all (EtlError) */                                            \
  X(Open, "open")                   /* cannot open or seek */                                \
  X(NotEtl, "not-etl")              /* no trace header buffer at offset 0 */                 \
  X(Io, "io")                       /* a read failed */                                      \
  X(Backend, "backend")             /* the tdh backend outside Windows */                    \
  X(ProcessTrace, "processtrace")   /* Windows' ProcessTrace stopped (tdh backend) */         \
  /* damage the reader skips (docs/etl-format.md, Damaged input) */                         \
  X(Truncated, "truncated")                                                                  \
  X(EndMissing, "end-missing")      /* a trace still being written: no end time, zeros */     \
  X(BufferSize, "buffer-size")                                                               \
  X(ChainBroken, "chain-broken")                                                             \
  X(BufferCount, "buffer-count")                                                             \
  X(BufferOffset, "buffer-offset")                                                           \
  X(CompressionRatio, "compression-ratio")                                                   \
  X(MemoryLimit, "memory-limit")                                                             \
  X(Decompress, "decompress")                                                                \
  X(UnknownRecord, "unknown-record")                                                         \
  X(RecordSize, "record-size")                                                               \
  /* packet events the extractor could not use whole (native/capture) */                     \
  X(MalformedEvent, "malformed-event")                                                       \
  X(InconsistentMedia, "inconsistent-media")                                                 \
  X(WifiMetadataSize, "wifi-metadata-size")                                                  \
  X(VmswitchLayout, "vmswitch-layout")                                                       \
  X(PktmonPacketType, "pktmon-packet-type")                                                  \
  X(MissingStart, "missing-start")                                                           \
  X(MissingEnd, "missing-end")                                                               \
  X(Oversize, "oversize")                                                                    \
  /* why a conversion stopped */                                                             \
  X(Strict, "strict")               /* --strict and a problem above */                       \
  X(Cancelled, "cancelled")                                                                  \
  X(Output, "output")               /* the pcapng cannot be written */                       \
  X(Internal, "internal")           /* a bug: an exception nothing else explains */

enum class Code : uint8_t {
#define ETL_CODE_ID(id, name) id,
  ETL_CODES(ETL_CODE_ID)
#undef ETL_CODE_ID
};

// The JavaScript name of a code ("buffer-size").
const char* codeName(Code code);
// Every name, in declaration order.
const std::vector<const char*>& codeNames();

enum class Severity : uint8_t { Warning, Error };

struct Diagnostic {
  Severity severity = Severity::Warning;
  Code code = Code::Internal;
  std::string message;  // human text; the reader's name file, buffer index and offset
  uint64_t offset = 0;  // file byte offset (of the buffer, for a problem inside one of its records)
  int64_t buffer = -1;  // buffer index in file order, -1 if not tied to one
};

// Thrown for problems that stop reading altogether (unreadable file, not an .etl).
struct EtlError {
  Code code = Code::Internal;
  std::string message;
  uint64_t offset = 0;
  int64_t buffer = -1;
};

}  // namespace etl
