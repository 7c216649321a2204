// The built-in schemas (known_layouts.h): every event layout this project
// knows without a schema from the file, written as data in the style of a
// struct definition. Names, types and order are those of Windows' own
// schemas (MOF classes for the kernel events, manifests for the rest), as
// documented in docs/etl-format.md, Payload layouts (one section per
// provider there, with the sources).
// A field whose size depends on the payload names the earlier field that
// holds it. Pointer-sized fields take the record's pointer size.
#include "known_layouts.h"

#include <iterator>
#include <map>
#include <tuple>
#include <vector>

#include "constants.h"

namespace etl {

namespace {

struct Field {
  const char* name;
  InType in;
  OutType out = OutType::Null;
  const char* sizedBy = nullptr;  // length (strings, binary) or count (arrays) from this earlier field
  bool array = false;             // with sizedBy: that many elements
  uint16_t fixedLength = 0;       // UTF-16 characters or bytes, when the size is fixed
};

// One field each, named by what it holds on disk.
Field u8(const char* n) { return {n, InType::UInt8, OutType::UnsignedByte}; }
Field u16(const char* n) { return {n, InType::UInt16, OutType::UnsignedShort}; }
Field u32(const char* n) { return {n, InType::UInt32, OutType::UnsignedInt}; }
Field hex32(const char* n) { return {n, InType::HexInt32, OutType::HexInt32}; }
Field i32(const char* n) { return {n, InType::Int32, OutType::Int}; }
Field u64(const char* n) { return {n, InType::UInt64, OutType::UnsignedLong}; }
Field ptr(const char* n) { return {n, InType::Pointer, OutType::HexInt64}; }
Field fileTime(const char* n) { return {n, InType::FileTime, OutType::DateTime}; }
Field ansiz(const char* n) { return {n, InType::AnsiString, OutType::String}; }    // NUL-terminated 8-bit
Field wstrz(const char* n) { return {n, InType::UnicodeString, OutType::String}; } // NUL-terminated UTF-16
Field wchars(const char* n, uint16_t chars) {  // UTF-16 in a fixed array, NUL-padded
  return {n, InType::UnicodeString, OutType::String, nullptr, false, chars};
}
Field sid(const char* n) { return {n, InType::Sid, OutType::String}; }  // a binary SID
// The kernel's "Sid" extension: u32 0 alone when there is none, else a
// TOKEN_USER (two pointers) and then the SID (docs/etl-format.md, Kernel Process events (MOF)).
Field kernelSid(const char* n) { return {n, InType::WbemSid, OutType::String}; }
Field bytes(const char* n, const char* sizedBy, OutType out = OutType::HexBinary) {
  return {n, InType::Binary, out, sizedBy};
}
Field fixedBytes(const char* n, uint16_t size, OutType out) { return {n, InType::Binary, out, nullptr, false, size}; }
Field doubles(const char* n, const char* countBy) { return {n, InType::Double, OutType::Double, countBy, true}; }

struct Layout {
  const Guid& source;           // provider (manifest events) or event class (classic, kernel)
  bool classic;
  std::vector<uint16_t> ids;    // event ids, or opcodes (event types) for classic events
  uint8_t version;
  std::vector<Field> fields;
};

const std::vector<Layout>& layouts() {
  static const std::vector<Layout> all = {
      // ---- Kernel Process class (group PROCESS): Start, End, DCStart, DCEnd, Defunct.
      {known::kProcessClass, true, {1, 2, 3, 4, 39}, 0,
       {ptr("ProcessId"), ptr("ParentId"), kernelSid("UserSID"), ansiz("ImageFileName")}},
      {known::kProcessClass, true, {1, 2, 3, 4, 39}, 1,
       {ptr("PageDirectoryBase"), u32("ProcessId"), u32("ParentId"), u32("SessionId"), i32("ExitStatus"),
        kernelSid("UserSID"), ansiz("ImageFileName")}},
      {known::kProcessClass, true, {1, 2, 3, 4, 39}, 2,
       {ptr("UniqueProcessKey"), u32("ProcessId"), u32("ParentId"), u32("SessionId"), i32("ExitStatus"),
        kernelSid("UserSID"), ansiz("ImageFileName"), wstrz("CommandLine")}},
      {known::kProcessClass, true, {1, 2, 3, 4, 39}, 3,
       {ptr("UniqueProcessKey"), u32("ProcessId"), u32("ParentId"), u32("SessionId"), i32("ExitStatus"),
        ptr("DirectoryTableBase"), kernelSid("UserSID"), ansiz("ImageFileName"), wstrz("CommandLine")}},
      {known::kProcessClass, true, {1, 2, 3, 4, 39}, 4,
       {ptr("UniqueProcessKey"), u32("ProcessId"), u32("ParentId"), u32("SessionId"), i32("ExitStatus"),
        ptr("DirectoryTableBase"), u32("Flags"), kernelSid("UserSID"), ansiz("ImageFileName"),
        wstrz("CommandLine"), wstrz("PackageFullName"), wstrz("ApplicationId")}},
      {known::kProcessClass, true, {1, 2, 3, 4, 39}, 5,
       {ptr("UniqueProcessKey"), u32("ProcessId"), u32("ParentId"), u32("SessionId"), i32("ExitStatus"),
        ptr("DirectoryTableBase"), u32("Flags"), kernelSid("UserSID"), ansiz("ImageFileName"),
        wstrz("CommandLine"), wstrz("PackageFullName"), wstrz("ApplicationId"), fileTime("ExitTime")}},
      // Terminate.
      {known::kProcessClass, true, {11}, 0, {u32("ProcessId")}},

      // ---- Kernel Thread class (group THREAD): Start, End, DCStart, DCEnd.
      {known::kThreadClass, true, {1, 2, 3, 4}, 2,
       {u32("ProcessId"), u32("TThreadId"), ptr("StackBase"), ptr("StackLimit"), ptr("UserStackBase"),
        ptr("UserStackLimit"), ptr("StartAddr"), ptr("Win32StartAddr"), ptr("TebBase"), hex32("SubProcessTag")}},
      {known::kThreadClass, true, {1, 2, 3, 4}, 3,
       {u32("ProcessId"), u32("TThreadId"), ptr("StackBase"), ptr("StackLimit"), ptr("UserStackBase"),
        ptr("UserStackLimit"), ptr("Affinity"), ptr("Win32StartAddr"), ptr("TebBase"), hex32("SubProcessTag"),
        u8("BasePriority"), u8("PagePriority"), u8("IoPriority"), u8("ThreadFlags"),
        // Windows 10 appends the thread's name (empty when it has none): seen
        // in every v3 record of fixtures/airbus/ShutdownPerfDiagLogger.etl.
        wstrz("ThreadName")}},

      // ---- Kernel Image class (group IMAGE, and type 10 of group PROCESS): Load, Unload, DCStart, DCEnd.
      {known::kImageClass, true, {10}, 0, {ptr("BaseAddress"), u32("ModuleSize"), wstrz("ImageFileName")}},
      {known::kImageClass, true, {10}, 1, {ptr("ImageBase"), ptr("ImageSize"), u32("ProcessId"), wstrz("FileName")}},
      {known::kImageClass, true, {2, 3, 4, 10}, 2,
       {ptr("ImageBase"), ptr("ImageSize"), u32("ProcessId"), hex32("ImageCheckSum"), u32("TimeDateStamp"),
        u32("Reserved0"), ptr("DefaultBase"), u32("Reserved1"), u32("Reserved2"), u32("Reserved3"),
        u32("Reserved4"), wstrz("FileName")}},
      {known::kImageClass, true, {2, 3, 4, 10}, 3,
       {ptr("ImageBase"), ptr("ImageSize"), u32("ProcessId"), hex32("ImageCheckSum"), u32("TimeDateStamp"),
        u8("SignatureLevel"), u8("SignatureType"), u16("Reserved0"), ptr("DefaultBase"), u32("Reserved1"),
        u32("Reserved2"), u32("Reserved3"), u32("Reserved4"), wstrz("FileName")}},

      // ---- SystemConfig Services (EventTraceConfig class, group CONFIG, type 15):
      // the services running when the kernel session started, with their host PID.
      {known::kEventTraceConfig, true, {15}, 0,
       {wchars("ServiceName", 34), wchars("DisplayName", 256), wchars("ProcessName", 34), u32("ProcessId")}},
      {known::kEventTraceConfig, true, {15}, 1,
       {u32("ProcessId"), u32("ServiceState"), hex32("SubProcessTag"), wstrz("ServiceName"), wstrz("DisplayName"),
        wstrz("ProcessName")}},

      // ---- SystemConfig CPU (EventTraceConfig class, type 10): the computer's name, in the
      // configuration rundown the kernel logger writes when it stops. Every version begins with
      // these fields; what follows ComputerName is not needed and not decoded.
      {known::kEventTraceConfig, true, {10}, 0,
       {u32("MHz"), u32("NumberOfProcessors"), u32("MemSize"), u32("PageSize"), u32("AllocationGranularity"),
        wchars("ComputerName", 256)}},

      // ---- Microsoft-Windows-Kernel-Process: ProcessStart (1), ProcessStop (2), ProcessRundown (15).
      {known::kKernelProcess, false, {1}, 0,
       {u32("ProcessID"), fileTime("CreateTime"), u32("ParentProcessID"), u32("SessionID"), wstrz("ImageName")}},
      {known::kKernelProcess, false, {1}, 1,
       {u32("ProcessID"), fileTime("CreateTime"), u32("ParentProcessID"), u32("SessionID"), hex32("Flags"),
        wstrz("ImageName")}},
      {known::kKernelProcess, false, {1}, 2,
       {u32("ProcessID"), fileTime("CreateTime"), u32("ParentProcessID"), u32("SessionID"), hex32("Flags"),
        wstrz("ImageName"), hex32("ImageChecksum"), u32("TimeDateStamp"), wstrz("PackageFullName"),
        wstrz("PackageRelativeAppId")}},
      {known::kKernelProcess, false, {1}, 3,
       {u32("ProcessID"), u64("ProcessSequenceNumber"), fileTime("CreateTime"), u32("ParentProcessID"),
        u64("ParentProcessSequenceNumber"), u32("SessionID"), hex32("Flags"), u32("ProcessTokenElevationType"),
        u32("ProcessTokenIsElevated"), sid("MandatoryLabel"), wstrz("ImageName"), hex32("ImageChecksum"),
        u32("TimeDateStamp"), wstrz("PackageFullName"), wstrz("PackageRelativeAppId")}},
      // ProcessRundown v0 has ProcessStart v2's fields, v1 those of ProcessStart v3.
      {known::kKernelProcess, false, {15}, 0,
       {u32("ProcessID"), fileTime("CreateTime"), u32("ParentProcessID"), u32("SessionID"), hex32("Flags"),
        wstrz("ImageName"), hex32("ImageChecksum"), u32("TimeDateStamp"), wstrz("PackageFullName"),
        wstrz("PackageRelativeAppId")}},
      {known::kKernelProcess, false, {15}, 1,
       {u32("ProcessID"), u64("ProcessSequenceNumber"), fileTime("CreateTime"), u32("ParentProcessID"),
        u64("ParentProcessSequenceNumber"), u32("SessionID"), hex32("Flags"), u32("ProcessTokenElevationType"),
        u32("ProcessTokenIsElevated"), sid("MandatoryLabel"), wstrz("ImageName"), hex32("ImageChecksum"),
        u32("TimeDateStamp"), wstrz("PackageFullName"), wstrz("PackageRelativeAppId")}},
      {known::kKernelProcess, false, {2}, 0,
       {u32("ProcessID"), fileTime("CreateTime"), fileTime("ExitTime"), u32("ExitCode"), u32("TokenElevationType"),
        u32("HandleCount"), u64("CommitCharge"), u64("CommitPeak"), ansiz("ImageName")}},
      {known::kKernelProcess, false, {2}, 1,
       {u32("ProcessID"), fileTime("CreateTime"), fileTime("ExitTime"), u32("ExitCode"), u32("TokenElevationType"),
        u32("HandleCount"), u64("CommitCharge"), u64("CommitPeak"), u64("CPUCycleCount"),
        u32("ReadOperationCount"), u32("WriteOperationCount"), u32("ReadTransferKiloBytes"),
        u32("WriteTransferKiloBytes"), u32("HardFaultCount"), ansiz("ImageName")}},
      {known::kKernelProcess, false, {2}, 2,
       {u32("ProcessID"), u64("ProcessSequenceNumber"), fileTime("CreateTime"), fileTime("ExitTime"),
        u32("ExitCode"), u32("TokenElevationType"), u32("HandleCount"), u64("CommitCharge"), u64("CommitPeak"),
        u64("CPUCycleCount"), u32("ReadOperationCount"), u32("WriteOperationCount"),
        u32("ReadTransferKiloBytes"), u32("WriteTransferKiloBytes"), u32("HardFaultCount"), ansiz("ImageName")}},

      // ---- Microsoft-Windows-TCPIP: connection events that name the owning process.
      // TcpAcceptListenerComplete, TcpConnectTcbComplete, TcpConnectTcbFailure,
      // TcpCloseTcbRequest, TcpAbortTcbRequest; addresses are Winsock SOCKADDRs.
      {known::kTcpip, false, {1017, 1033, 1034, 1038, 1039}, 0,
       {u32("LocalAddressLength"), bytes("LocalAddress", "LocalAddressLength", OutType::SocketAddress),
        u32("RemoteAddressLength"), bytes("RemoteAddress", "RemoteAddressLength", OutType::SocketAddress),
        hex32("Status"), u32("ProcessId"), u32("Compartment"), ptr("Tcb")}},
      // TcpConnectionRundown.
      {known::kTcpip, false, {1300}, 0,
       {ptr("Tcb"), u32("LocalAddressLength"), bytes("LocalAddress", "LocalAddressLength", OutType::SocketAddress),
        u32("RemoteAddressLength"), bytes("RemoteAddress", "RemoteAddressLength", OutType::SocketAddress),
        u32("State"), u32("Pid")}},

      // ---- Microsoft-Windows-NDIS-PacketCapture (netsh trace capture=yes).
      // Packet Fragment; newer builds append GftFlowEntryId and GftOffloadInformation.
      {known::kNdisPacketCapture, false, {1001}, 0,
       {u32("MiniportIfIndex"), u32("LowerIfIndex"), u32("FragmentSize"), bytes("Fragment", "FragmentSize")}},
      // Packet Metadata (a DOT11_EXTSTA_RECV_CONTEXT for the next 802.11 frame).
      {known::kNdisPacketCapture, false, {1002}, 0,
       {u32("MiniportIfIndex"), u32("LowerIfIndex"), u32("MetadataSize"), bytes("Metadata", "MetadataSize")}},
      // VMSwitch Packet Fragment; the size of a Destination element is not
      // certain (the extractor checks it against what follows).
      {known::kNdisPacketCapture, false, {1003}, 0,
       {u32("MiniportIfIndex"), u32("LowerIfIndex"), u32("SourcePortId"), wstrz("SourcePortName"),
        wstrz("SourceNicName"), wstrz("SourceNicType"), u32("DestinationCount"),
        doubles("Destination", "DestinationCount"), u32("FragmentSize"), bytes("Fragment", "FragmentSize"),
        u32("OOBDataSize"), bytes("OOBData", "OOBDataSize")}},

      // ---- Microsoft-Windows-Ras-NdisWanPacketCapture (VPN): send 5001, receive 5002.
      {known::kNdisWanCapture, false, {5001, 5002}, 0,
       {wstrz("RoutingDomainID"), wstrz("RRASUserName"), u32("FragmentSize"), bytes("Fragment", "FragmentSize")}},

      // ---- Microsoft-Windows-PktMon: packet (160) and dropped packet (170).
      {known::kPktMon, false, {160, 170}, 0,
       {u64("PktGroupId"), u16("PktNumber"), u16("AppearanceCount"), u16("DirTag"), u16("PacketType"),
        u16("ComponentId"), u16("EdgeId"), u16("FilterId"), u32("DropReason"), hex32("DropLocation"),
        u16("OriginalPayloadSize"), u16("LoggedPayloadSize"), bytes("Payload", "LoggedPayloadSize")}},
      // Components and their properties (interface names and addresses).
      {known::kPktMon, false, {20}, 0, {u16("Id"), u16("Type"), wstrz("Name"), wstrz("Description")}},
      {known::kPktMon, false, {65}, 0, {u16("ComponentId"), u16("Type"), fixedBytes("IpAddress", 4, OutType::Ipv4)}},
      {known::kPktMon, false, {66}, 0, {u16("ComponentId"), u16("Type"), fixedBytes("IpAddress", 16, OutType::Ipv6)}},
      {known::kPktMon, false, {70}, 0, {u16("ComponentId"), u16("Type"), u32("Size"), bytes("Value", "Size")}},
  };
  return all;
}

Schema build(const Layout& l, uint16_t id) {
  Schema s;
  s.source = SchemaSource::Builtin;
  s.provider = l.source;
  if (l.classic) {
    s.eventGuid = l.source;
    s.descriptor.opcode = uint8_t(id);
    s.decodingSource = 1;  // DecodingSourceWbem
  } else {
    s.descriptor.id = id;
  }
  s.descriptor.version = l.version;
  for (const Field& f : l.fields) {
    PropertyInfo p;
    p.name = f.name;
    p.inType = f.in;
    p.outType = f.out;
    if (f.sizedBy) {
      int32_t from = -1;
      for (size_t k = 0; k < s.properties.size(); ++k)
        if (s.properties[k].name == f.sizedBy) from = int32_t(k);
      if (f.array) {
        p.isArray = true;
        p.countProperty = from;
        p.flags |= prop::ParamCount;
      } else {
        p.hasLength = true;
        p.lengthProperty = from;
        p.flags |= prop::ParamLength;
      }
    } else if (f.fixedLength) {
      p.hasLength = true;
      p.length = f.fixedLength;
      p.flags |= prop::ParamFixedLength;
    }
    s.properties.push_back(std::move(p));
  }
  s.topLevelCount = uint32_t(s.properties.size());
  finalizeSchema(s);
  return s;
}

using Key = std::tuple<Guid, uint16_t, bool>;  // source, id or opcode, classic

const std::map<Key, std::map<uint8_t, Schema>>& registry() {
  static const std::map<Key, std::map<uint8_t, Schema>> byKey = [] {
    std::map<Key, std::map<uint8_t, Schema>> m;
    for (const Layout& l : layouts())
      for (uint16_t id : l.ids) m[Key{l.source, id, l.classic}].emplace(l.version, build(l, id));
    return m;
  }();
  return byKey;
}

}  // namespace

const Schema* knownLayout(const Guid& source, uint16_t id, uint8_t version, bool classic) {
  const auto& reg = registry();
  auto it = reg.find(Key{source, id, classic});
  if (it == reg.end()) return nullptr;
  auto v = it->second.upper_bound(version);  // first version newer than the record's
  if (v == it->second.begin()) return nullptr;
  return &std::prev(v)->second;
}

const std::vector<const Schema*>& allKnownLayouts() {
  static const std::vector<const Schema*> all = [] {
    std::vector<const Schema*> v;
    for (const auto& byVersion : registry())
      for (const auto& s : byVersion.second) v.push_back(&s.second);
    return v;
  }();
  return all;
}

const Schema* knownLayout(const EventRecord& rec) {
  switch (rec.kind) {
    case RecordKind::Event: return knownLayout(rec.provider, rec.id, rec.version, false);
    case RecordKind::System:
    case RecordKind::PerfInfo:
    case RecordKind::Full:
    case RecordKind::Instance: return knownLayout(rec.provider, rec.opcode, rec.version, true);
    case RecordKind::Message: return nullptr;
  }
  return nullptr;
}

}  // namespace etl
