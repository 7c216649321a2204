// N-API face of the portable reader: TraceReader (events in batches, read on a
// worker thread) and summarize() (a whole-file pass for `info`).
#include <napi.h>
#include <map>
#include <memory>
#include <set>
#include <vector>
#include "convert_js.h"
#include "etl/providers.h"
#include "etl/reader.h"
#include "etl/schema.h"
#include "etl/text.h"
#include "etl/trace_source.h"
#include "trace_reader.h"

namespace addon {
namespace {

const char* kindName(etl::RecordKind k) {
  switch (k) {
    case etl::RecordKind::System: return "system";
    case etl::RecordKind::PerfInfo: return "perfinfo";
    case etl::RecordKind::Full: return "full";
    case etl::RecordKind::Instance: return "instance";
    case etl::RecordKind::Event: return "event";
    case etl::RecordKind::Message: return "message";
  }
  return "event";
}

// A record copied out of the reader's buffer so it can cross threads.
struct OwnedEvent {
  etl::EventRecord rec;
  std::vector<uint8_t> userData;
  const etl::Schema* schema = nullptr;  // owned by the reader's registry (stable)
};

std::string fileTimeIso(int64_t ft) {
  // FILETIME → "YYYY-MM-DDTHH:MM:SS.fffffffZ" (civil-from-days, proleptic Gregorian).
  if (ft < 0) return std::to_string(ft);
  int64_t secs = ft / 10000000, frac = ft % 10000000;
  int64_t days = secs / 86400, rem = secs % 86400;
  int64_t z = days - 134774 + 719468;  // days since 1970-01-01, shifted to 0000-03-01
  int64_t era = z / 146097, doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  char b[40];
  std::snprintf(b, sizeof b, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%07lldZ", (long long)y, (long long)m, (long long)d,
                (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60), (long long)frac);
  return b;
}

Napi::Value valueToJs(Napi::Env env, const etl::Value& v);

Napi::Object propsToJs(Napi::Env env, const std::vector<etl::DecodedProperty>& props) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& p : props) o.Set(p.name.empty() ? std::string("_") : p.name, valueToJs(env, p.value));
  return o;
}

Napi::Value numberOrBig(Napi::Env env, int64_t i) {
  if (i >= -(int64_t(1) << 53) && i <= (int64_t(1) << 53)) return Napi::Number::New(env, double(i));
  return Napi::BigInt::New(env, i);
}

Napi::Value valueToJs(Napi::Env env, const etl::Value& v) {
  using K = etl::Value::Kind;
  switch (v.kind) {
    case K::None: return env.Null();
    case K::Int: return numberOrBig(env, v.i);
    case K::UInt:
      if (v.u <= (uint64_t(1) << 53)) return Napi::Number::New(env, double(v.u));
      return Napi::BigInt::New(env, v.u);
    case K::Double: return Napi::Number::New(env, v.d);
    case K::Bool: return Napi::Boolean::New(env, v.b);
    case K::String:
      // A value with an unpaired surrogate is not UTF-8: hand JavaScript its UTF-16 units as they are.
      return etl::hasUnpairedSurrogate(v.str) ? Napi::String::New(env, etl::wtf8ToUtf16(v.str)) : Napi::String::New(env, v.str);
    case K::Guid: return Napi::String::New(env, v.guid.toString());
    case K::FileTime: return Napi::String::New(env, fileTimeIso(v.i));
    case K::Sid: return Napi::String::New(env, v.str);
    case K::Binary: return Napi::Buffer<uint8_t>::Copy(env, v.bytes, v.bytesLen);
    case K::Array: {
      Napi::Array a = Napi::Array::New(env, v.items.size());
      for (size_t i = 0; i < v.items.size(); i++) a.Set(uint32_t(i), valueToJs(env, v.items[i]));
      return a;
    }
    case K::Struct: return propsToJs(env, v.members);
  }
  return env.Null();
}

struct Filter {
  std::set<etl::Guid> providers;  // empty = all
  std::set<uint32_t> ids;         // empty = all
  bool match(const etl::EventRecord& r) const {
    if (!providers.empty() && !providers.count(r.provider)) return false;
    if (!ids.empty() && !ids.count(r.id)) return false;
    return true;
  }
};

class TraceReader : public Napi::ObjectWrap<TraceReader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TraceReader",
                       {InstanceMethod("header", &TraceReader::Header), InstanceMethod("readBatch", &TraceReader::ReadBatch),
                        InstanceMethod("stats", &TraceReader::Stats), InstanceMethod("close", &TraceReader::Close)});
  }

  TraceReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TraceReader>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "TraceReader(path, options?)");
    path_ = info[0].As<Napi::String>();
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Has("providers") && o.Get("providers").IsArray()) {
        Napi::Array a = o.Get("providers").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) {
          std::string s = a.Get(i).ToString();
          auto g = etl::Guid::parse(s);
          if (!g) g = etl::providerByName(s);
          if (!g) throw Napi::TypeError::New(env, "unknown provider '" + s + "': give a GUID or a known provider name");
          filter_.providers.insert(*g);
        }
      }
      if (o.Has("decode") && o.Get("decode").IsBoolean()) decode_ = o.Get("decode").As<Napi::Boolean>();
      if (o.Has("knownLayouts") && o.Get("knownLayouts").IsBoolean())
        schemas_.useKnownLayouts(o.Get("knownLayouts").As<Napi::Boolean>());
      if (o.Has("backend") && o.Get("backend").IsString()) {
        std::string b = o.Get("backend").ToString();
        if (b == "tdh") backend_ = etl::Backend::Tdh;
        else if (b != "portable") throw Napi::TypeError::New(env, "unknown backend '" + b + "': portable or tdh");
      }
      if (o.Has("ids") && o.Get("ids").IsArray()) {
        Napi::Array a = o.Get("ids").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) filter_.ids.insert(a.Get(i).ToNumber().Uint32Value());
      }
    }
    try {
      reader_ = etl::openTraceSource(path_, backend_);
    } catch (const etl::EtlError& e) {
      throw etlErrorToJs(env, e, path_);
    }
  }

  etl::SchemaRegistry& schemas() { return schemas_; }
  bool decode() const { return decode_; }
  etl::TraceSource* reader() { return reader_.get(); }
  const Filter& filter() const { return filter_; }
  const std::string& path() const { return path_; }
  bool busy = false;

 private:
  Napi::Value Header(const Napi::CallbackInfo& info) {
    if (!reader_) throw Napi::Error::New(info.Env(), "reader is closed");
    return headerToJs(info.Env(), reader_->header(), path_);
  }
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value ReadBatch(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (busy) throw Napi::Error::New(info.Env(), "cannot close while a batch is being read");
    reader_.reset();
    return info.Env().Undefined();
  }

  std::string path_;
  Filter filter_;
  etl::Backend backend_ = etl::Backend::Portable;
  bool decode_ = true;
  etl::SchemaRegistry schemas_;
  std::unique_ptr<etl::TraceSource> reader_;
};

Napi::Object statsToJs(Napi::Env env, const etl::TraceSource& r) {
  const auto& s = r.stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("buffers", double(s.buffers));
  o.Set("compressedBuffers", double(s.compressedBuffers));
  o.Set("badBuffers", double(s.badBuffers));
  o.Set("records", double(s.records));
  o.Set("unknownRecords", double(s.unknownRecords));
  o.Set("buffersWithLossFlag", double(s.buffersWithLossFlag));
  o.Set("bytesSkipped", double(s.bytesSkipped));
  o.Set("diagnostics", double(s.diagnostics));
  o.Set("eventsLost", r.header().eventsLost);
  o.Set("buffersLost", r.header().buffersLost);
  o.Set("bytesDone", double(r.bytesDone()));
  o.Set("fileSize", double(r.fileSize()));
  return o;
}

Napi::Value TraceReader::Stats(const Napi::CallbackInfo& info) {
  if (!reader_) throw Napi::Error::New(info.Env(), "reader is closed");
  return statsToJs(info.Env(), *reader_);
}

}  // namespace

Napi::Object eventToJs(Napi::Env env, const etl::EventRecord& r, const uint8_t* data, size_t len,
                       const etl::Schema* schema, const etl::SchemaRegistry* reg) {
  Napi::Object o = Napi::Object::New(env);
  if (schema) {
    etl::DecodedPayload d = etl::decode(*schema, data, uint32_t(len), r.pointer64);
    Napi::Object props = propsToJs(env, d.properties);
    // Name enumerated values through the schema's value maps, as TDH's formatting does.
    if (reg) {
      for (const auto& p : schema->properties) {
        if (p.mapName.empty() || !props.Has(p.name)) continue;
        Napi::Value raw = props.Get(p.name);
        if (!raw.IsNumber()) continue;
        auto named = reg->mapValue(schema->provider, p.mapName, uint64_t(raw.As<Napi::Number>().Int64Value()));
        if (named) props.Set(p.name, Napi::String::New(env, *named));
      }
    }
    o.Set("properties", props);
    if (d.truncated) o.Set("propertiesTruncated", true);
    if (!d.error.empty()) o.Set("propertiesError", d.error);
    std::string name = !schema->eventName.empty() ? schema->eventName
                       : !schema->taskName.empty() ? schema->taskName + (schema->opcodeName.empty() ? "" : "/" + schema->opcodeName)
                                                    : std::string();
    if (!name.empty()) o.Set("eventName", name);
  }
  o.Set("fileTime", bigI64(env, r.fileTime));
  o.Set("cpu", r.cpu);
  o.Set("pid", r.pid);
  o.Set("tid", r.tid);
  o.Set("kind", kindName(r.kind));
  o.Set("provider", r.provider.toString());
  if (const char* n = etl::providerName(r.provider)) o.Set("providerName", n);
  else if (schema && !schema->providerName.empty()) o.Set("providerName", schema->providerName);
  o.Set("id", r.id);
  o.Set("version", r.version);
  o.Set("opcode", r.opcode);
  o.Set("level", r.level);
  o.Set("task", r.task);
  o.Set("keywords", bigU64(env, r.keywords));
  o.Set("channel", r.channel);
  if (r.kind == etl::RecordKind::System || r.kind == etl::RecordKind::PerfInfo) o.Set("hookId", r.hookId);
  o.Set("pointerSize", r.pointer64 ? 8 : 4);
  o.Set("userData", Napi::Buffer<uint8_t>::Copy(env, data, len));
  o.Set("bufferIndex", r.bufferIndex);
  o.Set("fileOffset", double(r.bufferFileOffset));
  return o;
}

namespace {

class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, TraceReader* owner, Napi::Object ownerObj, uint32_t max)
      : Napi::AsyncWorker(env), owner_(owner), deferred_(Napi::Promise::Deferred::New(env)), max_(max) {
    ownerRef_ = Napi::Persistent(ownerObj);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    etl::TraceSource* r = owner_->reader();
    etl::EventRecord rec;
    const Filter& f = owner_->filter();
    // Bound a batch by bytes too, so one call never holds a huge copy.
    size_t bytes = 0;
    while (events_.size() < max_ && bytes < (8u << 20)) {
      if (!r->next(rec)) {
        done_ = true;
        break;
      }
      // Embedded schemas arrive as records; keep them whatever the filter says.
      if (owner_->decode()) owner_->schemas().addMetadataRecord(rec);
      if (!f.match(rec)) continue;
      OwnedEvent e;
      e.rec = rec;
      if (owner_->decode()) e.schema = owner_->schemas().schemaFor(rec);
      e.userData.assign(rec.userData, rec.userData + rec.userDataLen);
      e.rec.userData = nullptr;
      e.rec.extData = nullptr;
      bytes += rec.userDataLen + 128;
      events_.push_back(std::move(e));
    }
    diags_ = r->takeNewDiagnostics();
  }

  void OnOK() override {
    Napi::Env env = Env();
    owner_->busy = false;
    Napi::Object out = Napi::Object::New(env);
    Napi::Array evs = Napi::Array::New(env, events_.size());
    for (size_t i = 0; i < events_.size(); i++) {
      const OwnedEvent& e = events_[i];
      evs.Set(uint32_t(i), eventToJs(env, e.rec, e.userData.data(), e.userData.size(), e.schema, &owner_->schemas()));
    }
    Napi::Array ds = Napi::Array::New(env, diags_.size());
    for (size_t i = 0; i < diags_.size(); i++) ds.Set(uint32_t(i), diagnosticToJs(env, diags_[i], owner_->path()));
    out.Set("events", evs);
    out.Set("diagnostics", ds);
    out.Set("done", done_);
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override {
    owner_->busy = false;
    deferred_.Reject(e.Value());
  }

 private:
  TraceReader* owner_;
  Napi::ObjectReference ownerRef_;  // keeps the reader alive while we run
  Napi::Promise::Deferred deferred_;
  uint32_t max_;
  std::vector<OwnedEvent> events_;
  std::vector<etl::Diagnostic> diags_;
  bool done_ = false;
};

Napi::Value TraceReader::ReadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reader_) throw Napi::Error::New(env, "reader is closed");
  if (busy) throw Napi::Error::New(env, "readBatch called while another batch is being read");
  uint32_t max = info.Length() > 0 && info[0].IsNumber() ? info[0].ToNumber().Uint32Value() : 4096;
  if (max == 0) max = 1;
  busy = true;
  auto* w = new BatchWorker(env, this, Value(), max);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// summarize(path) → Promise<{ header, stats, providers, diagnostics }>: one pass in C++.
class SummaryWorker : public Napi::AsyncWorker {
 public:
  SummaryWorker(Napi::Env env, std::string path, etl::Backend backend)
      : Napi::AsyncWorker(env), path_(std::move(path)), backend_(backend), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      reader_ = etl::openTraceSource(path_, backend_);
      etl::EventRecord rec;
      while (reader_->next(rec)) counts_[rec.provider][rec.id]++;
    } catch (const etl::EtlError& e) {
      error_ = e;
      failed_ = true;
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      deferred_.Reject(etlErrorToJs(env, error_, path_).Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("header", headerToJs(env, reader_->header(), path_));
    out.Set("stats", statsToJs(env, *reader_));
    Napi::Array provs = Napi::Array::New(env);
    uint32_t i = 0;
    for (auto& [g, ids] : counts_) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("guid", g.toString());
      if (const char* n = etl::providerName(g)) p.Set("name", n);
      Napi::Object ev = Napi::Object::New(env);
      for (auto& [id, n] : ids) ev.Set(std::to_string(id), double(n));
      p.Set("events", ev);
      provs.Set(i++, p);
    }
    out.Set("providers", provs);
    const auto ds = reader_->takeNewDiagnostics();
    Napi::Array da = Napi::Array::New(env, ds.size());
    for (size_t k = 0; k < ds.size(); k++) da.Set(uint32_t(k), diagnosticToJs(env, ds[k], path_));
    out.Set("diagnostics", da);
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string path_;
  etl::Backend backend_;
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<etl::TraceSource> reader_;
  std::map<etl::Guid, std::map<uint32_t, uint64_t>> counts_;
  etl::EtlError error_;
  bool failed_ = false;
};

Napi::Value Summarize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "summarize(path)");
  etl::Backend backend = etl::Backend::Portable;
  if (info.Length() > 1 && info[1].IsString()) {
    std::string b = info[1].ToString();
    if (b == "tdh") backend = etl::Backend::Tdh;
    else if (b != "portable") throw Napi::TypeError::New(env, "unknown backend '" + b + "': portable or tdh");
  }
  auto* w = new SummaryWorker(env, info[0].As<Napi::String>(), backend);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitTraceReader(Napi::Env env, Napi::Object exports) {
  exports.Set("TraceReader", TraceReader::Define(env));
  exports.Set("summarize", Napi::Function::New(env, Summarize, "summarize"));
  exports.Set("tdhAvailable", etl::tdhBackendAvailable());
}

}  // namespace addon
