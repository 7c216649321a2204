// N-API face of the capture engine:
//   convert(input, output, options?, onProgress?) → Promise<ConvertSummary>
//   scanPackets(input, options?) → PacketScan { next(max?), summary(), close() }
// Both read the trace on a worker thread; only IMDS packets cross into JS for scan.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <memory>
#include <string>

#include "capture/engine.h"
#include "capture/netparse.h"
#include "capture_api.h"
#include "convert_js.h"
#include "etl/guid.h"
#include "etl/reader.h"
#include "pcapng/output.h"
#include "trace_reader.h"

namespace addon {
namespace {

const char* directionName(capture::Direction d) {
  return d == capture::Direction::In ? "in" : d == capture::Direction::Out ? "out" : "unknown";
}

etl::Backend backendOption(Napi::Env env, const Napi::Object& o) {
  if (!o.Has("backend") || o.Get("backend").IsUndefined()) return etl::Backend::Portable;
  std::string b = o.Get("backend").ToString();
  if (b == "tdh") return etl::Backend::Tdh;
  if (b != "portable") throw Napi::TypeError::New(env, "unknown backend '" + b + "': portable or tdh");
  return etl::Backend::Portable;
}

bool pidOption(Napi::Env env, const Napi::Object& o, uint32_t* pid) {
  if (!o.Has("pid") || o.Get("pid").IsUndefined() || o.Get("pid").IsNull()) return false;
  Napi::Value v = o.Get("pid");
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "options.pid must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != double(uint64_t(d)))
    throw Napi::RangeError::New(env, "options.pid must be an integer from 0 to 4294967295");
  *pid = uint32_t(d);
  return true;
}

std::vector<etl::Guid> guidListOption(Napi::Env env, const Napi::Object& o, const char* name) {
  std::vector<etl::Guid> out;
  if (!o.Has(name) || o.Get(name).IsUndefined()) return out;
  if (!o.Get(name).IsArray()) throw Napi::TypeError::New(env, std::string("options.") + name + " must be an array of GUIDs");
  Napi::Array a = o.Get(name).As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    std::string s = a.Get(i).ToString();
    auto g = etl::Guid::parse(s);
    if (!g) throw Napi::TypeError::New(env, std::string("options.") + name + ": '" + s + "' is not a GUID");
    out.push_back(*g);
  }
  return out;
}

bool boolOption(const Napi::Object& o, const char* name) {
  return o.Has(name) && o.Get(name).ToBoolean().Value();
}

// What went wrong on the worker thread, kept so the JS error carries a code.
struct Failure {
  etl::Code code = etl::Code::Internal;
  std::string message;
  uint64_t offset = 0;
  int64_t buffer = -1;
};

template <typename F>
bool runCatching(Failure& f, F&& fn) {
  try {
    fn();
    return true;
  } catch (const etl::EtlError& e) {
    f = Failure{e.code, e.message, e.offset, e.buffer};
  } catch (const capture::ConvertError& e) {
    f = Failure{e.code, e.what()};
  } catch (const pcapng::IoError& e) {
    f = Failure{etl::Code::Output, e.what()};
  } catch (const std::exception& e) {
    f = Failure{etl::Code::Internal, e.what()};
  }
  return false;
}

Napi::Error failureToJs(Napi::Env env, const Failure& f, const std::string& file) {
  return errorToJs(env, f.code, f.message, file, f.offset, f.buffer);
}

Napi::Object interfaceToJs(Napi::Env env, int32_t id, const std::string& name, const std::string& desc,
                           uint16_t linkType, capture::Source src, uint64_t packets) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", id);
  o.Set("name", name);
  o.Set("description", desc);
  o.Set("linkType", linkType);
  o.Set("source", capture::sourceName(src));
  o.Set("packets", Napi::Number::New(env, double(packets)));
  return o;
}

Napi::Object warningsToJs(Napi::Env env, const std::map<std::string, uint64_t>& counts) {
  Napi::Object w = Napi::Object::New(env);
  for (auto& kv : counts) w.Set(kv.first, Napi::Number::New(env, double(kv.second)));
  return w;
}

// Warnings as convert has always printed them: "code: message".
Napi::Array warningTextsToJs(Napi::Env env, const std::vector<etl::Diagnostic>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(uint32_t(i), capture::WarningLog::text(v[i]));
  return a;
}

Napi::Object statsToJs(Napi::Env env, const capture::ExtractorStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("events", Napi::Number::New(env, double(s.events)));
  o.Set("fragments", Napi::Number::New(env, double(s.fragments)));
  o.Set("packets", Napi::Number::New(env, double(s.packets)));
  o.Set("oversize", Napi::Number::New(env, double(s.oversize)));
  o.Set("missingStart", Napi::Number::New(env, double(s.missingStart)));
  o.Set("missingEnd", Napi::Number::New(env, double(s.missingEnd)));
  o.Set("malformed", Napi::Number::New(env, double(s.malformed)));
  o.Set("relabeled", Napi::Number::New(env, double(s.relabeled)));
  return o;
}

// ---- convert ----------------------------------------------------------------

struct Progress {
  uint64_t bytesDone, fileSize, packets;
};

class ConvertWorker : public Napi::AsyncProgressQueueWorker<Progress> {
 public:
  ConvertWorker(Napi::Env env, std::string input, std::string output, capture::ConvertOptions opts,
                Napi::Function onProgress)
      : Napi::AsyncProgressQueueWorker<Progress>(env),
        input_(std::move(input)),
        output_(std::move(output)),
        opts_(std::move(opts)),
        deferred_(Napi::Promise::Deferred::New(env)) {
    if (!onProgress.IsEmpty()) progress_ = Napi::Persistent(onProgress);
    opts_.cancel = &cancel_;
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    if (!progress_.IsEmpty())
      opts_.onProgress = [&progress](uint64_t done, uint64_t size, uint64_t packets) {
        Progress p{done, size, packets};
        progress.Send(&p, 1);
      };
    ok_ = runCatching(failure_, [&] { summary_ = capture::convertFile(input_, output_, opts_); });
    if (!ok_) SetError(failure_.message);
  }

  void OnProgress(const Progress* data, size_t count) override {
    if (progress_.IsEmpty() || count == 0) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    const Progress& p = data[count - 1];
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytesDone", Napi::Number::New(env, double(p.bytesDone)));
    o.Set("fileSize", Napi::Number::New(env, double(p.fileSize)));
    o.Set("packets", Napi::Number::New(env, double(p.packets)));
    // The callback returns false to cancel (Ctrl-C in the CLI); a throwing
    // callback cancels too, rather than leaving an exception pending.
    Napi::Value r = progress_.Value().Call({o});
    if (env.IsExceptionPending()) {
      env.GetAndClearPendingException();
      cancel_ = true;
    } else if (r.IsBoolean() && !r.As<Napi::Boolean>().Value()) {
      cancel_ = true;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    const capture::ConvertSummary& s = summary_;
    Napi::Object o = Napi::Object::New(env);
    o.Set("input", s.input);
    o.Set("output", s.output);
    o.Set("packets", Napi::Number::New(env, double(s.packets)));
    o.Set("packetsSeen", Napi::Number::New(env, double(s.packetsSeen)));
    o.Set("filteredOut", Napi::Number::New(env, double(s.filteredOut)));
    o.Set("duplicates", Napi::Number::New(env, double(s.duplicates)));
    Napi::Array ifs = Napi::Array::New(env, s.interfaces.size());
    for (size_t i = 0; i < s.interfaces.size(); ++i) {
      const auto& f = s.interfaces[i];
      ifs.Set(uint32_t(i), interfaceToJs(env, f.id, f.name, f.description, f.linkType, f.source, f.packets));
    }
    o.Set("interfaces", ifs);
    o.Set("warnings", warningsToJs(env, s.warnings));
    uint64_t wc = 0;
    for (auto& kv : s.warnings) wc += kv.second;
    o.Set("warningCount", Napi::Number::New(env, double(wc)));
    o.Set("warningSamples", warningTextsToJs(env, s.warningSamples));
    Napi::Array ds = Napi::Array::New(env, s.diagnostics.size());
    for (size_t i = 0; i < s.diagnostics.size(); ++i) ds.Set(uint32_t(i), diagnosticToJs(env, s.diagnostics[i], s.input));
    o.Set("diagnostics", ds);
    o.Set("diagnosticCount", Napi::Number::New(env, double(s.diagnosticCount)));
    o.Set("bytesWritten", Napi::Number::New(env, double(s.bytesWritten)));
    o.Set("records", Napi::Number::New(env, double(s.records)));
    o.Set("stats", statsToJs(env, s.stats));
    o.Set("eventsLost", s.eventsLost);
    o.Set("buffersLost", s.buffersLost);
    o.Set("buffersWithLossFlag", Napi::Number::New(env, double(s.buffersWithLossFlag)));
    o.Set("fileSize", Napi::Number::New(env, double(s.fileSize)));
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error&) override { deferred_.Reject(failureToJs(Env(), failure_, input_).Value()); }

 private:
  std::string input_, output_;
  capture::ConvertOptions opts_;
  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference progress_;
  std::atomic<bool> cancel_{false};
  capture::ConvertSummary summary_;
  Failure failure_;
  bool ok_ = false;
};

Napi::Value Convert(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    throw Napi::TypeError::New(env, "convert(input, output, options?, onProgress?): input and output are strings ('-' = stdout)");
  capture::ConvertOptions o;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object opts = info[2].As<Napi::Object>();
    o.hasPid = pidOption(env, opts, &o.pid);
    o.imdsOnly = boolOption(opts, "imdsOnly");
    o.dedupe = boolOption(opts, "dedupe");
    o.strict = boolOption(opts, "strict");
    o.backend = backendOption(env, opts);
    if (opts.Has("userAppl") && opts.Get("userAppl").IsString()) o.userAppl = opts.Get("userAppl").ToString();
  }
  Napi::Function cb;
  if (info.Length() > 3 && info[3].IsFunction()) cb = info[3].As<Napi::Function>();
  auto* w = new ConvertWorker(env, info[0].As<Napi::String>(), info[1].As<Napi::String>(), std::move(o), cb);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- scan ---------------------------------------------------------------------

// The file's side of scan's capture notes: how its packets were logged and, for
// circular files, what the buffer index says was overwritten.
Napi::Object captureFactsToJs(Napi::Env env, const capture::PacketScanner& s) {
  const capture::CaptureFacts& f = s.captureFacts();
  const etl::ReaderStats& r = s.readerStats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", Napi::Number::New(env, double(f.packets)));
  o.Set("packetsCut", Napi::Number::New(env, double(f.packetsCut)));
  o.Set("snapLength", f.snapLength);
  o.Set("largestPacket", f.largestPacket);
  o.Set("pktmonPackets", Napi::Number::New(env, double(f.pktmonPackets)));
  o.Set("ndisPackets", Napi::Number::New(env, double(f.ndisPackets)));
  o.Set("sawPktmon", s.extractor().sawPktmon());
  o.Set("buffers", Napi::Number::New(env, double(r.buffers)));
  o.Set("oldestSequence", bigU64(env, r.oldestSequence));
  o.Set("newestSequence", bigU64(env, r.newestSequence));
  o.Set("wrapped", r.wrapped);
  o.Set("completeFrom", bigI64(env, r.completeFrom));
  o.Set("eventBytes", Napi::Number::New(env, double(r.eventBytes)));
  return o;
}

class PacketScan : public Napi::ObjectWrap<PacketScan> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PacketScan",
                       {InstanceMethod("next", &PacketScan::Next), InstanceMethod("summary", &PacketScan::Summary),
                        InstanceMethod("close", &PacketScan::Close)});
  }

  PacketScan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketScan>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "scanPackets(input, options?)");
    path_ = info[0].As<Napi::String>();
    capture::ScanOptions o;
    if (info.Length() > 1 && info[1].IsObject()) {
      Napi::Object opts = info[1].As<Napi::Object>();
      o.hasPid = pidOption(env, opts, &o.pid);
      o.backend = backendOption(env, opts);
      o.collect = guidListOption(env, opts, "collect");
      o.collectImdsOnly = guidListOption(env, opts, "collectImdsOnly");
    }
    Failure f;
    if (!runCatching(f, [&] { scanner_.reset(new capture::PacketScanner(path_, o)); }))
      throw failureToJs(env, f, path_);
  }

  capture::PacketScanner* scanner() { return scanner_.get(); }
  const std::string& path() const { return path_; }
  bool busy = false;

 private:
  Napi::Value Next(const Napi::CallbackInfo& info);
  Napi::Value Summary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!scanner_) throw Napi::Error::New(env, "scan is closed");
    if (busy) throw Napi::Error::New(env, "summary() called while a batch is being read");
    const capture::PacketExtractor& x = scanner_->extractor();
    Napi::Object o = Napi::Object::New(env);
    Napi::Array ifs = Napi::Array::New(env, x.interfaces().size());
    for (size_t i = 0; i < x.interfaces().size(); ++i) {
      const capture::Interface* f = x.interfaces()[i];
      ifs.Set(uint32_t(i), interfaceToJs(env, f->id, f->name, f->description, f->linkType, f->key.source, f->packets));
    }
    o.Set("interfaces", ifs);
    o.Set("packets", Napi::Number::New(env, double(x.stats().packets)));
    o.Set("records", Napi::Number::New(env, double(scanner_->records())));
    o.Set("stats", statsToJs(env, x.stats()));
    capture::PacketExtractor& mx = scanner_->extractor();
    o.Set("warnings", warningsToJs(env, mx.warnings().counts));
    o.Set("warningSamples", warningTextsToJs(env, mx.warnings().samples));
    o.Set("capture", captureFactsToJs(env, *scanner_));
    o.Set("header", headerToJs(env, scanner_->header(), path_));
    return o;
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (busy) throw Napi::Error::New(info.Env(), "close() called while a batch is being read");
    scanner_.reset();
    return info.Env().Undefined();
  }

  std::string path_;
  std::unique_ptr<capture::PacketScanner> scanner_;
};

class ScanWorker : public Napi::AsyncWorker {
 public:
  ScanWorker(Napi::Env env, PacketScan* owner, Napi::Object ownerObj, uint32_t max)
      : Napi::AsyncWorker(env), owner_(owner), deferred_(Napi::Promise::Deferred::New(env)), max_(max) {
    ownerRef_ = Napi::Persistent(ownerObj);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    capture::PacketScanner* s = owner_->scanner();
    bool ok = runCatching(failure_, [&] {
      // A batch also ends after a fifth of a second, so progress (and a cancel)
      // reaches JS on long stretches without IMDS traffic. Not sooner: every
      // hand-over to JS is a moment this thread waits and the two threads of
      // the scan fight for the cores (with several files scanned at once,
      // batches of 64k records cost 10 % of the throughput).
      done_ = !s->nextBatch(packets_, max_, SIZE_MAX, &names_, std::chrono::milliseconds(200));
      diags_ = s->takeNewDiagnostics();
      bytesDone_ = s->bytesDone();
      fileSize_ = s->fileSize();
    });
    if (!ok) SetError(failure_.message);
  }

  void OnOK() override {
    Napi::Env env = Env();
    owner_->busy = false;
    Napi::Object out = Napi::Object::New(env);
    Napi::Array ps = Napi::Array::New(env, packets_.size());
    for (size_t i = 0; i < packets_.size(); ++i) {
      const capture::ImdsPacket& p = packets_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("fileTime", bigI64(env, p.fileTime));
      o.Set("cpu", p.cpu);
      o.Set("pid", p.pid);
      o.Set("tid", p.tid);
      o.Set("source", capture::sourceName(p.source));
      o.Set("interfaceId", p.interfaceId);
      o.Set("direction", directionName(p.direction));
      o.Set("ip", Napi::Buffer<uint8_t>::Copy(env, p.ip.data(), p.ip.size()));
      o.Set("capturedLength", p.capturedLength);
      o.Set("originalLength", p.originalLength);
      if (p.cut) o.Set("cut", true);
      if (p.hasPktmon) {
        o.Set("pktGroupId", bigU64(env, p.pktGroupId));
        o.Set("pktNumber", p.pktNumber);
        o.Set("appearance", p.appearance);
        o.Set("component", p.component);
        o.Set("dropped", p.dropped);
      }
      o.Set("frame", Napi::Number::New(env, double(p.frame)));
      ps.Set(uint32_t(i), o);
    }
    Napi::Array ds = Napi::Array::New(env, diags_.size());
    for (size_t i = 0; i < diags_.size(); ++i) ds.Set(uint32_t(i), diagnosticToJs(env, diags_[i], owner_->path()));
    Napi::Array evs = Napi::Array::New(env, names_.size());
    const etl::SchemaRegistry* reg = owner_->scanner() ? &owner_->scanner()->schemas() : nullptr;
    for (size_t i = 0; i < names_.size(); ++i) {
      const capture::NameEvent& e = names_[i];
      evs.Set(uint32_t(i), eventToJs(env, e.rec, e.userData.data(), e.userData.size(), e.schema, reg));
    }
    out.Set("events", evs);
    out.Set("packets", ps);
    out.Set("diagnostics", ds);
    out.Set("bytesDone", Napi::Number::New(env, double(bytesDone_)));
    out.Set("fileSize", Napi::Number::New(env, double(fileSize_)));
    out.Set("done", done_);
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error&) override {
    owner_->busy = false;
    deferred_.Reject(failureToJs(Env(), failure_, owner_->path()).Value());
  }

 private:
  PacketScan* owner_;
  Napi::ObjectReference ownerRef_;  // keeps the scan alive while we run
  Napi::Promise::Deferred deferred_;
  uint32_t max_;
  std::vector<capture::ImdsPacket> packets_;
  std::vector<capture::NameEvent> names_;
  std::vector<etl::Diagnostic> diags_;
  uint64_t bytesDone_ = 0, fileSize_ = 0;
  bool done_ = false;
  Failure failure_;
};

Napi::Value PacketScan::Next(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!scanner_) throw Napi::Error::New(env, "scan is closed");
  if (busy) throw Napi::Error::New(env, "next() called while another batch is being read");
  uint32_t max = info.Length() > 0 && info[0].IsNumber() ? info[0].ToNumber().Uint32Value() : 1024;
  if (max == 0) max = 1;
  busy = true;
  auto* w = new ScanWorker(env, this, Value(), max);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// socketAddress(bytes) → { family, port, address } | null: a SOCKADDR_IN/_IN6
// property of a TCPIP event (LocalAddress, RemoteAddress), decoded.
Napi::Value SocketAddressJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "socketAddress(bytes: Uint8Array)");
  Napi::Uint8Array b = info[0].As<Napi::Uint8Array>();
  capture::SocketAddress a;
  if (!capture::parseSocketAddress(b.Data(), uint32_t(std::min<size_t>(b.ElementLength(), UINT32_MAX)), &a)) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", a.family == 2 ? "ipv4" : "ipv6");
  o.Set("port", a.port);
  o.Set("address", Napi::Buffer<uint8_t>::Copy(env, a.address, a.family == 2 ? 4 : 16));
  return o;
}

}  // namespace

void InitCapture(Napi::Env env, Napi::Object exports) {
  exports.Set("socketAddress", Napi::Function::New(env, SocketAddressJs, "socketAddress"));
  exports.Set("convert", Napi::Function::New(env, Convert, "convert"));
  Napi::Function scanClass = PacketScan::Define(env);
  // Kept alive for the life of the addon (scanPackets constructs through it).
  auto* ctor = new Napi::FunctionReference(Napi::Persistent(scanClass));
  exports.Set("PacketScan", scanClass);
  exports.Set("scanPackets", Napi::Function::New(
                                 env,
                                 [ctor](const Napi::CallbackInfo& info) -> Napi::Value {
                                   std::vector<napi_value> args;
                                   for (size_t i = 0; i < info.Length(); ++i) args.push_back(info[i]);
                                   return ctor->New(args);
                                 },
                                 "scanPackets"));
}

}  // namespace addon
